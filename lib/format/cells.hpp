// The cells of a hash table (doc/format.md, "Hash table"): where a cell lies,
// which cells probing for a key visits, the cells in index order, and the
// passes of a resize over them that a recovery repeats (doc/locking.md,
// "Recovery when a writer dies").  The one home of this arithmetic.
#pragma once

#include "format/descriptor.hpp"
#include "format/layout.hpp"
#include "util/shared_words.hpp"

#include <cstdint>
#include <type_traits>

namespace netshm::core {

// Where a cell lies: its hash page and the cell's first word in that page.
struct cell_place {
    std::int32_t page;
    int word;
};

// Cell `index` of the hash table of `h` (0 <= index < h.hash_size, which the
// extents hold: read_structure checked it): in the last extent whose first
// cell is at most `index`.  The extents are counted rather than searched:
// keys fall into them at random, and a search's exit would be mispredicted.
inline cell_place locate_cell(const header &h, std::int64_t index) noexcept
{
    const auto at = static_cast<std::int32_t>(index);
    header::cell_lanes started{};
    for (std::size_t i = 0; i < h.extent_lanes_used; ++i)
        started += header::lanes<header::cell_lanes>(h.extent_first_cell, i) <= at;  // -1 where it holds
    const auto extent = static_cast<std::size_t>(-(started[0] + started[1] + started[2] + started[3]) - 1);
    auto cell = static_cast<std::uint32_t>(at - h.extent_first_cell[extent]);
    std::uint32_t page = h.cells_per_page_divisor.quotient(cell);
    std::uint32_t cell_in_page = cell - page * static_cast<std::uint32_t>(h.cells_per_page);
    return {static_cast<std::int32_t>(h.hash_first_page[extent] + page),
            static_cast<int>(layout::hash_page_header + layout::cell_words * cell_in_page)};
}

// Probing for `key`, attempt `attempt` visits cell (key + offset) mod S,
// the sum computed in 32 bits as OCamlnet does, the remainder non-negative.
inline std::int32_t probe_sum(std::int32_t key, std::int64_t attempt) noexcept
{
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(key) +
                                     static_cast<std::uint32_t>(layout::probe_offset(attempt)));
}
inline std::int64_t cell_of_sum(std::int32_t sum, std::int64_t hash_size) noexcept
{
    std::int64_t index = sum % hash_size;
    return index < 0 ? index + hash_size : index;
}
// The same for the table of `h`, by a multiply instead of a divide.
inline std::int64_t probe_index(const header &h, std::int32_t key, std::int64_t attempt) noexcept
{
    std::int32_t sum = probe_sum(key, attempt);
    auto magnitude = static_cast<std::uint32_t>(sum);
    if (sum < 0)
        magnitude = 0u - magnitude;
    std::uint32_t remainder = h.hash_divisor.remainder(magnitude);
    return sum < 0 && remainder != 0 ? h.hash_size - remainder : remainder;
}

// Calls fn(page) for every page of the hash table of `h`, in index order,
// until fn returns false.
template <class Fn>
bool for_each_hash_page(const header &h, Fn fn)
{
    for (int i = 0; i < h.extent_count; ++i) {
        const hash_extent &extent = h.extents[static_cast<std::size_t>(i)];
        for (std::int32_t page = extent.first_page; page < extent.first_page + extent.pages; ++page)
            if (!fn(page))
                return false;
    }
    return true;
}

// Calls fn(page, first word) for every cell of the hash table of `h`, in
// index order; a fn that returns bool stops the walk by returning false.
template <class Fn>
void for_each_cell(const header &h, Fn fn)
{
    for_each_hash_page(h, [&](std::int32_t page) {
        for (int cell = 0; cell < h.cells_per_page; ++cell) {
            const int word = layout::hash_page_header + layout::cell_words * cell;
            if constexpr (std::is_same_v<decltype(fn(page, word)), bool>) {
                if (!fn(page, word))
                    return false;
            } else {
                fn(page, word);
            }
        }
        return true;
    });
}

// A resize's second pass: every cell's spare words copied over its primary
// words.  Repeating it is harmless while the spares are intact.
void copy_spares(const shared::pages &pages, const header &h);
// Its third pass (and the undoing of its first): every spare word zeroed.
void clear_spares(const shared::pages &pages, const header &h);

} // namespace netshm::core
