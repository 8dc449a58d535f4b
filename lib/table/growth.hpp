// How much a table grows the object when its free list runs short: shared by
// the allocation that grows it and the crash recovery that undoes one.
#pragma once

#include <algorithm>
#include <cstdint>

namespace netshm::core {

// The pages appended to a table of `total` pages that lacks `missing` free
// pages: a quarter of the table at least, so that loading n keys remaps
// O(log n) times, and never fewer than 16.
constexpr std::int64_t geometric_growth(std::int64_t total, std::int64_t missing) noexcept
{
    constexpr std::int64_t min_growth_pages = 16;
    return std::max({missing, total / 4, min_growth_pages});
}

} // namespace netshm::core
