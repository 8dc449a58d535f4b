// Writing a new, empty table into an object: creation, re-initialisation,
// and a recovery finishing a re-initialisation whose writer died.
#pragma once

#include "shm/shm_object.hpp"

#include <cstdint>

namespace netshm::core {

// The hint of a table for about `init` keys (the default if init < 0);
// errc::too_big if its hash table would not fit the format.
long long init_hint(long long init, int words_per_page, const std::string &name);

// Throws errc::exists, writing nothing, unless the object is empty, its
// first 16 bytes are the file magic (a table, sound or damaged) or zero, or
// it holds an unfinished table (unfinished_table.hpp: the magic is written
// last).  Anything else is somebody's data that a new table would
// overwrite; the caller consents by emptying the object first (O_TRUNC).
void refuse_foreign_content(const shm_object &object);

// Wipes the object (never shrinking it: others may map it) and writes an
// empty table for about `hint` keys with descriptor page 1, the master magic
// last so that nobody takes a half-written table for a valid one.  With
// `keep_lock_area`, words 5-39 of page 0 stay: the writer holds the mutex
// stored there, and optimistic readers read along.  Returns the table's
// page count.
std::int64_t write_new_table_image(shm_object &object, int words_per_page, long long hint, bool keep_lock_area);

} // namespace netshm::core
