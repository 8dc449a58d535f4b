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

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace netshm::core {

enum class lock_kind : std::uint8_t { read, write };

// What a lock names in its error messages ("page 3", "byte 768"): formatted
// only when a lock fails, not on every call.
struct lock_subject {
    const char *unit;
    std::int64_t number;
};

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
    std::recursive_mutex &mutex() noexcept { return mutex_; }

    // The rest requires the mutex.
    void lock(off_t offset, lock_kind kind, lock_subject what);
    // Releases the newest requirement at `offset` (deferred inside a group).
    void unlock(off_t offset);
    void begin_group() noexcept { ++group_depth_; }
    void end_group();

    // Closes a descriptor of this file, later if locks are held now.
    void close_descriptor(int fd);
    // Closes a descriptor inherited across fork without dropping the locks
    // this process took since on the same file.
    static void close_inherited(int fd) noexcept;

    // Callbacks of operations running now: modifications are refused meanwhile.
    int callbacks_active = 0;

private:
    static std::shared_ptr<lock_state> find(dev_t device, ino_t inode);
    lock_state(int own_fd, bool writable, dev_t device, ino_t inode, std::string name);
    void apply(off_t offset, short type, lock_subject what);
    void release(off_t offset);
    void adopt_writable(int fd);
    void close_parked();

    std::recursive_mutex mutex_;
    int fd_;
    bool writable_;
    dev_t device_;
    ino_t inode_;
    std::uint64_t generation_;
    std::string name_;
    int group_depth_ = 0;
    std::unordered_map<off_t, std::vector<lock_kind>> held_;
    std::vector<off_t> deferred_;
    std::vector<int> parked_;
};

} // namespace netshm::core
