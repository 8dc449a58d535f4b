// The intent records of mutations with mutex locking (doc/locking.md,
// "Writers"), filled only when the table records them.
#include "table/crash_recovery.hpp"
#include "table/scopes.hpp"

namespace netshm::core {

using namespace layout;

intent table::intent_of(intent_op op, std::int32_t key, const header &h, const cell_ref *cell,
                        const allocation *plan, const binding *freed) const
{
    intent record;
    record.op = op;
    record.key = key;
    record.snapshot = {static_cast<std::int32_t>(h.total_pages), static_cast<std::int32_t>(h.hash_size),
                       static_cast<std::int32_t>(h.claimed_cells), static_cast<std::int32_t>(h.bindings),
                       h.free_head, static_cast<std::int32_t>(h.free_count), h.extent_count};
    record.pagesize = words_per_page_ * 4;
    if (cell != nullptr)
        record_cell(record, h, *cell);
    if (plan != nullptr) {
        record.allocated_first = plan->pages.front();
        record.allocated_count = static_cast<std::int32_t>(plan->pages.size());
        record.free_head_after = plan->free_head_after;
    }
    if (freed != nullptr) {
        record.freed_first = freed->first_page;
        record.freed_count = static_cast<std::int32_t>(freed->pages.size());
    }
    return record;
}

void table::record_cell(intent &record, const header &h, const cell_ref &cell) const
{
    std::int64_t index = (cell.word - hash_page_header) / cell_words;
    for (int i = 0; i < h.extent_count; ++i) {
        const hash_extent &extent = h.extents[static_cast<std::size_t>(i)];
        if (cell.page >= extent.first_page && cell.page < extent.first_page + extent.pages) {
            index += static_cast<std::int64_t>(cell.page - extent.first_page) * cells_per_page_;
            break;
        }
        index += static_cast<std::int64_t>(extent.pages) * cells_per_page_;
    }
    record.cell_index = static_cast<std::int32_t>(index);
    // As they are now: an earlier removal of the same write_blocks call may
    // have changed the pointer since the cell was probed.
    record.cell_old_key = load(cell.page, cell.word + cell_key);
    record.cell_old_ptr = load(cell.page, cell.word + cell_ptr);
}

void table::record_next_pass(const intent &record) noexcept
{
    if (writer_mutex *writer = locks_.writer())
        writer->area().write_intent(record);
}

void table::undo_failed_mutation(lock_area &area) noexcept
{
    try {
        recover_interrupted_write(*object_, area, static_cast<unsigned>(words_per_page_) * 4);
    } catch (...) {
        // Damage is marked in the lock area; any other failure leaves the
        // intent recorded and the counter odd, and the next holder of the
        // writer mutex tries again.
    }
}

} // namespace netshm::core
