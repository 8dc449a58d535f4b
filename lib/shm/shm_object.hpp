// An open shared-memory object: a POSIX shm object or a regular file, opened
// O_CLOEXEC, with the few operations tables need on it (size, growth).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace netshm::core {

enum class shm_kind : int { file = 1, posix = 2 };

class shm_object {
public:
    // oflags: O_RDONLY or O_RDWR, optionally O_CREAT, O_EXCL, O_TRUNC.
    static std::shared_ptr<shm_object> open(shm_kind kind, std::string_view name, int oflags,
                                            unsigned mode);
    // Replaces each 'X' of the template by a random [0-9A-Z] character until an
    // O_EXCL creation succeeds (bounded number of attempts).
    static std::shared_ptr<shm_object> create_unique(shm_kind kind, std::string_view name_template,
                                                     unsigned mode);
    static void unlink(shm_kind kind, std::string_view name);

    shm_object(const shm_object &) = delete;
    shm_object &operator=(const shm_object &) = delete;
    ~shm_object();

    shm_kind kind() const noexcept { return kind_; }
    const std::string &name() const noexcept { return name_; }
    bool writable() const noexcept { return writable_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    // The file descriptor; throws errc::closed once close() was called.
    int fd() const;

    // Closes the descriptor; a second call does nothing.
    void close();
    void chmod(unsigned mode);
    void chown(long uid, long gid);

    std::uint64_t size() const;
    // Makes the object at least `bytes` long with the space really reserved, so
    // that a full file system is reported here and not as SIGBUS later.
    void grow_to(std::uint64_t bytes);

private:
    shm_object(shm_kind kind, std::string name, int fd, bool writable)
        : kind_(kind), name_(std::move(name)), fd_(fd), writable_(writable) {}

    shm_kind kind_;
    std::string name_;
    int fd_;
    bool writable_;
};

// Throws errc::invalid unless `name` is acceptable for `kind`.
void validate_name(shm_kind kind, std::string_view name);

} // namespace netshm::core
