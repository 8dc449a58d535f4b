// Whole texts to and from a file descriptor, across short reads and writes
// and EINTR: a file or standard input read to its end, a child process's
// answer through a pipe.
#pragma once

#include <string>
#include <string_view>

namespace netshm_tool {

// Everything up to end of file; throws std::system_error "read WHAT".
std::string read_all(int fd, const std::string &what);
// As much of `text` as the descriptor takes: stops at the first error.
void write_all(int fd, std::string_view text) noexcept;

} // namespace netshm_tool
