// The calling thread's last failure, as netshm_last_error() reports it.
#pragma once

#include <cstdint>
#include <string_view>

namespace netshm::capi {

void set_last_error(std::string_view message, int sys_errno);
// "key K is not bound": a miss is an expected answer, so this one is cheap.
void set_last_error_unbound(std::int32_t key);

} // namespace netshm::capi
