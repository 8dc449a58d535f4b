#include "format/cells.hpp"

namespace netshm::core {

using namespace layout;

void copy_spares(const shared::pages &pages, const header &h)
{
    for_each_cell(h, [&](std::int32_t page, int word) {
        pages.store(page, word + cell_key, pages.load(page, word + cell_spare_key));
        pages.store(page, word + cell_ptr, pages.load(page, word + cell_spare_ptr));
    });
}

void clear_spares(const shared::pages &pages, const header &h)
{
    for_each_cell(h, [&](std::int32_t page, int word) {
        pages.store(page, word + cell_spare_key, 0);
        pages.store(page, word + cell_spare_ptr, 0);
    });
}

} // namespace netshm::core
