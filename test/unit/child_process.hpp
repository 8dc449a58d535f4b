// A forked child process of the multi-process tests, bounded in time: it
// runs a body that either returns a report (a string) or talks with the
// parent in lines through a channel, then exits with _exit, skipping every
// destructor as a crash would.
//
// Children never use Catch2: they report what they saw and the parent checks
// it.  Every child arms its own alarm (alarms are not inherited across fork)
// and dies with its parent, so a hang fails the test instead of blocking CI.
#pragma once

#include "os_helpers.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <optional>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <type_traits>
#include <unistd.h>

namespace netshm_test {

// Writes everything; false on failure.
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

// What a child's body can do: tell the parent a line, wait for its word.
class child_channel {
public:
    child_channel(int to_parent, int from_parent) : to_parent_(to_parent), from_parent_(from_parent) {}
    void say(const std::string &line) const
    {
        const std::string text = line + "\n";
        if (!write_all(to_parent_, text.data(), text.size()))
            ::_exit(3);
    }
    // Returns when the parent calls go() or ends.  (A child forked later
    // inherits the parent's end: go() is seen once that child is gone too.)
    void await() const
    {
        char byte;
        while (::read(from_parent_, &byte, 1) < 0 && errno == EINTR) {
        }
    }

private:
    int to_parent_;
    int from_parent_;
};

// A forked child running body() -> std::string, whose result is its report,
// or body(const child_channel &) -> void.  An exception in the body becomes
// the report "exception: ...".
class child {
public:
    template <class Body>
    child(unsigned seconds, Body body)
    {
        int up[2], down[2];
        REQUIRE(::pipe2(up, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(down, O_CLOEXEC) == 0);
        std::fflush(nullptr);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::close(up[0]);
            ::close(down[1]);
            arm_child(seconds);
            std::string report;
            try {
                if constexpr (std::is_invocable_v<Body &, const child_channel &>)
                    body(child_channel(up[1], down[0]));
                else
                    report = body();
            } catch (const std::exception &e) {
                report = std::string("exception: ") + e.what();
            } catch (...) {
                report = "unknown exception";
            }
            ::_exit(write_all(up[1], report.data(), report.size()) ? 0 : 1);
        }
        ::close(up[1]);
        ::close(down[0]);
        from_child_ = up[0];
        to_child_ = down[1];
    }
    ~child()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        close_fd(from_child_);
        close_fd(to_child_);
    }
    child(const child &) = delete;
    child &operator=(const child &) = delete;

    pid_t pid() const noexcept { return pid_; }

    // The child's next line, without its newline; "(timeout)" after 5 s,
    // "(end)" when the child closed its side.
    std::string line()
    {
        std::string text;
        for (char c;;) {
            pollfd ready{from_child_, POLLIN, 0};
            int n = ::poll(&ready, 1, 5000);
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0)
                return "(timeout)";
            ssize_t got = ::read(from_child_, &c, 1);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                return text.empty() ? "(end)" : text;
            if (c == '\n')
                return text;
            text += c;
        }
    }

    // Lets the child's await() return.
    void go() { close_fd(to_child_); }

    // Waits for the rest of the report and the exit; a child that did not
    // exit normally with status 0 (killed by its alarm, crashed) fails the test.
    std::string finish()
    {
        int status = 0;
        std::string report = reap(status);
        INFO("child report: " << report);
        if (WIFSIGNALED(status))
            FAIL("the child was killed by signal " << WTERMSIG(status)
                                                   << (WTERMSIG(status) == SIGALRM ? " (its alarm: it hung)" : ""));
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        return report;
    }

    // As finish(), but a child killed by its alarm is an answer: nothing
    // (it hung, on a lock for instance).
    std::optional<std::string> finish_unless_hung()
    {
        int status = 0;
        std::string report = reap(status);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            return std::nullopt;
        INFO("child report: " << report);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
        return report;
    }

    // True once the child has exited (its report is then complete).
    bool exited_within(int timeout_ms)
    {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (std::chrono::steady_clock::now() < deadline) {
            struct pollfd p {from_child_, POLLIN, 0};
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
    // The whole report, then the child's exit status.
    std::string reap(int &status)
    {
        std::string report = detail::read_all(from_child_);
        close_fd(from_child_);
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        pid_ = -1;
        return report;
    }

    static void close_fd(int &fd) noexcept
    {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }

    pid_t pid_ = -1;
    int from_child_ = -1;
    int to_child_ = -1;
};

} // namespace netshm_test
