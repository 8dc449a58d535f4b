#include "lock/page_locks.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>

namespace netshm::core {
namespace {

bool holds_write(const std::vector<lock_kind> &stack)
{
    return std::find(stack.begin(), stack.end(), lock_kind::write) != stack.end();
}

} // namespace

void page_locks::apply(int fd, std::int32_t page, short type)
{
    struct flock request {};
    request.l_type = type;
    request.l_whence = SEEK_SET;
    request.l_start = static_cast<off_t>(page) * words_per_page_;
    request.l_len = 1;
    while (::fcntl(fd, F_SETLKW, &request) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EDEADLK)
            throw error(errc::deadlock,
                        fmt::format("lock page {} of {}: deadlock detected", page, name_), EDEADLK);
        throw_system(errno, fmt::format("lock page {} of", page), name_);
    }
}

void page_locks::lock(int fd, std::int32_t page, lock_kind kind)
{
    if (!enabled_)
        return;
    auto found = held_.find(page);
    if (found == held_.end()) {
        apply(fd, page, kind == lock_kind::write ? F_WRLCK : F_RDLCK);
        held_[page].push_back(kind);
        return;
    }
    if (kind == lock_kind::write && !holds_write(found->second))
        apply(fd, page, F_WRLCK);
    found->second.push_back(kind);
}

void page_locks::unlock(int fd, std::int32_t page)
{
    if (!enabled_)
        return;
    if (group_depth_ > 0) {
        deferred_.push_back(page);
        return;
    }
    release(fd, page);
}

void page_locks::release(int fd, std::int32_t page)
{
    auto found = held_.find(page);
    if (found == held_.end())
        return;
    std::vector<lock_kind> &stack = found->second;
    lock_kind newest = stack.back();
    if (stack.size() == 1) {
        held_.erase(found);
        apply(fd, page, F_UNLCK);
        return;
    }
    stack.pop_back();
    if (newest == lock_kind::write && !holds_write(stack))
        apply(fd, page, F_RDLCK);
}

bool page_locks::end_group(int fd)
{
    if (group_depth_ == 0)
        return false;
    if (--group_depth_ > 0)
        return true;
    std::vector<std::int32_t> pages;
    pages.swap(deferred_);
    // Release newest first, so each page's stack unwinds in order; keep going
    // past a failure so that one bad release does not keep the others.
    std::exception_ptr first_failure;
    for (auto page = pages.rbegin(); page != pages.rend(); ++page) {
        try {
            release(fd, *page);
        } catch (...) {
            if (!first_failure)
                first_failure = std::current_exception();
        }
    }
    if (first_failure)
        std::rethrow_exception(first_failure);
    return true;
}

void page_locks::release_all(int fd) noexcept
{
    group_depth_ = 0;
    deferred_.clear();
    if (!enabled_ || fd < 0) {
        held_.clear();
        return;
    }
    for (const auto &[page, stack] : held_) {
        try {
            apply(fd, page, F_UNLCK);
        } catch (...) {
        }
    }
    held_.clear();
}

} // namespace netshm::core
