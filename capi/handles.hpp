// What the opaque C handles hold.
#pragma once

#include "shm/shm_object.hpp"
#include "table/table.hpp"

#include <memory>

struct netshm_descr {
    std::shared_ptr<netshm::core::shm_object> object;
};

struct netshm_table {
    std::unique_ptr<netshm::core::table> table;
};
