// Repair of a table whose index, counters or free list a killed writer (or
// damage) left wrong: the index and the free list rebuilt from the content
// pages (doc/guide.md, "After a crash"; doc/format.md, "Repair").
#pragma once

#include <cstdint>
#include <string>

namespace netshm::core {

struct repair_report {
    // Bindings reachable from the hash index and intact, kept in their order.
    std::uint64_t bindings_kept = 0;
    // Bindings the index (or an older-binding link) led to that were damaged,
    // or that an unreadable link named: gone.
    std::uint64_t bindings_dropped = 0;
    // Pages put on the free list that its sound part did not hold before:
    // lost pages, the pages of bindings never committed, of dropped bindings.
    std::uint64_t pages_reclaimed = 0;
};

// Repairs the table in the writable mapping `words` of the whole object
// (`bytes` bytes, pages of `words_per_page` words, descriptor page
// `descriptor_page`; `name` for messages).  The caller holds the exclusive
// lock.  A table check_image finds sound is left as it is, byte for byte.
// The descriptor's structure (magic, total pages, hash size, extents) must be
// sound: it is what every page is found by, and damage there is errc::corrupt
// with nothing changed.  Killed at any store, it leaves a table that a repair
// repairs again with the same bindings kept (the order is in repair.cpp).
repair_report repair_image(std::int32_t *words, std::uint64_t bytes, int words_per_page,
                           std::int32_t descriptor_page, const std::string &name);

} // namespace netshm::core
