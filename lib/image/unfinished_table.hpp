// An object whose table was begun and never finished: a creator (or a
// re-initialiser) stopped before it wrote page 0's magic, which it writes
// last (doc/format.md, "Re-initialisation and creation").
#pragma once

#include "shm/shm_object.hpp"

#include <cstdint>

namespace netshm::core {

// Whether the `size` bytes of `words` are exactly what a table's creation
// leaves before its last store, so that creating a table there loses
// nothing: page 0's magic incomplete, and every word zero except
// - page 0's words 0-4, each zero or what a table holds there (a prefix of
//   the magic, after the descriptor page number 1),
// - the lock area of mutex locking (page 0's words 5-39), if its magic is set,
// - the first words of one descriptor page for page size P, which begin
//   with the descriptor magic at byte P (the first store of the descriptor,
//   which must be there: before it, the object is all zero).
// A foreign file is never taken for one: it would have to be all zero but
// for a netshm descriptor page's words.
bool is_unfinished_table(const std::int32_t *words, std::uint64_t size);

// Whether every byte is zero: no table, or a creation that stopped before
// its first store; only init >= 0 creates a table there (the object may be
// anybody's).
bool is_all_zero(const std::int32_t *words, std::uint64_t size);

// The same for the object as it is now.
bool holds_unfinished_table(const shm_object &object);

} // namespace netshm::core
