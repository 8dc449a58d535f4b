// The per-process state of the record locks on one file (device and inode).
//
// fcntl locks belong to the process, not to a descriptor or a thread: every
// handle of one object in this process therefore shares one lock_state, which
// keeps the requirements of all of them per byte, and one mutex that an
// operation (and a whole group) holds, so that one thread at a time owns the
// process's locks.  Closing any descriptor of the file would drop all of the
// process's locks on it: descriptors closed while locks are held are kept open
// until the last lock is released.
#pragma once

#include "util/recursive_mutex.hpp"

#include <fcntl.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace netshm::core {

class writer_mutex;

enum class lock_kind : std::uint8_t { read, write };

// What a lock names in its error messages ("page 3", "byte 768"): formatted
// only when a lock fails, not on every call.
struct lock_subject {
    const char *unit;
    std::int64_t number;
};

// How long a lock waits before it gives up with errc::timed_out; 0 waits for ever.
using lock_wait = std::chrono::milliseconds;

// 0 in the original process, incremented in each child after fork.
std::uint64_t fork_generation() noexcept;

class lock_state {
public:
    // The state of the file `fd` refers to, made on first use.  The state
    // takes its own duplicate of fd; `writable` says whether fd may take
    // write locks.
    static std::shared_ptr<lock_state> of(int fd, bool writable, const std::string &name);

    lock_state(const lock_state &) = delete;
    lock_state &operator=(const lock_state &) = delete;
    ~lock_state();

    // Held for every operation and for each whole group.
    recursive_mutex &mutex() noexcept { return mutex_; }
    // The mutex, waiting at most `limit` (0: for ever); errc::timed_out when
    // another thread of this process keeps it (a group) that long.  Inline:
    // every operation takes it, and nearly always at once.
    std::unique_lock<recursive_mutex> hold(lock_wait limit)
    {
        if (mutex_.try_lock())
            return std::unique_lock<recursive_mutex>(mutex_, std::adopt_lock);
        return hold_contended(limit);
    }

    // The rest requires the mutex.
    // The longest wait of each lock below: that of the operation running now,
    // which sets it for its duration (wait_limit_scope).
    lock_wait wait_limit() const noexcept { return wait_limit_; }
    void lock(off_t offset, lock_kind kind, lock_subject what);
    // Releases the newest requirement at `offset` (deferred inside a group).
    void unlock(off_t offset);
    // The same, at once even inside a group: for the presence and setup
    // bytes, which another table's group must not keep from other processes.
    void unlock_now(off_t offset) { release(offset); }
    // Write-locks every byte of [begin, end) in one request (waiting like
    // lock), for a re-initialisation that must exclude every holder of a
    // page lock, whatever its page size.  The range is not a requirement of
    // its own: unlock_range leaves each byte this process holds in it as its
    // requirements say, and releases the others, without a moment unlocked.
    void lock_range(off_t begin, off_t end, lock_subject what);
    void unlock_range(off_t begin, off_t end);
    // Whether another process holds a lock on `offset` that conflicts with
    // `kind` (F_GETLK, which never reports this process's own locks).
    bool others_hold(off_t offset, lock_kind kind, lock_subject what) const;
    // Whether this process holds `offset` (released or not inside a group).
    bool holds(off_t offset) const noexcept { return find_held(offset) != npos; }
    void begin_group() noexcept { ++group_depth_; }
    void end_group();

    // Closes a descriptor of this file, later if locks are held now.
    void close_descriptor(int fd);
    // Closes a descriptor inherited across fork without dropping the locks
    // this process took since on the same file.
    static void close_inherited(int fd) noexcept;

    const std::string &name() const noexcept { return name_; }

    // Callbacks of operations running now: modifications are refused meanwhile.
    int callbacks_active = 0;
    // The writer mutex shared by this process's mutex-locking tables of the
    // file (writer_mutex::of), so that its nesting is counted once.
    std::weak_ptr<writer_mutex> writer;

private:
    static std::shared_ptr<lock_state> find(dev_t device, ino_t inode);
    lock_state(int own_fd, bool writable, dev_t device, ino_t inode, std::string name);
    void apply(off_t offset, short type, lock_subject what, off_t length = 1);
    void release(off_t offset);
    void adopt_writable(int fd);
    void close_parked();
    std::unique_lock<recursive_mutex> hold_contended(lock_wait limit);

    friend class wait_limit_scope;
    // With a wait limit, F_SETLK attempts until `what` is granted or the limit passes.
    void apply_within(::flock &request, lock_subject what);

    recursive_mutex mutex_;
    lock_wait wait_limit_{0};
    int fd_;
    bool writable_;
    dev_t device_;
    ino_t inode_;
    std::uint64_t generation_;
    std::string name_;
    // The requirements on one byte, newest last.
    struct held_byte {
        off_t offset;
        std::vector<lock_kind> stack;
    };
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    // Beyond this many bytes held (a large group), held_index_ finds them.
    static constexpr std::size_t linear_search_limit = 16;
    std::size_t find_held(off_t offset) const;
    std::size_t add_held(off_t offset);
    void drop_held(std::size_t slot);

    int group_depth_ = 0;
    // held_[0, held_count_) are the bytes held; the slots after them are
    // spare and keep their stacks' capacity, so that a lock allocates nothing.
    std::vector<held_byte> held_;
    std::size_t held_count_ = 0;
    // Byte -> slot, filled only while more than linear_search_limit bytes are held.
    std::unordered_map<off_t, std::size_t> held_index_;
    std::vector<off_t> deferred_;
    std::vector<int> parked_;
};

// Sets a lock_state's wait limit (the caller holds its mutex) and restores
// the previous one when it ends: an operation nested in another one's
// callback waits as its own table says, and the outer one as before.
class wait_limit_scope {
public:
    wait_limit_scope(lock_state &state, lock_wait limit) noexcept : state_(state), previous_(state.wait_limit_)
    {
        state.wait_limit_ = limit;
    }
    ~wait_limit_scope() { state_.wait_limit_ = previous_; }
    wait_limit_scope(const wait_limit_scope &) = delete;
    wait_limit_scope &operator=(const wait_limit_scope &) = delete;

private:
    lock_state &state_;
    lock_wait previous_;
};

} // namespace netshm::core
