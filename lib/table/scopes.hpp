// Scopes every table operation runs in (internal to lib/table).
#pragma once

#include "core/error.hpp"
#include "table/table.hpp"

#include <fmt/format.h>

namespace netshm::core {

// One public operation: refuses a closed descriptor, and once no callback can
// hold pointers into them any more, drops mappings replaced meanwhile.
class table::operation {
public:
    explicit operation(table &t) : table_(t)
    {
        if (!t.object_->is_open())
            throw error(errc::closed, fmt::format("{} is closed", t.object_->name()));
    }
    ~operation()
    {
        if (table_.callbacks_active_ == 0)
            table_.retired_.clear();
    }
    operation(const operation &) = delete;
    operation &operator=(const operation &) = delete;

private:
    table &table_;
};

// A user callback runs: the table is locked by its caller, modifications
// from inside are refused, and mappings stay in place.
class table::callback_scope {
public:
    explicit callback_scope(table &t) noexcept : table_(t) { ++t.callbacks_active_; }
    ~callback_scope() { --table_.callbacks_active_; }
    callback_scope(const callback_scope &) = delete;
    callback_scope &operator=(const callback_scope &) = delete;

private:
    table &table_;
};

} // namespace netshm::core
