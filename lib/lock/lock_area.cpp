#include "lock/lock_area.hpp"

#include "util/error.hpp"
#include "util/shared_words.hpp"

#include <array>
#include <cerrno>
#include <fmt/format.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

namespace netshm::core {
namespace {

using namespace layout;

// The fields of an intent record, words la_intent_key .. la_intent_pagesize.
constexpr int intent_field_words = la_end - la_intent_key;
using intent_words = std::array<std::int32_t, intent_field_words>;

intent_words to_words(const intent &record)
{
    const descriptor_snapshot &s = record.snapshot;
    const auto hint = static_cast<std::uint64_t>(record.reinit_hint);
    return {record.key,
            s.total_pages, s.hash_size, s.claimed_cells, s.bindings, s.free_head, s.free_count, s.extents,
            record.cell_index, record.cell_old_key, record.cell_old_ptr,
            record.allocated_first, record.allocated_count, record.free_head_after,
            record.freed_first, record.freed_count,
            static_cast<std::int32_t>(static_cast<std::uint32_t>(hint)),
            static_cast<std::int32_t>(static_cast<std::uint32_t>(hint >> 32)),
            record.pagesize};
}

intent from_words(intent_op op, const intent_words &w)
{
    const auto low = static_cast<std::uint32_t>(w[16]);
    const auto high = static_cast<std::uint32_t>(w[17]);
    return intent{op,
                  w[0],
                  descriptor_snapshot{w[1], w[2], w[3], w[4], w[5], w[6], w[7]},
                  w[8], w[9], w[10],
                  w[11], w[12], w[13],
                  w[14], w[15],
                  static_cast<std::int64_t>((std::uint64_t{high} << 32) | low),
                  w[18]};
}

std::size_t system_page_size()
{
    long size = ::sysconf(_SC_PAGESIZE);
    return size > 0 ? static_cast<std::size_t>(size) : 4096;
}

// Touching a mapped page beyond the end of the object would be SIGBUS.
int checked_fd(int fd, const std::string &name)
{
    struct stat st;
    if (::fstat(fd, &st) != 0)
        throw_system(errno, "fstat", name);
    if (st.st_size < static_cast<off_t>(lock_area_end_bytes))
        throw_invalid(fmt::format("lock area of {}: the object has {} bytes, less than page 0's lock area", name,
                                  st.st_size));
    return fd;
}

} // namespace

lock_area::lock_area(int fd, std::string name, bool writable)
    : name_(std::move(name)), writable_(writable), page_(checked_fd(fd, name_), system_page_size(), writable, name_)
{
}

pthread_mutex_t *lock_area::mutex() const noexcept
{
    return reinterpret_cast<pthread_mutex_t *>(reinterpret_cast<char *>(page_.words()) + lock_area_mutex_offset);
}

void lock_area::initialise()
{
    shared::set_up(word(la_magic), 0);
    pthread_mutexattr_t attributes;
    if (int rc = ::pthread_mutexattr_init(&attributes); rc != 0)
        throw_system(rc, "pthread_mutexattr_init for the lock area of", name_);
    int rc = ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    // Error checking: a thread locking twice gets EDEADLK instead of hanging.
    if (rc == 0)
        rc = ::pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0)
        rc = ::pthread_mutex_init(mutex(), &attributes);
    ::pthread_mutexattr_destroy(&attributes);
    if (rc != 0)
        throw_system(rc, "pthread_mutex_init in the lock area of", name_);
    shared::set_up(word(la_sequence), 0);
    shared::set_up(word(la_state), lock_area_consistent);
    for (int w = la_intent_op; w < la_end; ++w)
        shared::set_up(word(w), 0);
    shared::set_up_last(word(la_magic), lock_area_magic);
}

bool lock_area::is_initialised() const noexcept
{
    return shared::load_acquire(word(la_magic)) == lock_area_magic;
}

