// The descriptor page's counters and hash extents, read once and validated.
#pragma once

#include "format/layout.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace netshm::core {

struct hash_extent {
    std::int32_t first_page;
    std::int32_t pages;
};

struct header {
    std::int32_t descriptor_page;
    std::int64_t total_pages;
    std::int64_t hash_size;
    std::int64_t claimed_cells;
    std::int64_t bindings;
    std::int32_t free_head;
    std::int64_t free_count;
    std::array<hash_extent, layout::max_extents> extents;
    int extent_count;

    bool is_hash_page(std::int64_t page) const noexcept
    {
        for (int i = 0; i < extent_count; ++i)
            if (page >= extents[i].first_page && page < extents[i].first_page + extents[i].pages)
                return true;
        return false;
    }
    // A page that may hold content or be free: inside the table, not the
    // master, the descriptor or a hash page.
    bool is_data_page(std::int64_t page) const noexcept
    {
        return page >= 1 && page < total_pages && page != descriptor_page && !is_hash_page(page);
    }
};

// Reads the descriptor page `d` (its words at `words`) into `out`.  `pages_available`
// bounds the total page count (the object's size in pages).  Returns an empty
// string, or what is wrong.
std::string read_header(const std::int32_t *words, std::int32_t d, std::int64_t pages_available,
                        int cells_per_page, header &out);

} // namespace netshm::core
