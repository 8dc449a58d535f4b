#include "lock/writer_mutex.hpp"

#include "core/error.hpp"

#include <fmt/format.h>

namespace netshm::core {

std::shared_ptr<writer_mutex> writer_mutex::of(lock_state &state, int fd)
{
    if (std::shared_ptr<writer_mutex> existing = state.writer.lock())
        return existing;
    std::shared_ptr<writer_mutex> made(new writer_mutex(fd, state.name()));
    state.writer = made;
    return made;
}

writer_mutex::~writer_mutex()
{
    // A child after fork holds nothing: the mutex is its parent's thread's.
    if (depth_ == 0 || generation_ != fork_generation())
        return;
    depth_ = 1;
    try {
        release();
    } catch (...) {
        // Nothing more to do in a destructor; the mutex stays locked.
    }
}

void writer_mutex::acquire()
{
    if (depth_ > 0) {
        ++depth_;
        return;
    }
    lock_fresh();
    depth_ = 1;
}

void writer_mutex::lock_fresh()
{
    // Zeroed words are a valid process-private mutex: never lock one.
    if (!area_.is_initialised())
        throw error(errc::corrupt, fmt::format("{}: the lock area of mutex locking in page 0 was wiped (by a "
                                               "process that does not use mutex locking?)",
                                               name_));
    if (area_.lock()) {
        // The previous holder died.  If it held the mutex only to read, the
        // counter is even and the table is as it left it.  If it was writing,
        // the table may be half changed: without crash recovery (stage 2) the
        // only safe course is to say so, for every process, until the table
        // is re-initialised.
        std::uint32_t sequence = area_.read_begin();
        if (!lock_area::stable(sequence))
            area_.set_corrupt(true);
        area_.mark_consistent();
    }
    if (area_.is_corrupt()) {
        area_.unlock();
        throw error(errc::corrupt, fmt::format("{}: a writer died while it changed the table under mutex "
                                               "locking; crash recovery is not implemented yet: re-initialise "
                                               "the table (netshm_manage with init >= 0, with no other "
                                               "mutex-locking process having it open)",
                                               name_));
    }
}

void writer_mutex::release()
{
    if (--depth_ > 0)
        return;
    if (writing_) {
        area_.end_write();
        writing_ = false;
    }
    area_.unlock();
}

void writer_mutex::begin_write() noexcept
{
    if (writing_)
        return;
    area_.begin_write();
    writing_ = true;
}

} // namespace netshm::core
