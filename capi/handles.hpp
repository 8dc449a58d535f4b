// What the opaque C handles hold, and the way from a handle to the engine.
#pragma once

#include "boundary.hpp"
#include "shm/shm_object.hpp"
#include "table/table.hpp"

#include <atomic>
#include <memory>

struct netshm_descr {
    std::shared_ptr<netshm::core::shm_object> object;
    // netshm_descr_set_lock_timeout's milliseconds; atomic so that any thread may set it.
    std::atomic<unsigned> lock_timeout{0};
};

struct netshm_table {
    std::unique_ptr<netshm::core::table> table;
};

namespace netshm::capi {

// The engine's table behind a handle; NETSHM_EINVAL naming `function` for NULL.
inline core::table &live(netshm_table *table, const char *function)
{
    require(table, function, "table");
    return *table->table;
}

} // namespace netshm::capi
