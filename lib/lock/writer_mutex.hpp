// The writer mutex of NETSHM_MUTEX_LOCKING as this process holds it: the lock
// area of one object, shared by every mutex-locking table of the object in
// the process, with the nesting of holds counted here (doc/locking.md,
// "Writers").  The mutex is error-checking and per thread, while holds nest
// across the tables and operations of the one thread that owns the object's
// lock_state mutex: counting them here means the mutex is locked once, and
// unlocked through the mapping that locked it (glibc's robust list keeps it by
// address).
#pragma once

#include "lock/lock_area.hpp"
#include "shm/lock_state.hpp"
#include "util/function_ref.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace netshm::core {

class writer_mutex {
public:
    // The writer mutex of the file `state` belongs to, made on first use over
    // page 0 of `fd` (open for writing, holding at least the lock area).
    // Requires the state's mutex.
    static std::shared_ptr<writer_mutex> of(lock_state &state, int fd);

    writer_mutex(const writer_mutex &) = delete;
    writer_mutex &operator=(const writer_mutex &) = delete;
    // Unlocks a mutex still held (a table destroyed inside a group) before
    // page 0 is unmapped: the kernel cannot mark a mutex dead in an unmapped
    // page, and the next process would wait for ever.
    ~writer_mutex();

    lock_area &area() noexcept { return area_; }

    // Repairs the table after a writer died (or failed) in the middle of a
    // write: the table layer's recover_interrupted_write.
    using recovery = function_ref<void(lock_area &)>;

    // These require the state's mutex.
    // One more hold; the first locks the mutex and, if the previous holder
    // left a write unfinished (the counter odd or an intent recorded), runs
    // `recover` first.  A table marked corrupt (also by that recovery) and a
    // lock area wiped by a process that does not use mutex locking are
    // errc::corrupt, with nothing held.  A first hold waits at most `limit`
    // for the mutex (0: for ever), then errc::timed_out.
    void acquire(recovery recover, lock_wait limit);
    // acquire for a repair, which rebuilds the table whatever state it is
    // in: a failed recovery or a corrupt mark does not refuse the hold (the
    // repair clears both in page 0 once it succeeded).
    void acquire_for_repair(recovery recover, lock_wait limit);
    // One hold less; the last makes the sequence counter even again if a
    // write made it odd and finished (a mutation whose undo failed leaves it
    // odd and its intent recorded, for the next holder), then unlocks the mutex.
    void release();
    // Makes the sequence counter odd until the last hold is released: what
    // readers see is being changed.  Requires a hold.
    void begin_write() noexcept;
    bool held() const noexcept { return depth_ > 0; }

private:
    writer_mutex(int fd, std::string name) : area_(fd, name), name_(std::move(name)) {}
    void hold(recovery recover, bool for_repair, lock_wait limit);
    void lock_fresh(recovery recover, bool for_repair, lock_wait limit);

    lock_area area_;
    std::string name_;
    int depth_ = 0;
    bool writing_ = false;
    std::uint64_t generation_ = fork_generation();
};

} // namespace netshm::core
