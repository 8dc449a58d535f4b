// Scopes every table operation runs in (internal to lib/table).
#pragma once

#include "core/error.hpp"
#include "table/table.hpp"

#include <fmt/format.h>
#include <mutex>

namespace netshm::core {

// One public operation: refuses a handle inherited across fork and a closed
// descriptor, holds the object's mutex, and once no callback can hold
// pointers into them any more, drops mappings replaced meanwhile.
class table::operation {
public:
    // needs_descriptor = false: ending a group works after the descriptor closed.
    explicit operation(table &t, bool needs_descriptor = true) : table_(t)
    {
        if (t.generation_ != fork_generation())
            throw error(errc::forked, fmt::format("{}: the table handle was inherited across fork; open and "
                                                  "manage the object again in this process",
                                                  t.object_->name()));
        hold_ = std::unique_lock<std::recursive_mutex>(t.locks_.state().mutex());
        if (needs_descriptor && !t.object_->is_open())
            throw error(errc::closed, fmt::format("{} is closed", t.object_->name()));
    }
    ~operation()
    {
        if (table_.locks_.state().callbacks_active == 0)
            table_.retired_.clear();
    }
    operation(const operation &) = delete;
    operation &operator=(const operation &) = delete;

private:
    table &table_;
    std::unique_lock<std::recursive_mutex> hold_;
};

// A user callback runs: the table is locked by its caller, modifications
// from inside are refused, and mappings stay in place.
class table::callback_scope {
public:
    explicit callback_scope(table &t) noexcept : table_(t) { ++t.locks_.state().callbacks_active; }
    ~callback_scope() { --table_.locks_.state().callbacks_active; }
    callback_scope(const callback_scope &) = delete;
    callback_scope &operator=(const callback_scope &) = delete;

private:
    table &table_;
};

// The intent record of one mutation with mutex locking (doc/locking.md,
// "Writers"): begun before its first store, ended after its last.  A
// mutation that throws in between is undone at once, as a recovery from its
// death would undo it.  Without mutex locking it records nothing: callers
// fill a record only when recording().
class table::intent_scope {
public:
    explicit intent_scope(table &t) noexcept
        : table_(t), area_(t.locks_.writer() != nullptr ? &t.locks_.writer()->area() : nullptr)
    {
    }
    ~intent_scope()
    {
        if (begun_)
            table_.undo_failed_mutation(*area_);
    }
    intent_scope(const intent_scope &) = delete;
    intent_scope &operator=(const intent_scope &) = delete;

    bool recording() const noexcept { return area_ != nullptr; }
    // Records `record` (again, for the next pass of a resize).  Requires recording().
    void begin(const intent &record) noexcept
    {
        area_->write_intent(record);
        begun_ = true;
    }
    void end() noexcept
    {
        if (!begun_)
            return;
        area_->clear_intent();
        begun_ = false;
    }

private:
    table &table_;
    lock_area *area_;
    bool begun_ = false;
};

} // namespace netshm::core
