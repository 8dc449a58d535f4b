// The calling thread's last failure, as netshm_last_error() reports it.
#pragma once

#include <string_view>

namespace netshm::capi {

void set_last_error(std::string_view message, int sys_errno);

} // namespace netshm::capi
