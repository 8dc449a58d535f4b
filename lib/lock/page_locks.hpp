// One table's view of its object's lock_state: OCamlnet's locks of one byte
// per page at offset page * W, and groups that hold the object's mutex from
// begin to end.  With locking disabled only the mutex and groups remain.
// With mutex locking (a writer mutex attached), every page lock is a hold of
// the writer mutex instead, so that the operations written for record locks
// run unchanged: a lock of any page keeps every writer out until its release
// (also across the hand-over from the descriptor page to a binding's page),
// and a write lock makes the sequence counter odd until the last hold goes.
#pragma once

#include "lock/writer_mutex.hpp"
#include "shm/lock_state.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

namespace netshm::core {

class page_locks {
public:
    page_locks(std::shared_ptr<lock_state> state, bool enabled, int words_per_page)
        : state_(std::move(state)), enabled_(enabled), words_per_page_(words_per_page) {}

    lock_state &state() const noexcept { return *state_; }
    // Mutex locking from now on (a table attaches it once its object holds
    // page 0 and the lock area is set up), with the table's recovery from a
    // write a dead holder left unfinished.
    void attach_writer(std::shared_ptr<writer_mutex> writer, std::function<void(lock_area &)> recover)
    {
        writer_ = std::move(writer);
        recover_ = std::move(recover);
    }
    writer_mutex *writer() const noexcept { return writer_.get(); }
    // Whether page locks are fcntl record locks (not the writer mutex, not none).
    bool record_locking() const noexcept { return enabled_ && !writer_; }

    // These require the state's mutex (held by the table's operation scope).
    void lock(std::int32_t page, lock_kind kind);
    void unlock(std::int32_t page);
    // The write lock of `page` for a repair: with mutex locking, a hold of
    // the writer mutex even when a recovery fails or the area is marked
    // corrupt (writer_mutex::acquire_for_repair).  Released by unlock().
    void lock_for_repair(std::int32_t page);

    // A group holds the mutex until it ends, on the thread that began it.
    void begin_group();
    void end_group();
    // Throws errc::invalid unless the calling thread may end a group now (one
    // is open and this thread began it); needs no mutex, so that a wrong
    // thread is told at once rather than waiting for the group's thread.
    void check_group_end() const;
    int group_depth() const noexcept { return group_depth_; }
    // Ends every group this table began (destroying it inside a group).
    void end_all_groups() noexcept;

private:
    std::shared_ptr<lock_state> state_;
    std::shared_ptr<writer_mutex> writer_;
    std::function<void(lock_area &)> recover_;
    bool enabled_;
    int words_per_page_;
    // Atomic only so that a misuse from another thread is detected cleanly.
    std::atomic<int> group_depth_{0};
    std::atomic<std::thread::id> group_thread_{};
};

// Releases one requirement when it goes out of scope.
class page_lock_guard {
public:
    page_lock_guard(page_locks &locks, std::int32_t page, lock_kind kind) : locks_(&locks), page_(page)
    {
        locks.lock(page, kind);
    }
    // The write lock of a repair (page_locks::lock_for_repair).
    struct for_repair {};
    page_lock_guard(page_locks &locks, std::int32_t page, for_repair) : locks_(&locks), page_(page)
    {
        locks.lock_for_repair(page);
    }
    page_lock_guard(const page_lock_guard &) = delete;
    page_lock_guard &operator=(const page_lock_guard &) = delete;
    page_lock_guard(page_lock_guard &&other) noexcept : locks_(other.locks_), page_(other.page_)
    {
        other.locks_ = nullptr;
    }
    ~page_lock_guard() { release(); }

    void release() noexcept
    {
        if (locks_ == nullptr)
            return;
        try {
            locks_->unlock(page_);
        } catch (...) {
            // A lock the kernel would not release stays until the descriptor
            // closes; a destructor cannot do more.
        }
        locks_ = nullptr;
    }

private:
    page_locks *locks_;
    std::int32_t page_;
};

} // namespace netshm::core
