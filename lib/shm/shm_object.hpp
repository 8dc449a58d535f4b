// An open shared-memory object: a POSIX shm object or a regular file, opened
// O_CLOEXEC, with the few operations tables need on it (size, growth) and the
// lock_state of the file its record locks live on.  Anything else (a FIFO, a
// device, a directory) is refused with errc::invalid at once, without waiting.
#pragma once

#include "shm/lock_state.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace netshm::core {

enum class shm_kind : int { file = 1, posix = 2 };

class shm_object {
public:
    // oflags: O_RDONLY or O_RDWR, optionally O_CREAT, O_EXCL, O_TRUNC.
    // O_TRUNC (with O_RDWR only) is checked but not applied: the caller
    // truncates with truncate_unless_open (lock/presence.hpp), which knows
    // whether a table is in use.  With O_CREAT or O_TRUNC a file's name is
    // never followed if it is a symbolic link (errc::system, ELOOP).
    static std::shared_ptr<shm_object> open(shm_kind kind, std::string_view name, int oflags,
                                            unsigned mode);
    // A POSIX object whose record locks live on a companion file, as OCamlnet
    // 4.1.9 does; the lock file is opened with the same flags and mode.
    static std::shared_ptr<shm_object> open_with_lock_file(std::string_view shm_name,
                                                           std::string_view lock_file, int oflags,
                                                           unsigned mode);
    // Replaces each 'X' of the template's last component by a random
    // [0-9A-Z] character until an O_EXCL creation succeeds (bounded number of
    // attempts).
    static std::shared_ptr<shm_object> create_unique(shm_kind kind, std::string_view name_template,
                                                     unsigned mode);
    static void unlink(shm_kind kind, std::string_view name);

    shm_object(const shm_object &) = delete;
    shm_object &operator=(const shm_object &) = delete;
    ~shm_object();

    shm_kind kind() const noexcept { return kind_; }
    const std::string &name() const noexcept { return name_; }
    bool writable() const noexcept { return writable_; }
    // True in a child process for an object opened before the fork.
    bool inherited() const noexcept { return generation_ != fork_generation(); }
    // The state of the record locks; its mutex guards this object's descriptor.
    lock_state &locks() const noexcept { return *locks_; }
    const std::shared_ptr<lock_state> &shared_locks() const noexcept { return locks_; }

    // These require the lock state's mutex when other threads may use the object.
    bool is_open() const noexcept { return fd_ >= 0; }
    // The file descriptor; throws errc::closed once close() was called.
    int fd() const;
    std::uint64_t size() const;
    // Makes the object at least `bytes` long with the space really reserved, so
    // that a full file system is reported here and not as SIGBUS later.
    void grow_to(std::uint64_t bytes);
    // Cuts the object to 0 bytes: only when no process maps it.
    void truncate();

    // Closes the descriptor (a second call does nothing), without dropping the
    // record locks other handles of the file hold in this process.
    void close() noexcept;
    void chmod(unsigned mode);
    void chown(long uid, long gid);

private:
    std::unique_lock<recursive_mutex> hold_descriptor() const;

    shm_object(shm_kind kind, std::string name, int fd, bool writable,
               std::shared_ptr<lock_state> locks, bool locks_on_object)
        : kind_(kind), name_(std::move(name)), fd_(fd), writable_(writable), locks_on_object_(locks_on_object),
          generation_(fork_generation()), locks_(std::move(locks)) {}

    shm_kind kind_;
    std::string name_;
    int fd_;
    bool writable_;
    bool locks_on_object_;
    std::uint64_t generation_;
    std::shared_ptr<lock_state> locks_;
};

// Throws errc::invalid unless `name` is acceptable for `kind`.
void validate_name(shm_kind kind, std::string_view name);

} // namespace netshm::core
