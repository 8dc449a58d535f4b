// The cells of a hash table in index order, and the passes of a resize over
// them that a recovery repeats (doc/format.md, "Growth"; doc/locking.md,
// "Recovery when a writer dies").
#pragma once

#include "core/store_hook.hpp"
#include "format/layout.hpp"
#include "table/header.hpp"

#include <cstdint>

namespace netshm::core {

// The words of a mapped object, page by page, one atomic access each (with
// mutex locking, optimistic readers read along).
struct shared_pages {
    std::int32_t *base;
    int words_per_page;

    std::int32_t *at(std::int64_t page, int word) const noexcept { return base + page * words_per_page + word; }
    std::int32_t load(std::int64_t page, int word) const noexcept
    {
        return __atomic_load_n(at(page, word), __ATOMIC_RELAXED);
    }
    void store(std::int64_t page, int word, std::int32_t value) const noexcept
    {
        testing::before_shared_store();
        __atomic_store_n(at(page, word), value, __ATOMIC_RELAXED);
    }
};

// Calls fn(page, first word) for every cell of the hash table of `h`, in index order.
template <class Fn>
void for_each_cell(const header &h, int cells_per_page, Fn fn)
{
    for (int i = 0; i < h.extent_count; ++i) {
        const hash_extent &extent = h.extents[static_cast<std::size_t>(i)];
        for (std::int32_t page = extent.first_page; page < extent.first_page + extent.pages; ++page)
            for (int cell = 0; cell < cells_per_page; ++cell)
                fn(page, static_cast<int>(layout::hash_page_header + layout::cell_words * cell));
    }
}

// Where cell `index` of the hash table of `h` lies (index < h.hash_size).
struct cell_place {
    std::int32_t page;
    int word;
};
cell_place locate_cell(const header &h, int cells_per_page, std::int64_t index) noexcept;

// A resize's second pass: every cell's spare words copied over its primary
// words.  Repeating it is harmless while the spares are intact.
void copy_spares(const shared_pages &pages, const header &h);
// Its third pass (and the undoing of its first): every spare word zeroed.
void clear_spares(const shared_pages &pages, const header &h);

} // namespace netshm::core
