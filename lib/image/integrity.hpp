// The integrity check of a table: the problems a full walk of the object
// finds, and the statistics it gathers on the way.
#pragma once

#include "format/problem_kind.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace netshm::core {

struct problem {
    problem_kind kind;
    std::int32_t page;  // -1: the object as a whole
    std::string message;  // names the page: "page 7: ..."
};

struct table_stats {
    std::uint32_t pagesize;
    std::uint64_t object_bytes;
    std::uint64_t total_pages;
    std::uint64_t free_pages;
    std::uint64_t hash_pages;
    std::uint64_t content_pages;
    std::uint64_t extents;
    std::uint64_t hash_cells;
    std::uint64_t claimed_cells;
    std::uint64_t bindings;
    std::uint64_t distinct_keys;
    std::uint64_t value_bytes;
    std::uint64_t longest_probe;
};

struct integrity_report {
    std::vector<problem> problems;  // in page order, the object as a whole first
    table_stats stats;  // meaningful only when there is no problem
};

// Walks an image of a whole object (`bytes` bytes at `words`, which may be
// null when there are fewer bytes than pages 0..descriptor_page hold) and
// accounts for every page.  Each word is read once into a local, validated,
// then used: a concurrent writer can make it report nonsense, but never make
// it read out of bounds or loop without end.
// With interrupted_writes::report, a write that a dead writer left
// unfinished (an intent record in page 0) and a table a recovery marked
// corrupt are problems too; a recovery checks the table it repaired before
// it clears the record, and ignores them.
enum class interrupted_writes { report, ignore };
integrity_report check_image(const std::int32_t *words, std::uint64_t bytes, int words_per_page,
                             std::int32_t descriptor_page,
                             interrupted_writes interrupted = interrupted_writes::report);

} // namespace netshm::core
