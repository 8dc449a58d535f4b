// The lock area of NETSHM_MUTEX_LOCKING in page 0 of an object: the writer
// mutex, the sequence counter of optimistic readers, the state and the intent
// record (doc/locking.md, layout in format/lock_area_layout.hpp).  With
// record locking a table uses only the intent record of one (its mutex
// words untouched, its initialise() and lock() never called).
//
// It has its own MAP_SHARED mapping of the object's first system page, kept
// at one address while it lives: glibc keeps a held robust mutex on the
// thread's robust list by address, and the kernel walks that list when the
// thread dies (so unlock before destroying it: once the page is unmapped, a
// dying holder leaves the mutex locked for good).  Every shared word is
// accessed through util/shared_words.hpp, so readers racing a writer are free
// of data races; every value read back is untrusted.
#pragma once

#include "format/lock_area_layout.hpp"
#include "shm/lock_state.hpp"
#include "shm/mapping.hpp"
#include "util/shared_words.hpp"

#include <cstdint>
#include <pthread.h>
#include <string>

namespace netshm::core {

struct descriptor_snapshot {
    std::int32_t total_pages = 0;
    std::int32_t hash_size = 0;
    std::int32_t claimed_cells = 0;
    std::int32_t bindings = 0;
    std::int32_t free_head = 0;
    std::int32_t free_count = 0;
    std::int32_t extents = 0;
};

// What a mutation is about to do, written before its first store so that a
// process finding the writer dead can undo (or finish) it.
struct intent {
    layout::intent_op op = layout::intent_op::none;
    std::int32_t key = 0;
    descriptor_snapshot snapshot;
    std::int32_t cell_index = 0;
    std::int32_t cell_old_key = 0;
    std::int32_t cell_old_ptr = 0;
    std::int32_t allocated_first = 0;
    std::int32_t allocated_count = 0;
    std::int32_t free_head_after = 0;
    std::int32_t freed_first = 0;
    std::int32_t freed_count = 0;
    std::int64_t reinit_hint = 0;
    // The table's page size in bytes: a re-initialisation in flight may have
    // wiped the descriptor it could be detected from.
    std::int32_t pagesize = 0;
};

class lock_area {
public:
    // Maps page 0 of `fd`, which must hold at least the lock area; `name` is
    // for messages.  Read-only (`writable` false), the area only serves
    // optimistic readers: the mutex and every store need write access.
    lock_area(int fd, std::string name, bool writable = true);
    lock_area(const lock_area &) = delete;
    lock_area &operator=(const lock_area &) = delete;

    // Only while no process uses the area (the first holder of the mutex
    // presence, under the setup lock, after recovering an operation in
    // flight): a new robust process-shared mutex, counter 0, state
    // consistent, no intent, and the magic last.
    void initialise();
    bool is_initialised() const noexcept;
    bool writable() const noexcept { return writable_; }

    // Locks the writer mutex, waiting at most `limit` (0: for ever; then
    // errc::timed_out); true when its previous owner died holding it: the
    // caller recovers, then calls mark_consistent() before unlock().  A mutex
    // left unrecoverable is errc::corrupt.
    [[nodiscard]] bool lock(lock_wait limit);
    void mark_consistent();
    void unlock();

    // The sequence counter.  Writers (holding the mutex) make it odd before
    // their first store and even after their last; both are idempotent, so a
    // group keeps it odd across its mutations.
    void begin_write() noexcept;
    void end_write() noexcept;
    // Readers: read_begin() before reading (odd: a writer is at work), then
    // read_validate() after: false when a writer may have changed what was read.
    std::uint32_t read_begin() const noexcept;
    bool read_validate(std::uint32_t begun) const noexcept;
    static bool stable(std::uint32_t sequence) noexcept { return (sequence & 1u) == 0; }

    // Any value but consistent counts as corrupt.
    bool is_corrupt() const noexcept;
    void set_corrupt(bool corrupt) noexcept;

    // Fields first, the operation word last (release): a reader of the
    // operation word sees the fields it covers.  `record.op` is not none.
    void write_intent(const intent &record) noexcept;
    // The operation word first, then the fields zeroed: a table no write is
    // in flight on holds zeros there, as format 1 (and OCamlnet's files,
    // byte for byte) has them.
    void clear_intent() noexcept;
    // Whether the operation word names an operation (read once, acquire).
    bool in_flight() const noexcept;
    // The record as stored; an operation word this library never writes is
    // errc::corrupt (the caller cannot undo what it cannot name).  The other
    // fields are unchecked: page numbers are for the caller to validate
    // against the table.
    intent read_intent() const;
    // The record's page size word alone (read once): the page size whose
    // descriptor lock its writer holds, unchecked.
    std::int32_t intent_pagesize() const noexcept;

private:
    std::int32_t *word(int index) const noexcept { return page_.words() + index; }
    // The sequence counter is an unsigned word: it wraps around.
    std::uint32_t sequence() const noexcept { return static_cast<std::uint32_t>(shared::load(word(layout::la_sequence))); }
    static std::int32_t sequence_word(std::uint32_t value) noexcept { return static_cast<std::int32_t>(value); }
    pthread_mutex_t *mutex() const noexcept;

    std::string name_;
    bool writable_;
    mapping page_;
};

} // namespace netshm::core
