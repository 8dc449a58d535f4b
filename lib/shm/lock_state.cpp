#include "shm/lock_state.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <pthread.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace netshm::core {
namespace {

std::atomic<std::uint64_t> generation{0};

// F_SETLK attempts on a byte another process holds before waiting for it in
// F_SETLKW (some 20 to 40 microseconds of retries).
constexpr int nonblocking_attempts = 16;

// With a wait limit, the pause between F_SETLK attempts on a byte another
// process holds: doubling from the first to the longest, so that a short hold
// costs little latency and a long one few system calls.
constexpr auto first_pause = std::chrono::microseconds(50);
constexpr auto longest_pause = std::chrono::milliseconds(5);

// Every live lock_state of this process, by device and inode.
struct registry_type {
    std::mutex mutex;
    std::map<std::pair<dev_t, ino_t>, std::weak_ptr<lock_state>> states;
};

registry_type &registry()
{
    // Never destroyed: states may outlive static destruction.
    static registry_type *instance = new registry_type;
    return *instance;
}

void before_fork() { registry().mutex.lock(); }
void after_fork_in_parent() { registry().mutex.unlock(); }
void after_fork_in_child()
{
    // The child holds none of the parent's locks: its handles start afresh.
    generation.fetch_add(1, std::memory_order_relaxed);
    registry().states.clear();
    registry().mutex.unlock();
}

void watch_forks()
{
    static std::once_flag once;
    std::call_once(once, [] {
        registry();
        if (int rc = ::pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child); rc != 0)
            throw_system(rc, "pthread_atfork", "for netshm");
    });
}

bool holds_write(const std::vector<lock_kind> &stack)
{
    return std::find(stack.begin(), stack.end(), lock_kind::write) != stack.end();
}

int duplicate(int fd, const std::string &name)
{
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
        throw_system(errno, "dup descriptor of", name);
    return copy;
}

} // namespace

std::uint64_t fork_generation() noexcept
{
    return generation.load(std::memory_order_relaxed);
}

lock_state::lock_state(int own_fd, bool writable, dev_t device, ino_t inode, std::string name)
    : fd_(own_fd), writable_(writable), device_(device), inode_(inode), generation_(fork_generation()),
      name_(std::move(name))
{
}

std::shared_ptr<lock_state> lock_state::find(dev_t device, ino_t inode)
{
    registry_type &r = registry();
    std::lock_guard<std::mutex> registry_lock(r.mutex);
    auto found = r.states.find({device, inode});
    return found != r.states.end() ? found->second.lock() : nullptr;
}

std::shared_ptr<lock_state> lock_state::of(int fd, bool writable, const std::string &name)
{
    watch_forks();
    struct stat st;
    if (::fstat(fd, &st) != 0)
        throw_system(errno, "fstat", name);
    std::shared_ptr<lock_state> state;
    {
        registry_type &r = registry();
        std::lock_guard<std::mutex> registry_lock(r.mutex);
        std::weak_ptr<lock_state> &slot = r.states[{st.st_dev, st.st_ino}];
        state = slot.lock();
        if (!state) {
            int own = duplicate(fd, name);
            state.reset(new lock_state(own, writable, st.st_dev, st.st_ino, name));
            slot = state;
            return state;
        }
    }
    // Never wait for a state's mutex (a group may hold it long) while holding
    // the registry's.
    if (writable) {
        std::lock_guard<recursive_mutex> state_lock(state->mutex_);
        if (!state->writable_)
            state->adopt_writable(fd);
    }
    return state;
}

void lock_state::close_inherited(int fd) noexcept
{
    // A descriptor from before a fork refers to a file the child may have
    // opened again and locked: closing it would drop those locks.
    struct stat st;
    std::shared_ptr<lock_state> current;
    if (::fstat(fd, &st) == 0)
        current = find(st.st_dev, st.st_ino);
    if (!current) {
        ::close(fd);
        return;
    }
    std::lock_guard<recursive_mutex> state_lock(current->mutex_);
    current->close_descriptor(fd);
}

lock_state::~lock_state()
{
    if (generation_ != fork_generation()) {
        for (int fd : parked_)
            close_inherited(fd);
        close_inherited(fd_);
        return;
    }
    {
        registry_type &r = registry();
        std::lock_guard<std::mutex> registry_lock(r.mutex);
        auto found = r.states.find({device_, inode_});
        if (found != r.states.end() && found->second.expired())
            r.states.erase(found);
    }
    for (int fd : parked_)
        ::close(fd);
    ::close(fd_);
}