namespace {

// An absolute CLOCK_MONOTONIC time `limit` from now (a change of the wall
// clock neither shortens nor lengthens the wait).
timespec monotonic_deadline(lock_wait limit)
{
    timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(limit).count() + now.tv_nsec;
    now.tv_sec += static_cast<time_t>(nanos / 1'000'000'000);
    now.tv_nsec = static_cast<long>(nanos % 1'000'000'000);
    return now;
}

} // namespace

bool lock_area::lock(lock_wait limit)
{
    int rc;
    if (limit.count() == 0) {
        rc = ::pthread_mutex_lock(mutex());
    } else {
        const timespec deadline = monotonic_deadline(limit);
        rc = ::pthread_mutex_clocklock(mutex(), CLOCK_MONOTONIC, &deadline);
        if (rc == ETIMEDOUT)
            throw error(errc::timed_out, fmt::format("writer mutex of {}: the lock wait timed out after {} ms",
                                                     name_, limit.count()));
    }
    if (rc == 0)
        return false;
    if (rc == EOWNERDEAD)
        return true;
    if (rc == ENOTRECOVERABLE)
        throw error(errc::corrupt,
                    fmt::format("lock area of {}: the writer mutex is unrecoverable (a process released it "
                                "without recovering from a dead writer)",
                                name_),
                    rc);
    throw_system(rc, "pthread_mutex_lock in the lock area of", name_);
}

void lock_area::mark_consistent()
{
    if (int rc = ::pthread_mutex_consistent(mutex()); rc != 0)
        throw_system(rc, "pthread_mutex_consistent in the lock area of", name_);
}

void lock_area::unlock()
{
    if (int rc = ::pthread_mutex_unlock(mutex()); rc != 0)
        throw_system(rc, "pthread_mutex_unlock in the lock area of", name_);
}

void lock_area::begin_write() noexcept
{
    std::uint32_t current = sequence();
    if (stable(current))
        shared::store(word(la_sequence), sequence_word(current + 1));
    // The odd value is ordered before every store of the write: a reader that
    // sees one of those stores, then fences, sees the counter changed.
    // (ThreadSanitizer does not model fences, and warns so at compile time;
    // it has nothing to report here, since every shared access is atomic.)
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

void lock_area::end_write() noexcept
{
    std::uint32_t current = sequence();
    if (!stable(current))
        shared::publish(word(la_sequence), sequence_word(current + 1));
}

std::uint32_t lock_area::read_begin() const noexcept
{
    return static_cast<std::uint32_t>(shared::load_acquire(word(la_sequence)));
}

bool lock_area::read_validate(std::uint32_t begun) const noexcept
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return sequence() == begun;
}

bool lock_area::is_corrupt() const noexcept
{
    return shared::load_acquire(word(la_state)) != lock_area_consistent;
}

void lock_area::set_corrupt(bool corrupt) noexcept
{
    shared::publish(word(la_state), corrupt ? lock_area_corrupt : lock_area_consistent);
}

void lock_area::write_intent(const intent &record) noexcept
{
    const intent_words fields = to_words(record);
    shared::publish_record(word(la_intent_key), fields.data(), fields.size(), word(la_intent_op),
                           static_cast<std::int32_t>(record.op));
}

void lock_area::clear_intent() noexcept
{
    shared::publish(word(la_intent_op), static_cast<std::int32_t>(intent_op::none));
    // Only the writer stores the fields, and nobody reads them once the tag is none.
    shared::zero_unraced(word(la_intent_key), intent_field_words * sizeof(std::int32_t));
}

bool lock_area::in_flight() const noexcept
{
    return shared::load_acquire(word(la_intent_op)) != static_cast<std::int32_t>(intent_op::none);
}

std::int32_t lock_area::intent_pagesize() const noexcept
{
    return shared::load(word(la_intent_pagesize));
}

intent lock_area::read_intent() const
{
    const std::int32_t op = shared::load_acquire(word(la_intent_op));
    if (op < 0 || op > intent_op_last)
        throw error(errc::corrupt,
                    fmt::format("lock area of {} (page 0): the intent record names unknown operation {}", name_, op));
    intent_words fields;
    shared::copy_out(fields.data(), word(la_intent_key), fields.size());
    return from_words(static_cast<intent_op>(op), fields);
}

} // namespace netshm::core
