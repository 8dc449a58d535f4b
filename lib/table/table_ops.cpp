// Single-key operations, groups and access to the mapping.
#include "table/scopes.hpp"

#include <climits>
#include <optional>

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
    header h = refresh();
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
    header h = refresh();
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
    header h = refresh();
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

// Reads hold the descriptor page's read lock while they copy: that excludes
// every writer (all of them write-lock it), a superset of what OCamlnet's
// binding page lock excludes, for 2 fcntl calls instead of 4.  Only values of
// many pages are copied under the binding's lock alone, so that a long copy
// does not keep writers of other keys waiting.
constexpr std::int64_t copy_under_descriptor_lock_pages = 64;

bool table::mem(std::int32_t key)
{
    operation op(*this);
    prefetch_probe(key);
    if (reads_optimistically())
        if (std::optional<bool> bound = optimistic_lookup(key, false))
            return *bound;
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    const header &h = refresh();
    std::int32_t page = bound_page(h, probe(h, key, false));
    if (page == 0)
        return false;
    read_binding(h, page, key);
    return true;
}

bool table::find(std::int32_t key, function_ref<std::int32_t *(std::size_t)> sink)
{
    operation op(*this);
    prefetch_probe(key);
    if (reads_optimistically())
        if (std::optional<bool> found = optimistic_find(key, sink))
            return *found;
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    const header &h = refresh();
    std::int32_t page = bound_page(h, probe(h, key, false));
    if (page == 0)
        return false;
    binding b = read_binding(h, page, key);
    std::optional<page_lock_guard> binding_lock;
    if (static_cast<std::int64_t>(b.pages.size()) > copy_under_descriptor_lock_pages) {
        binding_lock.emplace(locks_, page, lock_kind::read);
        descriptor_lock.release();
    }
    if (std::int32_t *out = sink(static_cast<std::size_t>(b.length)))
        copy_value(b, out);
    return true;
}

std::int64_t table::length()
{
    operation op(*this);
    if (reads_optimistically())
        if (std::optional<std::int64_t> bindings = optimistic_length())
            return *bindings;
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    return refresh().bindings;
}

void table::group_begin(bool write)
{
    operation op(*this);
    if (write)
        check_writable("group_begin_write");
    locks_.begin_group();
    if (!write)
        return;
    try {
        // Released (deferred) at once: the group keeps the lock to its end.
        page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::write);
    } catch (...) {
        locks_.end_group();
        throw;
    }
}

void table::group_end()
{
    operation op(*this, false);
    locks_.end_group();
}

table::memory_view table::memory()
{
    operation op(*this);
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    header h = refresh();
    return {base_, static_cast<std::size_t>(h.total_pages), static_cast<std::size_t>(words_per_page_)};
}

} // namespace netshm::core
