// The engine's error model: an error code plus a message naming what failed.
// The C ABI maps these codes one to one onto its result codes.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace netshm::core {

enum class errc : int {
    not_found = -1,
    corrupt = -2,
    deadlock = -3,
    invalid = -4,
    system = -5,
    no_memory = -6,
    self_locked = -7,
    closed = -8,
    not_supported = -9,
    exists = -10,
    too_big = -11,
    forked = -12,
    busy = -13,
    read_only = -14,
    timed_out = -15,
};

class error : public std::exception {
public:
    error(errc code, std::string message, int sys_errno = 0)
        : code_(code), message_(std::move(message)), sys_errno_(sys_errno) {}

    errc code() const noexcept { return code_; }
    int sys_errno() const noexcept { return sys_errno_; }
    const char *what() const noexcept override { return message_.c_str(); }

private:
    errc code_;
    std::string message_;
    int sys_errno_;
};

// Throws for a failed OS call: "<operation> <name>: <strerror(err)>".  ENOENT
// becomes not_found and EEXIST exists, the two failures callers test for.
[[noreturn]] void throw_system(int err, std::string_view operation, std::string_view name);

[[noreturn]] void throw_invalid(std::string message);

} // namespace netshm::core
