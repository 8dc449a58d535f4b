// The write path: add, remove and replace, writing a binding's content
// pages, and the intent record each mutation runs under with mutex locking
// (doc/locking.md, "Writers").
#include "table/scopes.hpp"

#include "recovery/crash_recovery.hpp"

#include <algorithm>
#include <climits>
#include <iterator>
#include <optional>
#include <unistd.h>

namespace netshm::core {

using namespace layout;

namespace {

void check_value_size(std::span<const std::int32_t> value)
{
    if (value.size() > static_cast<std::size_t>(INT32_MAX))
        throw error(errc::too_big, fmt::format("a value of {} words exceeds the format's limit of 2^31-1",
                                               value.size()));
}

} // namespace

void table::add_locked(header &h, std::int32_t key, std::span<const std::int32_t> value)
{
    bool claims_cell;
    cell_ref cell = probe_for_addition(h, key, claims_cell);
    std::int32_t older = bound_page(h, cell);
    allocation plan = plan_allocation(h, pages_for_value(static_cast<std::int64_t>(value.size()), words_per_page_));
    mutate(
        [&] { return intent_of(intent_op::add, key, h, &cell, &plan); },
        [&] {
            allocate(h, plan);
            std::int32_t first = write_binding(key, value, older, plan.pages);
            store(cell.page, cell.word + cell_key, key);
            publish(cell.page, cell.word + cell_ptr, first);
            if (claims_cell)
                store(descriptor_page_, d_claimed_cells, static_cast<std::int32_t>(++h.claimed_cells));
            store(descriptor_page_, d_bindings, static_cast<std::int32_t>(++h.bindings));
        });
}

void table::add(std::int32_t key, std::span<const std::int32_t> value)
{
    operation op(*this);
    check_writable("add");
    check_value_size(value);
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::write);
    header h = refresh_for_write();
    add_locked(h, key, value);
}

void table::remove_locked(header &h, std::int32_t key)
{
    cell_ref cell = probe(h, key, false);
    std::int32_t page = bound_page(h, cell);
    if (page == 0)
        return;
    page_lock_guard binding_lock(locks_, page, lock_kind::write);
    binding b = read_binding(h, page, key);
    if (h.bindings == 0)
        throw error(errc::corrupt, fmt::format("{}: descriptor page {}: binding count 0 with key {} bound",
                                               object_->name(), descriptor_page_, key));
    mutate(
        [&] { return intent_of(intent_op::remove, key, h, &cell, nullptr, &b); },
        [&] {
            store(cell.page, cell.word + cell_ptr, b.older != 0 ? b.older : ptr_unbound);
            store(descriptor_page_, d_bindings, static_cast<std::int32_t>(--h.bindings));
            free_binding_pages(h, b.pages);
        });
}

void table::remove(std::int32_t key)
{
    operation op(*this);
    check_writable("remove");
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::write);
    header h = refresh_for_write();
    remove_locked(h, key);
}

void table::replace(std::int32_t key, std::span<const std::int32_t> value)
{
    operation op(*this);
    check_writable("replace");
    check_value_size(value);
    if (mimic_ocamlnet_) {
        locks_.begin_group();
        try {
            remove(key);
            add(key, value);
        } catch (...) {
            try {
                locks_.end_group();
            } catch (...) {
                // The operation's own failure is the one to report.
            }
            throw;
        }
        locks_.end_group();
        return;
    }
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::write);
    header h = refresh_for_write();
    cell_ref cell = probe(h, key, false);
    std::int32_t page = bound_page(h, cell);
    if (page == 0) {
        add_locked(h, key, value);
        return;
    }
    // Write the new binding before the old one goes, so a failure keeps it.
    page_lock_guard binding_lock(locks_, page, lock_kind::write);
    binding old = read_binding(h, page, key);
    allocation plan = plan_allocation(h, pages_for_value(static_cast<std::int64_t>(value.size()), words_per_page_));
    mutate(
        [&] { return intent_of(intent_op::replace, key, h, &cell, &plan, &old); },
        [&] {
            allocate(h, plan);
            std::int32_t first = write_binding(key, value, old.older, plan.pages);
            publish(cell.page, cell.word + cell_ptr, first);
            free_binding_pages(h, old.pages);
        });
}


