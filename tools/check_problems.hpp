// The problems netshm_check finds, as `netshm check` prints them.
#pragma once

#include <netshm.hpp>

#include <string>

namespace netshm_tool {

// "page N: KIND: MESSAGE", or "object: KIND: MESSAGE" for the whole object.
std::string problem_line(const netshm::problem &p);

} // namespace netshm_tool
