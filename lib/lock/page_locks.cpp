#include "lock/page_locks.hpp"

#include "util/error.hpp"

#include <exception>

namespace netshm::core {

void page_locks::lock(std::int32_t page, lock_kind kind)
{
    if (writer_) {
        writer_->acquire(recover_, state_->wait_limit());
        if (kind == lock_kind::write)
            writer_->begin_write();
        return;
    }
    if (enabled_)
        state_->lock(static_cast<off_t>(page) * words_per_page_, kind, lock_subject{"page", page});
}

void page_locks::lock_for_repair(std::int32_t page)
{
    if (writer_) {
        writer_->acquire_for_repair(recover_, state_->wait_limit());
        writer_->begin_write();
        return;
    }
    lock(page, lock_kind::write);
}

void page_locks::unlock(std::int32_t page)
{
    if (writer_)
        writer_->release();
    else if (enabled_)
        state_->unlock(static_cast<off_t>(page) * words_per_page_);
}

void page_locks::begin_group()
{
    state_->mutex().lock();
    if (writer_) {
        try {
            writer_->acquire(recover_, state_->wait_limit());
        } catch (...) {
            state_->mutex().unlock();
            throw;
        }
    }
    state_->begin_group();
    // The thread first: check_group_end reads them without the mutex.
    if (group_depth_ == 0)
        group_thread_ = std::this_thread::get_id();
    ++group_depth_;
}

void page_locks::check_group_end() const
{
    if (group_depth_ == 0)
        throw_invalid("group_end: no group is open");
    if (group_thread_ != std::this_thread::get_id())
        throw_invalid("group_end: the group was begun by another thread; only the thread that began a group "
                      "can end it");
}

void page_locks::end_group()
{
    check_group_end();
    --group_depth_;
    // The mutex is released even if releasing a lock failed.
    std::unique_lock<recursive_mutex> group_hold(state_->mutex(), std::adopt_lock);
    std::exception_ptr writer_failure;
    if (writer_) {
        try {
            writer_->release();
        } catch (...) {
            writer_failure = std::current_exception();
        }
    }
    state_->end_group();
    if (writer_failure)
        std::rethrow_exception(writer_failure);
}

void page_locks::end_all_groups() noexcept
{
    while (group_depth_ > 0 && group_thread_ == std::this_thread::get_id()) {
        try {
            end_group();
        } catch (...) {
            // Closing: the remaining locks go when the object's last descriptor closes.
        }
    }
}

} // namespace netshm::core
