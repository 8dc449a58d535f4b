// Helpers of the multi-process tests: children bounded in time that report
// through a pipe, pipe barriers, table handles closed at scope exit, and a
// probe of the kernel's record locks as another process sees them.
//
// Children never use Catch2: they return a report (a string) or an exit
// status, and the parent checks it.  Every child arms its own alarm (alarms
// are not inherited across fork) and dies with its parent, so a hang fails
// the test instead of blocking CI.
#pragma once

#include "netshm_test_helpers.hpp"
#include "os_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

namespace netshm_test {

struct table_closer {
    void operator()(netshm_table *table) const noexcept { netshm_table_close(table); }
};
using table_ptr = std::unique_ptr<netshm_table, table_closer>;

// Manages `descr` (with record locking unless told), requiring success.
inline table_ptr manage_ok(netshm_descr *descr, unsigned pagesize = 0, long long init = -1,
                           netshm_locking locking = NETSHM_RECORD_LOCKING)
{
    netshm_table *table = nullptr;
    REQUIRE_NETSHM_OK(netshm_manage(descr, locking, pagesize, init, &table));
    return table_ptr(table);
}

// Arms an alarm for the whole test program: a hang kills it (SIGALRM's
// default action), which meson reports as a failure.
inline void bound_test_time(unsigned seconds)
{
    std::signal(SIGALRM, SIG_DFL);
    ::alarm(seconds);
}

// A pipe whose ends close at scope exit.
class pipe_fds {
public:
    pipe_fds()
    {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read_end_ = fds[0];
        write_end_ = fds[1];
    }
    ~pipe_fds()
    {
        close_read();
        close_write();
    }
    pipe_fds(const pipe_fds &) = delete;
    pipe_fds &operator=(const pipe_fds &) = delete;

    int read_end() const noexcept { return read_end_; }
    int write_end() const noexcept { return write_end_; }
    void close_read() noexcept
    {
        if (read_end_ >= 0)
            ::close(read_end_);
        read_end_ = -1;
    }
    void close_write() noexcept
    {
        if (write_end_ >= 0)
            ::close(write_end_);
        write_end_ = -1;
    }

private:
    int read_end_ = -1;
    int write_end_ = -1;
};

// Writes everything (a child's report); false on failure.
inline bool write_all(int fd, const void *data, std::size_t size) noexcept
{
    const char *bytes = static_cast<const char *>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, bytes, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

inline bool send_byte(int fd, char byte = '!') noexcept { return write_all(fd, &byte, 1); }

// Waits up to `timeout_ms` for one byte; nothing on timeout or end of file.
inline std::optional<char> receive_byte(int fd, int timeout_ms) noexcept
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        struct pollfd p {fd, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return std::nullopt;
        char byte;
        ssize_t n = ::read(fd, &byte, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
            return std::nullopt;
        return byte;
    }
}


// Sets up a freshly forked child: killed with its parent, and by its own
// alarm after `seconds`.
inline void arm_child(unsigned seconds) noexcept
{
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::signal(SIGALRM, SIG_DFL);
    sigset_t alarm_only;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &alarm_only, nullptr);
    ::alarm(seconds);
}

// A forked child running body() -> std::string; the string is its report.
class child {
public:
    template <class Body>
    child(unsigned seconds, Body body)
    {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        std::fflush(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::close(fds[0]);
            arm_child(seconds);
            std::string report;
            try {
                report = body();
            } catch (const std::exception &e) {
                report = std::string("exception: ") + e.what();
            } catch (...) {
                report = "unknown exception";
            }
            ::_exit(write_all(fds[1], report.data(), report.size()) ? 0 : 1);
        }
        ::close(fds[1]);
        report_fd_ = fds[0];
    }
    ~child()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (report_fd_ >= 0)
            ::close(report_fd_);
    }
    child(const child &) = delete;
    child &operator=(const child &) = delete;

    pid_t pid() const noexcept { return pid_; }

    // Waits for the report and the exit; a child that did not exit normally
    // (killed by its alarm, crashed) fails the test.
    std::string finish()
    {
        std::string report = detail::read_all(report_fd_);
        ::close(report_fd_);
        report_fd_ = -1;
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        pid_ = -1;
        INFO("child report: " << report);
        if (WIFSIGNALED(status))
            FAIL("the child was killed by signal " << WTERMSIG(status)
                                                   << (WTERMSIG(status) == SIGALRM ? " (its alarm: it hung)" : ""));
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        return report;
    }

    // True once the child has exited (its report is then complete).
    bool exited_within(int timeout_ms)
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (std::chrono::steady_clock::now() < deadline) {
            struct pollfd p {report_fd_, POLLIN, 0};
            // The report pipe reaches end of file when the child exits.
            if (::poll(&p, 1, 10) > 0 && (p.revents & POLLHUP) != 0)
                return true;
        }
        return false;
    }

    // Kills the child now (SIGKILL) and reaps it.
    void kill_now()
    {
        REQUIRE(::kill(pid_, SIGKILL) == 0);
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGKILL);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    int report_fd_ = -1;
};

// What another process sees of the record lock on byte `offset` of `path`
// when it asks for a write lock (F_GETLK): F_UNLCK if it could take it, else
// the type of the conflicting lock and its holder.
struct lock_probe {
    short type;
    pid_t holder;
};

inline lock_probe probe_write_lock(const std::string &path, off_t offset)
{
    child probe(10, [&] {
        int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return std::string("open failed");
        struct flock request {};
        request.l_type = F_WRLCK;
        request.l_whence = SEEK_SET;
        request.l_start = offset;
        request.l_len = 1;
        if (::fcntl(fd, F_GETLK, &request) != 0)
            return std::string("F_GETLK failed");
        return std::to_string(request.l_type) + " " + std::to_string(request.l_pid);
    });
    std::string report = probe.finish();
    int type = -1;
    long holder = -1;
    REQUIRE(std::sscanf(report.c_str(), "%d %ld", &type, &holder) == 2);
    return {static_cast<short>(type), static_cast<pid_t>(holder)};
}

// Milliseconds since `start`.
inline double elapsed_ms(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

} // namespace netshm_test
