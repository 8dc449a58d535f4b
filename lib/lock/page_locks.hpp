// Record locks on pages (OCamlnet's protocol): one byte per page at offset
// page * W, taken with fcntl.  Each page keeps the stack of requirements of
// the operations holding it and the kernel lock follows the strongest one;
// inside a group, releases are deferred until the outermost group ends.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace netshm::core {

enum class lock_kind : std::uint8_t { read, write };

class page_locks {
public:
    // enabled = false: every call only keeps the group depth (No_locking).
    page_locks(bool enabled, int words_per_page, std::string object_name)
        : enabled_(enabled), words_per_page_(words_per_page), name_(std::move(object_name)) {}

    void lock(int fd, std::int32_t page, lock_kind kind);
    // Releases the newest requirement on `page` (deferred inside a group).
    void unlock(int fd, std::int32_t page);

    void begin_group() noexcept { ++group_depth_; }
    // Returns false if no group was open.
    bool end_group(int fd);
    int group_depth() const noexcept { return group_depth_; }

    // Drops every lock held (closing a table that is still in a group).
    void release_all(int fd) noexcept;

private:
    void apply(int fd, std::int32_t page, short type);
    void release(int fd, std::int32_t page);

    bool enabled_;
    int words_per_page_;
    std::string name_;
    int group_depth_ = 0;
    std::unordered_map<std::int32_t, std::vector<lock_kind>> held_;
    std::vector<std::int32_t> deferred_;
};

// Releases one requirement when it goes out of scope.
class page_lock_guard {
public:
    page_lock_guard(page_locks &locks, int fd, std::int32_t page, lock_kind kind)
        : locks_(&locks), fd_(fd), page_(page)
    {
        locks.lock(fd, page, kind);
    }
    page_lock_guard(const page_lock_guard &) = delete;
    page_lock_guard &operator=(const page_lock_guard &) = delete;
    page_lock_guard(page_lock_guard &&other) noexcept
        : locks_(other.locks_), fd_(other.fd_), page_(other.page_)
    {
        other.locks_ = nullptr;
    }
    ~page_lock_guard() { release(); }

    void release() noexcept
    {
        if (locks_ == nullptr)
            return;
        try {
            locks_->unlock(fd_, page_);
        } catch (...) {
            // The kernel keeps a lock that could not be released until the
            // descriptor closes; nothing more can be done from a destructor.
        }
        locks_ = nullptr;
    }
    std::int32_t page() const noexcept { return page_; }

private:
    page_locks *locks_;
    int fd_;
    std::int32_t page_;
};

} // namespace netshm::core
