// The object `netshm bench` works on: a new POSIX object under a unique name,
// removed when the bench ends, whether it succeeds, fails, or is stopped by
// SIGINT or SIGTERM.
#pragma once

#include "temporary_object.hpp"

#include <string>

namespace netshm_tool::bench {

class scratch_object : public temporary_object {
public:
    explicit scratch_object(const std::string &name_template)
        : temporary_object(netshm::shm_type::posix, name_template)
    {
    }
};

} // namespace netshm_tool::bench
