#include "table/hash_cells.hpp"

namespace netshm::core {

using namespace layout;

cell_place locate_cell(const header &h, int cells_per_page, std::int64_t index) noexcept
{
    int i = 0;
    for (; i + 1 < h.extent_count; ++i) {
        std::int64_t cells = static_cast<std::int64_t>(h.extents[static_cast<std::size_t>(i)].pages) * cells_per_page;
        if (index < cells)
            break;
        index -= cells;
    }
    return {static_cast<std::int32_t>(h.extents[static_cast<std::size_t>(i)].first_page + index / cells_per_page),
            static_cast<int>(hash_page_header + cell_words * (index % cells_per_page))};
}

void copy_spares(const shared_pages &pages, const header &h)
{
    for_each_cell(h, cells_per_page(pages.words_per_page), [&](std::int32_t page, int word) {
        pages.store(page, word + cell_key, pages.load(page, word + cell_spare_key));
        pages.store(page, word + cell_ptr, pages.load(page, word + cell_spare_ptr));
    });
}

void clear_spares(const shared_pages &pages, const header &h)
{
    for_each_cell(h, cells_per_page(pages.words_per_page), [&](std::int32_t page, int word) {
        pages.store(page, word + cell_spare_key, 0);
        pages.store(page, word + cell_spare_ptr, 0);
    });
}

} // namespace netshm::core
