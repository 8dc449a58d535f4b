// What the tests observe in the operating system: this process's file
// descriptors, and what an unprivileged child process sees.
#pragma once

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <grp.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace netshm_test {

inline bool exists(const std::string &path)
{
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

// The status of `path`, which must exist.
inline struct stat stat_of(const std::string &path)
{
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st;
}

// The descriptor of this process open on `path`, or -1 if there is none.
inline int fd_open_on(const std::string &path)
{
    for (const auto &entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code gone; // the iterator's own descriptor is closed meanwhile
        if (std::filesystem::read_symlink(entry.path(), gone).string() == path)
            return std::stoi(entry.path().filename().string());
    }
    return -1;
}

namespace detail {

inline void write_all(int fd, const std::string &text)
{
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno != EINTR)
            return;
        if (n > 0)
            done += static_cast<std::size_t>(n);
    }
}

inline std::string read_all(int fd)
{
    std::string text;
    char buffer[512];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return text;
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

} // namespace detail

// The user and group id of nobody, whom the unprivileged child runs as.
constexpr uid_t nobody = 65534;

// Runs `body` (returning std::string) in a forked child as user and group
// nobody and returns what it returned.  Needs root, as CI runs the tests.
// `body` must not use Catch2 assertions: it reports what it saw, and the
// parent checks the report.
template <class Body>
std::string run_as_nobody(Body body)
{
    INFO("dropping privileges in a child process needs root: run the tests as root, as CI does");
    REQUIRE(::geteuid() == 0);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(pipe_fds[0]);
        std::string report;
        if (::setgroups(0, nullptr) != 0 || ::setgid(nobody) != 0 || ::setuid(nobody) != 0) {
            report = std::string("cannot drop privileges: ") + std::strerror(errno);
        } else {
            try {
                report = body();
            } catch (const std::exception &e) {
                report = std::string("exception: ") + e.what();
            }
        }
        detail::write_all(pipe_fds[1], report);
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string report = detail::read_all(pipe_fds[0]);
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO("the child reported: " << report);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    return report;
}

} // namespace netshm_test
