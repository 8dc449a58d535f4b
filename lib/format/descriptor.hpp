// The descriptor page: its words, the header they make once validated, and
// the one set of rules a descriptor page must satisfy.  Opening a table
// (table::refresh, page-size detection) and the integrity check (image/)
// both validate through read_structure and read_counters, so they cannot
// disagree about a descriptor.
#pragma once

#include "format/layout.hpp"
#include "format/problem_kind.hpp"
#include "util/fast_divisor.hpp"
#include "util/function_ref.hpp"

#include <array>
#include <cstdint>
#include <cstring>
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
    // Derived by index_hash() (cells.hpp's arithmetic needs them): cells per
    // hash page and hash_size as divisors, and per extent, four to a vector
    // (lookups test them all without a branch, which the random places of
    // keys would mispredict): the index of its first cell (INT32_MAX past
    // extent_count, after every index), its first page and its page count
    // (0 past extent_count: no page).
    int cells_per_page;
    fast_divisor cells_per_page_divisor;
    fast_divisor hash_divisor;
    using cell_lanes = std::int32_t __attribute__((vector_size(16)));
    using page_lanes = std::uint32_t __attribute__((vector_size(16)));
    static_assert(layout::max_extents % 4 == 0, "the extents fill whole vectors of four");
    alignas(16) std::array<std::int32_t, layout::max_extents> extent_first_cell;
    alignas(16) std::array<std::uint32_t, layout::max_extents> hash_first_page;
    alignas(16) std::array<std::uint32_t, layout::max_extents> hash_pages;
    std::size_t extent_lanes_used;
    // Lanes i*4 .. i*4+3 of one of the arrays above.
    template <class Lanes, class Word>
    static Lanes lanes(const std::array<Word, layout::max_extents> &words, std::size_t i) noexcept
    {
        Lanes out;
        std::memcpy(&out, words.data() + 4 * i, sizeof out);
        return out;
    }

    void index_hash(int cells_in_page) noexcept
    {
        cells_per_page = cells_in_page;
        cells_per_page_divisor = fast_divisor(static_cast<std::uint32_t>(cells_in_page));
        hash_divisor = fast_divisor(static_cast<std::uint32_t>(hash_size));
        extent_first_cell.fill(INT32_MAX);
        hash_first_page.fill(0);
        hash_pages.fill(0);
        std::int64_t cells = 0;
        for (int i = 0; i < extent_count; ++i) {
            const hash_extent &extent = extents[static_cast<std::size_t>(i)];
            extent_first_cell[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(cells);
            hash_first_page[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(extent.first_page);
            hash_pages[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(extent.pages);
            cells += static_cast<std::int64_t>(extent.pages) * cells_in_page;
        }
        extent_lanes_used = (static_cast<std::size_t>(extent_count) + 3) / 4;
    }
    // Every find asks this of a data page, which is in no extent.
    bool is_hash_page(std::int64_t page) const noexcept
    {
        if (page < 0 || page > INT32_MAX)
            return false;
        const auto p = static_cast<std::uint32_t>(page);
        const page_lanes pages{p, p, p, p};
        page_lanes in_extent{};
        for (std::size_t i = 0; i < extent_lanes_used; ++i)
            in_extent |= reinterpret_cast<page_lanes>(pages - lanes<page_lanes>(hash_first_page, i) <
                                                      lanes<page_lanes>(hash_pages, i));
        using halves = std::uint64_t __attribute__((vector_size(16)));
        const auto both = reinterpret_cast<halves>(in_extent);
        return (both[0] | both[1]) != 0;
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

// Called with each rule a descriptor page breaks: its kind and a message
// naming the page ("page 1: ...").  Messages are made only for broken rules.
using descriptor_faults = function_ref<void(problem_kind, std::string)>;

// The structure of descriptor page `d` into `out`: its magic, the total page
// count (within `pages_available`, the object's size in pages), the hash
// table size and the extents (in use from the first, inside the table, not
// covering the descriptor page or each other, holding hash_size cells).
// Reports every broken rule it can tell apart; false if any: the counters and
// every page the header would lead to are then unusable.
bool read_structure(const descriptor_words &words, std::int32_t d, std::int64_t pages_available,
                    int cells_per_page, header &out, descriptor_faults report);

// The counters into `out`, whose structure read_structure has filled:
// claimed cells within 0..hash_size, bindings within 0..total-2 (each has a
// page of its own), free pages within 0..total-1, a free list head that is 0
// or a data page, and empty exactly when the count is 0.  Reports every
// broken rule; returns which counters are unusable (bits of counter_fault).
enum counter_fault : unsigned {
    claimed_cells_fault = 1u << 0,
    bindings_fault = 1u << 1,
    free_count_fault = 1u << 2,
    free_head_fault = 1u << 3,
};
unsigned read_counters(const descriptor_words &words, header &out, descriptor_faults report);
// The counters into `out`; whether they keep every rule (no message is made:
// the fast path of the two above).
bool load_counters(const descriptor_words &words, header &out) noexcept;

// For opening a table: an empty string, or the first broken rule of
// read_structure and read_counters (validate_header), or of read_counters
// alone for a header whose structure was validated (validate_counters).
std::string validate_header(const descriptor_words &words, std::int32_t d, std::int64_t pages_available,
                            int cells_per_page, header &out);
std::string validate_counters(const descriptor_words &words, header &out);

} // namespace netshm::core
