#include "in_child_process.hpp"
#include "whole_io.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

namespace netshm_tool {

namespace {

[[noreturn]] void fail(const char *what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

child_outcome in_child_process(const std::function<std::string()> &work)
{
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        fail("pipe");
    pid_t child = ::fork();
    if (child < 0) {
        int saved = errno;
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        errno = saved;
        fail("fork");
    }
    if (child == 0) {
        // Whatever happens, the child ends here: no exit handlers, no flush
        // of the parent's buffered output, no return into the parent's code.
        int status = 0;
        try {
            ::close(pipe_fds[0]);
            write_all(pipe_fds[1], work());
        } catch (...) {
            status = 1;
        }
        ::_exit(status);
    }
    ::close(pipe_fds[1]);
    child_outcome outcome;
    try {
        outcome.text = read_all(pipe_fds[0], "from the child process");
    } catch (...) {
        ::close(pipe_fds[0]);
        ::waitpid(child, nullptr, 0);
        throw;
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            fail("waitpid");
    if (WIFSIGNALED(status)) {
        const char *name = ::sigabbrev_np(WTERMSIG(status));
        outcome.failure = name ? fmt::format("was killed by SIG{}", name)
                               : fmt::format("was killed by signal {}", WTERMSIG(status));
    } else if (WEXITSTATUS(status) != 0) {
        outcome.failure = fmt::format("exited with status {}", WEXITSTATUS(status));
    }
    return outcome;
}

} // namespace netshm_tool