void lock_state::adopt_writable(int fd)
{
    // Write locks need a descriptor open for writing.
    int writable_copy = duplicate(fd, name_);
    parked_.push_back(fd_);
    fd_ = writable_copy;
    writable_ = true;
    close_parked();
}

void lock_state::apply(off_t offset, short type, lock_subject what, off_t length)
{
    struct flock request {};
    request.l_type = type;
    request.l_whence = SEEK_SET;
    request.l_start = offset;
    request.l_len = length;
    if (type != F_UNLCK && wait_limit_.count() > 0) {
        apply_within(request, what);
        return;
    }
    // Holders keep a byte for microseconds.  Retrying at once costs less than
    // sleeping in F_SETLKW: the holder's unlock would have to wake this
    // process on another CPU, which costs both of them far more (most of the
    // time of two processes mixing finds and replaces went there).
    if (type != F_UNLCK) {
        for (int attempt = 0; attempt < nonblocking_attempts; ++attempt) {
            if (::fcntl(fd_, F_SETLK, &request) == 0)
                return;
            if (errno != EAGAIN && errno != EACCES)
                break;
        }
    }
    while (::fcntl(fd_, F_SETLKW, &request) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EDEADLK)
            throw error(errc::deadlock,
                        fmt::format("lock {} {} of {}: deadlock detected", what.unit, what.number, name_), EDEADLK);
        throw_system(errno, fmt::format("lock {} {} of", what.unit, what.number), name_);
    }
}

// F_SETLKW cannot give up, and interrupting it would need a signal handler,
// which a library must not install: so attempts, with pauses between them.
// No deadlock detection here (the kernel's is F_SETLKW's): a cycle of
// waiters ends when the first wait limit passes.
void lock_state::apply_within(::flock &request, lock_subject what)
{
    using clock = std::chrono::steady_clock;
    const clock::time_point deadline = clock::now() + wait_limit_;
    std::chrono::microseconds pause = first_pause;
    for (;;) {
        if (::fcntl(fd_, F_SETLK, &request) == 0)
            return;
        if (errno != EAGAIN && errno != EACCES && errno != EINTR)
            throw_system(errno, fmt::format("lock {} {} of", what.unit, what.number), name_);
        const clock::time_point now = clock::now();
        if (now >= deadline)
            throw error(errc::timed_out, fmt::format("lock {} {} of {}: the lock wait timed out after {} ms",
                                                     what.unit, what.number, name_, wait_limit_.count()));
        std::this_thread::sleep_for(std::min<clock::duration>(pause, deadline - now));
        pause = std::min<std::chrono::microseconds>(pause * 2, longest_pause);
    }
}

std::unique_lock<recursive_mutex> lock_state::hold_contended(lock_wait limit)
{
    if (limit.count() == 0)
        return std::unique_lock<recursive_mutex>(mutex_);
    std::unique_lock<recursive_mutex> held(mutex_, limit);
    if (!held.owns_lock())
        throw error(errc::timed_out, fmt::format("{}: the lock wait timed out after {} ms (another thread of this "
                                                 "process holds the object: a group or a long operation)",
                                                 name_, limit.count()));
    return held;
}

void lock_state::lock_range(off_t begin, off_t end, lock_subject what)
{
    apply(begin, F_WRLCK, what, end - begin);
}

void lock_state::unlock_range(off_t begin, off_t end)
{
    // Each byte held keeps its lock (set to its own state, which never
    // waits: it only keeps or lowers what the range gave it); the gaps
    // between them are released.
    std::vector<std::pair<off_t, bool>> kept;
    for (std::size_t slot = 0; slot < held_count_; ++slot)
        if (held_[slot].offset >= begin && held_[slot].offset < end)
            kept.emplace_back(held_[slot].offset, holds_write(held_[slot].stack));
    std::sort(kept.begin(), kept.end());
    off_t gap = begin;
    for (const auto &[offset, write] : kept) {
        if (offset > gap)
            apply(gap, F_UNLCK, lock_subject{"byte", gap}, offset - gap);
        apply(offset, write ? F_WRLCK : F_RDLCK, lock_subject{"byte", offset});
        gap = offset + 1;
    }
    if (gap < end)
        apply(gap, F_UNLCK, lock_subject{"byte", gap}, end - gap);
    if (held_count_ == 0)
        close_parked();
}

