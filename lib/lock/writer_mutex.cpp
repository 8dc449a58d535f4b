#include "lock/writer_mutex.hpp"

#include "util/error.hpp"

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

void writer_mutex::acquire(recovery recover, lock_wait limit)
{
    hold(recover, false, limit);
}

void writer_mutex::acquire_for_repair(recovery recover, lock_wait limit)
{
    hold(recover, true, limit);
}

void writer_mutex::hold(recovery recover, bool for_repair, lock_wait limit)
{
    if (depth_ > 0) {
        ++depth_;
        return;
    }
    lock_fresh(recover, for_repair, limit);
    depth_ = 1;
}

void writer_mutex::lock_fresh(recovery recover, bool for_repair, lock_wait limit)
{
    // Zeroed words are a valid process-private mutex: never lock one.
    if (!area_.is_initialised())
        throw error(errc::corrupt, fmt::format("{}: the lock area of mutex locking in page 0 was wiped (by a "
                                               "process that does not use mutex locking?)",
                                               name_));
    bool owner_died = area_.lock(limit);
    // Nobody writes while the mutex is free: an odd counter or an intent
    // left recorded is a write that a dead (or failed) holder left unfinished.
    try {
        if (!area_.is_corrupt() && (!lock_area::stable(area_.read_begin()) || area_.in_flight())) {
            recover(area_);
            area_.end_write();
        }
    } catch (const error &e) {
        // The recovery marked the damage it found; a repair goes on and
        // rebuilds the table from its content pages.
        if (!for_repair || e.code() != errc::corrupt) {
            if (owner_died)
                area_.mark_consistent();
            area_.unlock();
            throw;
        }
    } catch (...) {
        if (owner_died)
            area_.mark_consistent();
        area_.unlock();
        throw;
    }
    if (owner_died)
        area_.mark_consistent();
    if (area_.is_corrupt() && !for_repair) {
        area_.unlock();
        throw error(errc::corrupt, fmt::format("{}: marked corrupt: a writer died while it changed the table "
                                               "under mutex locking, and its recovery found damage it cannot "
                                               "repair; re-initialise the table (netshm_manage with init >= 0, "
                                               "with no other mutex-locking process having it open)",
                                               name_));
    }
}

void writer_mutex::release()
{
    if (--depth_ > 0)
        return;
    if (writing_) {
        if (!area_.in_flight())
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
