// netshm — C++20 header-only wrapper over the netshm C ABI.
//
// Move-only RAII handles, exceptions carrying the C result code and the
// library's message, spans in and vectors out.  Only the C ABI is used here.
#ifndef NETSHM_HPP
#define NETSHM_HPP

#include <netshm.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

namespace netshm {

// ------------------------------------------------------------------ errors

// Every failure of the library: the C result code and the detail message.
class error : public std::exception {
public:
    error(int code, std::string message) : code_(code), message_(std::move(message)) {}
    int code() const noexcept { return code_; }
    const char *what() const noexcept override { return message_.c_str(); }

private:
    int code_;
    std::string message_;
};

class not_found : public error {
public:
    using error::error;
};
class corrupt_file : public error {
public:
    using error::error;
};
class deadlock : public error {
public:
    using error::error;
};
class invalid_argument : public error {
public:
    using error::error;
};
class self_locked : public error {
public:
    using error::error;
};
// NETSHM_ESYS: an OS call failed; sys_errno() is its errno.
class system_error : public error {
public:
    system_error(int code, std::string message, int sys_errno)
        : error(code, std::move(message)), sys_errno_(sys_errno) {}
    int sys_errno() const noexcept { return sys_errno_; }

private:
    int sys_errno_;
};

namespace detail {

[[noreturn]] inline void throw_error(int rc)
{
    std::string message = netshm_last_error();
    switch (rc) {
    case NETSHM_ENOTFOUND: throw not_found(rc, std::move(message));
    case NETSHM_ECORRUPT: throw corrupt_file(rc, std::move(message));
    case NETSHM_EDEADLK: throw deadlock(rc, std::move(message));
    case NETSHM_EINVAL: throw invalid_argument(rc, std::move(message));
    case NETSHM_ESELFLOCKED: throw self_locked(rc, std::move(message));
    case NETSHM_ESYS: throw system_error(rc, std::move(message), netshm_last_errno());
    default: throw error(rc, std::move(message));
    }
}

// Throws for a negative result code, returns the others.
inline int check(int rc)
{
    if (rc < 0)
        throw_error(rc);
    return rc;
}

[[noreturn]] inline void throw_closed()
{
    throw error(NETSHM_ECLOSED, "the handle is closed or was moved from");
}

} // namespace detail

// --------------------------------------------------------------- objects

enum class shm_type : int { file = NETSHM_TYPE_FILE, posix = NETSHM_TYPE_POSIX };

enum class locking : int { none = NETSHM_NO_LOCKING, record = NETSHM_RECORD_LOCKING };

// An open shared-memory object.  Move-only; closed by the destructor.
class descriptor {
public:
    descriptor() noexcept = default;
    // Takes ownership of a handle obtained from the C API.
    explicit descriptor(netshm_descr *handle) noexcept : handle_(handle) {}

    // oflags: O_RDONLY or O_RDWR with O_CREAT, O_EXCL, O_TRUNC as needed.
    static descriptor open(shm_type type, const std::string &name, int oflags, unsigned mode = 0600)
    {
        netshm_descr *handle = nullptr;
        detail::check(netshm_open(static_cast<netshm_type>(type), name.c_str(), oflags, mode, &handle));
        return descriptor(handle);
    }

    // Every 'X' of the template becomes a random [0-9A-Z] character.
    static descriptor create_unique(shm_type type, const std::string &name_template,
                                    unsigned mode = 0600)
    {
        netshm_descr *handle = nullptr;
        detail::check(netshm_create_unique(static_cast<netshm_type>(type), name_template.c_str(),
                                           mode, &handle));
        return descriptor(handle);
    }

    descriptor(const descriptor &) = delete;
    descriptor &operator=(const descriptor &) = delete;
    descriptor(descriptor &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    descriptor &operator=(descriptor &&other) noexcept
    {
        if (this != &other) {
            release();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    ~descriptor() { release(); }

    std::string name() const { return netshm_name(live()); }
    shm_type type() const { return static_cast<shm_type>(netshm_descr_type(live())); }
    void chmod(unsigned mode) { detail::check(netshm_chmod(live(), mode)); }
    // -1 leaves the owner or the group unchanged.
    void chown(long uid, long gid) { detail::check(netshm_chown(live(), uid, gid)); }

    // Closes now and reports a failure; closing twice does nothing.
    void close()
    {
        if (handle_ != nullptr)
            detail::check(netshm_close(std::exchange(handle_, nullptr)));
    }

    netshm_descr *handle() const noexcept { return handle_; }
    explicit operator bool() const noexcept { return handle_ != nullptr; }

private:
    netshm_descr *live() const
    {
        if (handle_ == nullptr)
            detail::throw_closed();
        return handle_;
    }
    void release() noexcept
    {
        if (handle_ != nullptr)
            netshm_close(std::exchange(handle_, nullptr));
    }

    netshm_descr *handle_ = nullptr;
};

// Removes an object's name from the system.
inline void unlink(shm_type type, const std::string &name)
{
    detail::check(netshm_unlink(static_cast<netshm_type>(type), name.c_str()));
}

} // namespace netshm

#endif // NETSHM_HPP