bool lock_state::others_hold(off_t offset, lock_kind kind, lock_subject what) const
{
    struct flock query {};
    query.l_type = kind == lock_kind::write ? F_WRLCK : F_RDLCK;
    query.l_whence = SEEK_SET;
    query.l_start = offset;
    query.l_len = 1;
    if (::fcntl(fd_, F_GETLK, &query) != 0)
        throw_system(errno, fmt::format("test lock {} {} of", what.unit, what.number), name_);
    return query.l_type != F_UNLCK;
}

std::size_t lock_state::find_held(off_t offset) const
{
    if (held_count_ > linear_search_limit) {
        auto found = held_index_.find(offset);
        return found != held_index_.end() ? found->second : npos;
    }
    for (std::size_t slot = 0; slot < held_count_; ++slot)
        if (held_[slot].offset == offset)
            return slot;
    return npos;
}

std::size_t lock_state::add_held(off_t offset)
{
    if (held_count_ == held_.size())
        held_.emplace_back();
    std::size_t slot = held_count_++;
    held_[slot].offset = offset;
    held_[slot].stack.clear();
    if (held_count_ == linear_search_limit + 1) {
        for (std::size_t i = 0; i < held_count_; ++i)
            held_index_.emplace(held_[i].offset, i);
    } else if (held_count_ > linear_search_limit + 1) {
        held_index_.emplace(offset, slot);
    }
    return slot;
}

void lock_state::drop_held(std::size_t slot)
{
    bool indexed = held_count_ > linear_search_limit;
    if (indexed)
        held_index_.erase(held_[slot].offset);
    std::size_t last = --held_count_;
    if (slot != last) {
        std::swap(held_[slot], held_[last]);
        if (indexed)
            held_index_[held_[slot].offset] = slot;
    }
    if (held_count_ == linear_search_limit)
        held_index_.clear();
}

void lock_state::lock(off_t offset, lock_kind kind, lock_subject what)
{
    std::size_t slot = find_held(offset);
    if (slot == npos) {
        apply(offset, kind == lock_kind::write ? F_WRLCK : F_RDLCK, what);
        held_[add_held(offset)].stack.push_back(kind);
        return;
    }
    std::vector<lock_kind> &stack = held_[slot].stack;
    if (kind == lock_kind::write && !holds_write(stack))
        apply(offset, F_WRLCK, what);
    stack.push_back(kind);
}

void lock_state::unlock(off_t offset)
{
    if (group_depth_ > 0) {
        deferred_.push_back(offset);
        return;
    }
    release(offset);
}

void lock_state::release(off_t offset)
{
    std::size_t slot = find_held(offset);
    if (slot == npos)
        return;
    std::vector<lock_kind> &stack = held_[slot].stack;
    lock_kind newest = stack.back();
    lock_subject what{"byte", offset};
    if (stack.size() == 1) {
        drop_held(slot);
        apply(offset, F_UNLCK, what);
        if (held_count_ == 0)
            close_parked();
        return;
    }
    stack.pop_back();
    if (newest == lock_kind::write && !holds_write(stack))
        apply(offset, F_RDLCK, what);
}

void lock_state::end_group()
{
    if (--group_depth_ > 0)
        return;
    // Sorted, the releases of one byte stand together.
    std::sort(deferred_.begin(), deferred_.end());
    // One call per byte: its final state, not every step to it.  Go on past
    // a failure so that one bad release does not keep the others.
    std::exception_ptr first_failure;
    for (auto run = deferred_.begin(); run != deferred_.end();) {
        off_t offset = *run;
        auto run_end = std::find_if(run, deferred_.end(), [offset](off_t other) { return other != offset; });
        auto count = static_cast<std::size_t>(run_end - run);
        run = run_end;
        std::size_t slot = find_held(offset);
        if (slot == npos)
            continue;
        std::vector<lock_kind> &stack = held_[slot].stack;
        bool held_write = holds_write(stack);
        try {
            if (count >= stack.size()) {
                drop_held(slot);
                apply(offset, F_UNLCK, lock_subject{"byte", offset});
            } else {
                stack.resize(stack.size() - count);
                if (held_write && !holds_write(stack))
                    apply(offset, F_RDLCK, lock_subject{"byte", offset});
            }
        } catch (...) {
            if (!first_failure)
                first_failure = std::current_exception();
        }
    }
    deferred_.clear();
    if (held_count_ == 0)
        close_parked();
    if (first_failure)
        std::rethrow_exception(first_failure);
}

void lock_state::close_descriptor(int fd)
{
    parked_.push_back(fd);
    close_parked();
}

void lock_state::close_parked()
{
    if (held_count_ != 0)
        return;
    for (int fd : parked_)
        ::close(fd);
    parked_.clear();
}

} // namespace netshm::core
