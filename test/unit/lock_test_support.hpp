// For the tests of lib/lock: a scratch file in /dev/shm (their children are
// child_process.hpp's, with a channel to the parent).
#pragma once

#include "child_process.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fcntl.h>
#include <string>
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

} // namespace lock_test
