// Who has a table open, and with which locking method: fcntl read locks on
// bytes far beyond any page lock, held while a table is open, so that mutex
// locking and record locking are never used on one object at once
// (doc/locking.md, "Who has the table open").  The kernel drops a dead
// process's locks, so a crash never leaves an object refused.
#pragma once

#include "shm/lock_state.hpp"
#include "shm/shm_object.hpp"
#include "util/function_ref.hpp"

#include <sys/types.h>

#include <cstdint>
#include <memory>

namespace netshm::core {

// Pages × W stays below 2^50; OCamlnet never locks there.
constexpr off_t setup_byte = off_t{1} << 62;
constexpr off_t mutex_presence_byte = setup_byte + 1;
constexpr off_t record_presence_byte = setup_byte + 2;

class presence {
public:
    // This process's presence with record locking.  errc::busy when a
    // process, this one included, has the object open with mutex locking.
    static presence record_locking(std::shared_ptr<lock_state> state);
    // This process's presence with mutex locking.  errc::busy when a process,
    // this one included, has the object open with record locking.  When no
    // process (this one included) had it open with mutex locking,
    // `initialise_lock_area` runs first, while the setup lock keeps every
    // other process out; if it throws, nothing is held.
    static presence mutex_locking(std::shared_ptr<lock_state> state, function_ref<void()> initialise_lock_area);
    // The same for a descriptor open read-only, which cannot take the setup
    // lock in write mode nor set up the lock area: when no process had it
    // open with mutex locking, `check_lock_area` runs first instead (it
    // throws unless earlier processes left the area set up and clean).
    static presence mutex_reading(std::shared_ptr<lock_state> state, function_ref<void()> check_lock_area);

    presence(presence &&other) noexcept;
    presence &operator=(presence &&other) noexcept;
    presence(const presence &) = delete;
    presence &operator=(const presence &) = delete;
    // Releases the presence, at once even inside a group.
    ~presence();

private:
    presence(std::shared_ptr<lock_state> state, off_t own, off_t other, lock_kind setup,
             function_ref<void()> *run_if_first);
    void release() noexcept;

    std::shared_ptr<lock_state> state_;
    off_t byte_ = 0;
    std::uint64_t generation_ = 0;
};

// Cuts `object` to 0 bytes (open's O_TRUNC) unless a process, this one
// included, has a table on it with record or mutex locking: their mappings
// would lose their pages, and their next access would die of SIGBUS.  Then
// errc::busy, and the object is left as it is.  The setup lock keeps new
// tables off meanwhile.  Processes holding no presence (tables with no
// locking, OCamlnet's processes) cannot be seen.
void truncate_unless_open(shm_object &object);

} // namespace netshm::core
