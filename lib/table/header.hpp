// The descriptor page's counters and hash extents, read once and validated.
#pragma once

#include "format/layout.hpp"
#include "util/fast_divisor.hpp"

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
    // Derived from hash_size and the extents by index_hash(): the index of
    // each extent's first cell, and hash_size as a divisor.
    std::array<std::int32_t, layout::max_extents> extent_first_cell;
    fast_divisor hash_divisor;

    void index_hash(int cells_per_page) noexcept
    {
        std::int64_t cells = 0;
        for (int i = 0; i < extent_count; ++i) {
            extent_first_cell[i] = static_cast<std::int32_t>(cells);
            cells += static_cast<std::int64_t>(extents[i].pages) * cells_per_page;
        }
        hash_divisor = fast_divisor(static_cast<std::uint32_t>(hash_size));
    }

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

// The words of a descriptor page a header is made of.
using descriptor_words = std::array<std::int32_t, layout::descriptor_words_used>;
// Loads each word of the descriptor page at `words` once.
void load_descriptor(const std::int32_t *words, descriptor_words &out) noexcept;

// How the descriptor page at `words` differs from the words `validated`: not at
// all, in the counters only (every modification changes them), or in its
// structure (the magic, the total page count, the hash table size, the extents).
enum class descriptor_change { none, counters, structure };
descriptor_change compare_descriptor(const std::int32_t *words, const descriptor_words &validated) noexcept;

// The structure of descriptor page `d` into `out`.  `pages_available` bounds
// the total page count (the object's size in pages).  Returns an empty
// string, or what is wrong.
std::string read_structure(const descriptor_words &words, std::int32_t d, std::int64_t pages_available,
                           int cells_per_page, header &out);
// The counters into `out`, whose structure read_structure has filled; the
// same kind of answer.
std::string read_counters(const descriptor_words &words, header &out);

// read_structure, then read_counters, of the descriptor page `d` at `words`.
std::string read_header(const std::int32_t *words, std::int32_t d, std::int64_t pages_available,
                        int cells_per_page, header &out);

} // namespace netshm::core
