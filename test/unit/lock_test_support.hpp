// For the tests of lib/lock: a scratch file in /dev/shm, and a forked child
// that reports to the parent in lines and waits for its word to go on.
#pragma once

#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lock_test {

// A file of `bytes` zero bytes, removed at scope exit.
class scratch_file {
public:
    explicit scratch_file(off_t bytes = 4096)
    {
        char name[] = "/dev/shm/netshm-lock-test-XXXXXX";
        fd_ = ::mkostemp(name, O_CLOEXEC);
        REQUIRE(fd_ >= 0);
        path_ = name;
        REQUIRE(::ftruncate(fd_, bytes) == 0);
    }
    scratch_file(const scratch_file &) = delete;
    scratch_file &operator=(const scratch_file &) = delete;
    ~scratch_file()
    {
        ::close(fd_);
        ::unlink(path_.c_str());
    }

    int fd() const noexcept { return fd_; }
    const std::string &path() const noexcept { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

// What the child's body can do: tell the parent a line, wait for its word.
class child_channel {
public:
    child_channel(int to_parent, int from_parent) : to_parent_(to_parent), from_parent_(from_parent) {}
    void say(const std::string &line) const
    {
        const std::string text = line + "\n";
        for (std::size_t done = 0; done < text.size();) {
            ssize_t n = ::write(to_parent_, text.data() + done, text.size() - done);
            if (n <= 0)
                ::_exit(3);
            done += static_cast<std::size_t>(n);
        }
    }
    // Returns when the parent calls go() or ends.
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

// Runs body(const child_channel &) in a forked child, which then exits with
// _exit(0), skipping every destructor as a crash would; an exception is
// reported as a line "exception: ...".  The child is killed by an alarm
// after 5 s, with its parent, and when the object goes out of scope.  The
// body must not use Catch2.
class child_process {
public:
    template <class Body>
    explicit child_process(Body body)
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
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            std::signal(SIGALRM, SIG_DFL);
            ::alarm(5);
            child_channel channel(up[1], down[0]);
            try {
                body(channel);
            } catch (const std::exception &e) {
                channel.say(std::string("exception: ") + e.what());
            }
            ::_exit(0);
        }
        ::close(up[1]);
        ::close(down[0]);
        from_child_ = up[0];
        to_child_ = down[1];
    }
    child_process(const child_process &) = delete;
    child_process &operator=(const child_process &) = delete;
    ~child_process()
    {
        if (pid_ > 0)
            kill();
        ::close(from_child_);
        if (to_child_ >= 0)
            ::close(to_child_);
    }

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
    void go()
    {
        ::close(to_child_);
        to_child_ = -1;
    }
    // Waits for the child's end; true when it exited normally with status 0.
    bool exited_cleanly()
    {
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        pid_ = -1;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    void kill()
    {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    int from_child_ = -1;
    int to_child_ = -1;
};

} // namespace lock_test
