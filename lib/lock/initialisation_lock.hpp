// Creating and re-initialising a table with record locking: one lock that
// does not depend on the page size, so that two processes creating one new
// object with different page sizes (whose descriptor page locks lie at
// different bytes) queue instead of both writing a table, and a
// re-initialisation that excludes every reader and writer of the old table,
// whatever page size they lock it with (doc/locking.md, "Creating and
// re-initialising").
#pragma once

#include "lock/presence.hpp"
#include "shm/lock_state.hpp"

namespace netshm::core {

// Beside the presence bytes, far beyond any page lock.
constexpr off_t initialisation_byte = setup_byte + 3;

class initialisation_lock {
public:
    // Creating or re-initialising (the caller holds the state's mutex): the
    // initialisation byte in write mode, then every byte a page lock can use
    // ([0, setup_byte)) in write mode, which keeps out every holder of any
    // page lock, descriptor or binding, of this library or of OCamlnet.
    static initialisation_lock exclusive(lock_state &state);
    // Waiting until no process of this library creates or re-initialises the
    // object: the initialisation byte in read mode (a read-only descriptor
    // can take it).
    static initialisation_lock shared(lock_state &state);

    initialisation_lock(initialisation_lock &&other) noexcept;
    initialisation_lock(const initialisation_lock &) = delete;
    initialisation_lock &operator=(const initialisation_lock &) = delete;
    initialisation_lock &operator=(initialisation_lock &&) = delete;
    // Releases both at once, even inside a group: another table's group in
    // this process must not hold off every other process's netshm_manage.
    ~initialisation_lock();

private:
    initialisation_lock(lock_state &state, bool pages) : state_(&state), pages_(pages) {}

    lock_state *state_;
    bool pages_;
};

} // namespace netshm::core
