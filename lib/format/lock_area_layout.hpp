// The lock area of NETSHM_MUTEX_LOCKING: words 5-39 of page 0, which format 1
// leaves unused and OCamlnet never reads (doc/locking.md).  The smallest page
// (160 bytes, 40 words) holds all of it.
#pragma once

#include "format/layout.hpp"

#include <cstddef>
#include <cstdint>
#include <pthread.h>

namespace netshm::core::layout {

// 0 in that word means page 0 was never used in mutex mode.
constexpr std::int32_t lock_area_magic = word(0x4E534D58);

enum lock_area_word : int {
    la_magic = 5,
    la_mutex = 6,  // through 17: a pthread_mutex_t
    la_sequence = 18,
    la_state = 19,
    la_intent_op = 20,
    la_intent_key = 21,
    la_snapshot = 22,   // snapshot_words words
    la_cell = 29,       // index, old key, old ptr
    la_allocated = 32,  // first page, page count, free head after taking it
    la_freed = 35,      // first page, page count
    la_reinit_hint = 37, // low 32 bits, then high 32 bits
    la_intent_pagesize = 39,
    la_end = 40,
};

// The descriptor words saved before an operation, from la_snapshot: total
// pages, hash size, claimed cells, bindings, free head, free count, number of
// hash extents.
constexpr int snapshot_words = 7;

// Values of la_intent_op: the operation in flight and, for a resize, its
// pass (the recovery undoes the first and finishes the second).  In the
// second pass la_cell holds 1 once every spare cell was copied over its
// primary (the spares are being zeroed), else 0.
enum class intent_op : std::int32_t {
    none = 0,
    add = 1,
    replace = 2,
    remove = 3,
    resize_rehash = 4,
    resize_copy = 5,
    reinitialise = 6,
};
constexpr std::int32_t intent_op_last = static_cast<std::int32_t>(intent_op::reinitialise);
// "add", "hash resize (rehash)", ... for messages.
constexpr const char *operation_name(intent_op op) noexcept
{
    switch (op) {
    case intent_op::none: return "no recorded operation";
    case intent_op::add: return "add";
    case intent_op::replace: return "replace";
    case intent_op::remove: return "remove";
    case intent_op::resize_rehash: return "hash resize (rehash)";
    case intent_op::resize_copy: return "hash resize (copy)";
    case intent_op::reinitialise: return "re-initialisation";
    }
    return "unknown operation";
}
// la_cell in the second pass of a resize once the spares are copied.
constexpr std::int32_t resize_spares_copied = 1;

// Values of la_state.
constexpr std::int32_t lock_area_consistent = 0;
constexpr std::int32_t lock_area_corrupt = 1;

constexpr std::size_t lock_area_mutex_offset = la_mutex * sizeof(std::int32_t);
constexpr std::size_t lock_area_mutex_bytes = (la_sequence - la_mutex) * sizeof(std::int32_t);
constexpr std::size_t lock_area_end_bytes = la_end * sizeof(std::int32_t);

static_assert(lock_area_mutex_offset == 24 && lock_area_mutex_bytes == 48);
static_assert(la_snapshot + snapshot_words == la_cell);
static_assert(lock_area_end_bytes <= min_pagesize, "the lock area must fit in the smallest page");
static_assert(master_words_used <= la_magic, "the lock area starts after the master words");
// Page 0 is mapped at a system-page boundary, so byte 24 is 8-aligned.
static_assert(sizeof(pthread_mutex_t) <= lock_area_mutex_bytes && alignof(pthread_mutex_t) <= 8,
              "this platform's pthread_mutex_t does not fit the lock area");

} // namespace netshm::core::layout
