// Writing a whole buffer to a caller's file descriptor (a dump's output),
// which may be a pipe whose reader is gone.
#pragma once

#include <string_view>

namespace netshm::core {

// Writes all of `data` to fd, retrying interrupted writes.  A closed pipe is
// errc::system with EPIPE, never a SIGPIPE: the signal is blocked in the
// calling thread meanwhile and the one the write raised is taken back, so
// that neither the process's signal dispositions nor the thread's mask
// change.  `what` names the write in the error ("dump: write to file
// descriptor").
void write_all(int fd, std::string_view data, std::string_view what);

} // namespace netshm::core
