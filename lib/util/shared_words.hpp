// Every access to a word of shared memory, in one place: one atomic access a
// word, so that readers racing a writer (mutex locking's optimistic readers,
// a check of a live table) are free of data races, and every store passes
// the test-only crash point (util/store_hook.hpp).  A word read from shared
// memory is untrusted: read it once into a local, validate, then use it.
#pragma once

#include "util/store_hook.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace netshm::core::shared {

inline std::int32_t load(const std::int32_t *word) noexcept { return __atomic_load_n(word, __ATOMIC_RELAXED); }
// Sees every store made before the matching publish().
inline std::int32_t load_acquire(const std::int32_t *word) noexcept
{
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

inline void store(std::int32_t *word, std::int32_t value) noexcept
{
    testing::before_shared_store();
    __atomic_store_n(word, value, __ATOMIC_RELAXED);
}
// A store that makes what was stored before it visible with it: a reader
// that loads it with load_acquire, or a process that finds the writer killed
// after it, sees all of that (program order).
inline void publish(std::int32_t *word, std::int32_t value) noexcept
{
    testing::before_shared_store();
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

// Stores `count` fields, then `tag` last: a reader that loads the tag with
// load_acquire sees the fields it covers.  One crash point for the record.
// Only the writer (the one holder of its lock) stores the fields and nobody
// reads them before the tag, so they go in with memcpy (a record of 19
// words: about 80 instructions fewer than word by word, callgrind).
inline void publish_record(std::int32_t *fields, const std::int32_t *values, std::size_t count, std::int32_t *tag,
                           std::int32_t tag_value) noexcept
{
    testing::before_shared_store();
    std::memcpy(fields, values, count * sizeof(std::int32_t));
    __atomic_store_n(tag, tag_value, __ATOMIC_RELEASE);
}

// Stores that set up words no other process uses yet (the lock area, by the
// first process of mutex locking): no crash point; set_up_last publishes.
inline void set_up(std::int32_t *word, std::int32_t value) noexcept { __atomic_store_n(word, value, __ATOMIC_RELAXED); }
inline void set_up_last(std::int32_t *word, std::int32_t value) noexcept
{
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

// Runs of words: one crash point for the run, one atomic access a word.
inline void zero(std::int32_t *words, std::size_t count) noexcept
{
    testing::before_shared_store();
    for (std::size_t i = 0; i < count; ++i)
        __atomic_store_n(words + i, 0, __ATOMIC_RELAXED);
}
// Zeroes `bytes` bytes no reader can race (an object may end in a partial
// word, which no reader reads as one).
inline void zero_unraced(void *start, std::size_t bytes) noexcept
{
    testing::before_shared_store();
    std::memset(start, 0, bytes);
}
inline void copy_in(std::int32_t *target, const std::int32_t *source, std::size_t count) noexcept
{
    testing::before_shared_store();
    for (std::size_t i = 0; i < count; ++i)
        __atomic_store_n(target + i, source[i], __ATOMIC_RELAXED);
}
// copy_in for a writer no reader can race (record locking, no locking, a
// table nobody else has mapped yet): memcpy, about 9 instructions a word
// cheaper (callgrind).
inline void copy_in_unraced(std::int32_t *target, const std::int32_t *source, std::size_t count) noexcept
{
    testing::before_shared_store();
    std::memcpy(target, source, count * sizeof(std::int32_t));
}
inline void copy_out(std::int32_t *target, const std::int32_t *source, std::size_t count) noexcept
{
    for (std::size_t i = 0; i < count; ++i)
        target[i] = __atomic_load_n(source + i, __ATOMIC_RELAXED);
}
// copy_out under a lock that keeps every writer out.
inline void copy_out_unraced(std::int32_t *target, const std::int32_t *source, std::size_t count) noexcept
{
    if (count > 0)
        std::memcpy(target, source, count * sizeof(std::int32_t));
}

// The words of a mapped object addressed by page and word.
struct pages {
    std::int32_t *base;
    int words_per_page;

    std::int32_t *at(std::int64_t page, int word) const noexcept { return base + page * words_per_page + word; }
    std::int32_t load(std::int64_t page, int word) const noexcept { return shared::load(at(page, word)); }
    void store(std::int64_t page, int word, std::int32_t value) const noexcept { shared::store(at(page, word), value); }
};

} // namespace netshm::core::shared
