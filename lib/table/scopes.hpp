// Scopes every table operation runs in (internal to lib/table).
#pragma once

#include "table/table.hpp"
#include "util/error.hpp"

#include <atomic>
#include <fmt/format.h>
#include <mutex>

namespace netshm::core {

// One public operation: refuses a handle inherited across fork and a closed
// descriptor, holds the object's mutex, and once no callback can hold
// pointers into them any more, drops mappings replaced meanwhile.
class table::operation {
public:
    // needs_descriptor = false: ending a group works after the descriptor closed.
    // Every lock wait of the operation lasts at most the table's lock timeout.
    explicit operation(table &t, bool needs_descriptor = true)
        : table_(not_inherited(t)), limit_(t.lock_timeout()), hold_(t.locks_.state().hold(limit_)),
          waits_(t.locks_.state(), limit_)
    {
        if (needs_descriptor && !t.object_->is_open())
            throw error(errc::closed, fmt::format("{} is closed", t.object_->name()));
        if (t.presence_per_operation_) {
            // errc::busy once a process uses the table with mutex locking.
            if (t.operations_running_ == 0 && !t.presence_)
                t.presence_.emplace(presence::record_locking(t.object_->shared_locks()));
            ++t.operations_running_;
        }
    }
    ~operation()
    {
        if (table_.locks_.state().callbacks_active == 0)
            table_.retired_.clear();
        // The outermost operation lets the presence go, unless a group goes on.
        if (table_.presence_per_operation_ && --table_.operations_running_ == 0 && table_.locks_.group_depth() == 0)
            table_.presence_.reset();
    }
    operation(const operation &) = delete;
    operation &operator=(const operation &) = delete;

private:
    static table &not_inherited(table &t)
    {
        if (t.generation_ != fork_generation())
            throw error(errc::forked, fmt::format("{}: the table handle was inherited across fork; open and "
                                                  "manage the object again in this process",
                                                  t.object_->name()));
        return t;
    }

    table &table_;
    // Read once: another thread may set the table's timeout meanwhile.
    lock_wait limit_;
    std::unique_lock<recursive_mutex> hold_;
    wait_limit_scope waits_;
};

// A user callback runs: the table is locked by its caller, modifications
// from inside are refused, mappings stay in place, and the handle stays open.
// Only the thread holding the object's mutex changes the counters: a load
// and a store are enough for the handle's own one.
class table::callback_scope {
public:
    explicit callback_scope(table &t) noexcept : table_(t)
    {
        ++t.locks_.state().callbacks_active;
        t.own_callbacks_.store(t.own_callbacks_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    ~callback_scope()
    {
        --table_.locks_.state().callbacks_active;
        table_.own_callbacks_.store(table_.own_callbacks_.load(std::memory_order_relaxed) - 1,
                                    std::memory_order_relaxed);
    }
    callback_scope(const callback_scope &) = delete;
    callback_scope &operator=(const callback_scope &) = delete;

private:
    table &table_;
};

template <class MakeRecord, class Stores>
void table::mutate(MakeRecord make_record, Stores stores)
{
    // One call of `stores`, so that it is inlined.
    lock_area *area = intent_area();
    if (area != nullptr)
        area->write_intent(make_record());
    try {
        stores();
    } catch (...) {
        if (area != nullptr)
            undo_failed_mutation(*area);
        throw;
    }
    if (area != nullptr)
        area->clear_intent();
}

} // namespace netshm::core
