// Recovery from a writer that died (or failed) in the middle of a mutation
// with mutex locking (doc/locking.md, "Recovery when a writer dies").
#pragma once

#include "lock/lock_area.hpp"
#include "shm/shm_object.hpp"

namespace netshm::core {

// Undoes the mutation the intent record of `area` names (finishes a hash
// resize past its first pass, or a re-initialisation), checks the whole
// table, and clears the record; the sequence counter is the caller's.
// `pagesize` is the table's, for a record naming no operation.  Requires the
// writer mutex, or being the only mutex-locking process.  Every step can be
// repeated, so a recoverer that dies leaves the work to the next one.
// Damage it cannot repair, including a record that makes no sense for the
// table, marks the area corrupt and is errc::corrupt; any other failure
// leaves the record for the next one.
void recover_interrupted_write(shm_object &object, lock_area &area, unsigned pagesize);

// "add", "hash resize (rehash)", ... for messages.
const char *operation_name(layout::intent_op op) noexcept;

} // namespace netshm::core