std::int32_t table::write_binding(std::int32_t key, std::span<const std::int32_t> value, std::int32_t older,
                                  const page_list &pages)
{
    // The magic, then the key, last (doc/locking.md, "Writers"): while a page
    // keeps the free magic, word 1 still holds its free-list link, which a
    // recovery gives it back with.
    const std::int32_t *source = value.data();
    std::int64_t remaining = static_cast<std::int64_t>(value.size());
    for (std::size_t i = 0; i < pages.size(); ++i) {
        std::int32_t page = pages[i];
        std::int32_t next = i + 1 < pages.size() ? pages[i + 1] : 0;
        bool first = i == 0;
        if (first) {
            store(page, c_next_page, next);
            store(page, c_older_binding, older);
            store(page, c_value_offset, 0);
            store(page, c_value_length, static_cast<std::int32_t>(value.size()));
        } else {
            store(page, f_next_page, next);
            store(page, f_sequence, static_cast<std::int32_t>(i));
        }
        int offset = first ? int{c_data} : int{f_data};
        std::int64_t count = std::min<std::int64_t>(remaining, words_per_page_ - offset);
        if (count > 0)
            store_words(page_words(page) + offset, source, static_cast<std::size_t>(count));
        source += count;
        remaining -= count;
        publish(page, c_magic, first ? content_magic : followup_magic);
        store(page, c_key, key);
    }
    return pages.front();
}

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
        record_cell(record, *cell);
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

void table::record_cell(intent &record, const cell_ref &cell) const
{
    record.cell_index = static_cast<std::int32_t>(cell.index);
    // As they are now: an earlier removal of the same write_blocks call may
    // have changed the pointer since the cell was probed.
    record.cell_old_key = load(cell.page, cell.word + cell_key);
    record.cell_old_ptr = load(cell.page, cell.word + cell_ptr);
}

void table::record_next_pass(const intent &record) noexcept
{
    if (lock_area *area = intent_area())
        area->write_intent(record);
}

lock_area *table::make_record_intent_area()
{
    // Not before the table has a page 0; a read-only descriptor writes nothing.
    if (!writable_ || object_->size() < lock_area_end_bytes)
        return nullptr;
    record_intents_ = std::make_unique<lock_area>(object_->fd(), object_->name());
    return record_intents_.get();
}

void table::finish_record_mode_write(shm_object &object)
{
    if (!object.writable() || object.size() < lock_area_end_bytes)
        return;
    std::int32_t words[la_end] = {};
    if (::pread(object.fd(), words, sizeof words, 0) != static_cast<ssize_t>(sizeof words) ||
        words[la_intent_op] == static_cast<std::int32_t>(intent_op::none))
        return;
    // Never store into an object that holds no table (detect_table says why).
    if (!std::equal(std::begin(file_magic), std::end(file_magic), words))
        return;
    lock_area area(object.fd(), object.name());
    // A live writer holds the descriptor lock of the page size its record
    // names, and may end its write (operation word cleared, then the fields
    // zeroed) while the record is read without that lock: the page size is
    // read again under it, and only a record naming the page size locked is
    // a dead writer's.
    std::int32_t pagesize = words[la_intent_pagesize];
    while (valid_pagesize(pagesize)) {
        page_locks locks(object.shared_locks(), true, pagesize / 4);
        page_lock_guard descriptor_lock(locks, 1, lock_kind::write);
        if (!area.in_flight())
            return;
        const std::int32_t recorded = area.intent_pagesize();
        if (recorded == pagesize) {
            recover_interrupted_write(object, area, static_cast<unsigned>(pagesize));
            return;
        }
        pagesize = recorded;
    }
    // No page size a table has: read torn as above, or damage, which the
    // first writer's recovery reports (recover_pending_write).
}

void table::recover_pending_write()
{
    if (mapped_pages_ == 0 || load(0, la_intent_op) == static_cast<std::int32_t>(intent_op::none))
        return;
    if (!writable_)
        refuse_pending_write();
    // Under this table's descriptor write lock, which each of its writers
    // holds, the record is a dead writer's; one that re-initialised with
    // another page size named that one, whose lock a recoverer in manage
    // takes: that lock too, so that only one process recovers.
    lock_area area(object_->fd(), object_->name());
    const std::int32_t recorded = area.intent_pagesize();
    std::optional<page_locks> other_pagesize;
    std::optional<page_lock_guard> other_lock;
    if (valid_pagesize(recorded) && recorded != words_per_page_ * 4) {
        other_pagesize.emplace(object_->shared_locks(), true, recorded / 4);
        other_lock.emplace(*other_pagesize, 1, lock_kind::write);
    }
    if (area.in_flight())
        recover_interrupted_write(*object_, area, static_cast<unsigned>(words_per_page_) * 4);
    // The recovery stored through a mapping of its own.
    header_validated_ = false;
}

void table::refuse_pending_write() const
{
    throw error(errc::corrupt, fmt::format("{}: a writer died while it changed the table (its intent record is in "
                                           "page 0); the next writer or netshm_manage with record locking and a "
                                           "writable descriptor recovers it",
                                           object_->name()));
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
