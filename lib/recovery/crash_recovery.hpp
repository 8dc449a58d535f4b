// Recovery from a writer that died (or failed) in the middle of a mutation
// with mutex or record locking (doc/locking.md, "Recovery when a writer
// dies", "Stale intents").
#pragma once

#include "lock/lock_area.hpp"
#include "shm/shm_object.hpp"

namespace netshm::core {

// Undoes the mutation the intent record of `area` names (finishes a hash
// resize past its first pass, or a re-initialisation), checks the whole
// table, and clears the record; the sequence counter is the caller's.
// A record the table no longer matches (a writer that knows nothing of it
// changed the table since) is cleared, not applied, and the table checked.
// `pagesize` is the table's, for a record naming no operation.  Requires the
// writer mutex, or being the only mutex-locking process, or with record
// locking the descriptor page's write lock.  Every step can be
// repeated, so a recoverer that dies leaves the work to the next one.
// Damage it cannot repair, including a record that makes no sense for the
// table, marks the area corrupt and is errc::corrupt; any other failure
// leaves the record for the next one.
void recover_interrupted_write(shm_object &object, lock_area &area, unsigned pagesize);

} // namespace netshm::core
