// Helpers of the multi-process tests: pipe barriers, table handles closed at
// scope exit, and a probe of the kernel's record locks as another process
// sees them; the children themselves are child_process.hpp's.
#pragma once

#include "child_process.hpp"
#include "netshm_test_helpers.hpp"

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
#include <time.h>
#include <unistd.h>
#include <utility>

namespace netshm_test {

// Arms an alarm for the whole test program: a hang kills it (SIGALRM's
// default action), which meson reports as a failure.
inline void bound_test_time(unsigned seconds)
{
    std::signal(SIGALRM, SIG_DFL);
    ::alarm(seconds);
}

// Sleeps `us` microseconds (through signals).
inline void sleep_us(double us)
{
    const auto ns = static_cast<long long>(us * 1000);
    timespec delay{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    while (::nanosleep(&delay, &delay) != 0 && errno == EINTR) {
    }
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
