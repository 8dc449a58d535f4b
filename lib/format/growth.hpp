// How large a table is made and how much it grows: the object when its free
// list runs short (shared by the allocation that grows it and the crash
// recovery that undoes one), and the hash table of a new table.
#pragma once

#include "format/layout.hpp"

#include <algorithm>
#include <cstdint>

namespace netshm::core {

// The pages appended to a table of `total` pages that lacks `missing` free
// pages: a quarter of the table at least, so that loading n keys remaps
// O(log n) times, and never fewer than 16.  A file system without room for
// that gets only the `missing` pages (table/storage.cpp): the most a growth
// appends is this.
constexpr std::int64_t geometric_growth(std::int64_t total, std::int64_t missing) noexcept
{
    constexpr std::int64_t min_growth_pages = 16;
    return std::max({missing, total / 4, min_growth_pages});
}

// The hash pages of a new table for about `hint` keys (hint >= 0): twice as
// many cells as keys, at least one page (OCamlnet's formula).
constexpr std::int64_t initial_hash_pages(long long hint, int words_per_page) noexcept
{
    return (2 * hint - 1) / layout::cells_per_page(words_per_page) + 1;
}

} // namespace netshm::core
