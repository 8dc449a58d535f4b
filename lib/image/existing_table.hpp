// What an object holds already: the page size and descriptor page of its
// table, read from a mapping of its own (manage, before a table handle exists).
#pragma once

#include "shm/shm_object.hpp"

#include <cstdint>
#include <vector>

namespace netshm::core {

// The page size of the table in `object` (detect_pagesize's rules for
// `requested`), and its descriptor page in `descriptor_page`.  errc::corrupt
// if the object holds no valid table.
unsigned detect_table(const shm_object &object, unsigned requested, std::int32_t &descriptor_page);

// Where the writers of the table in `object` lock it: the page sizes
// at which its descriptor page starts with the descriptor magic, and that
// page (0 and none when page 0 names none).
struct descriptor_candidates {
    std::int32_t page = 0;
    std::vector<unsigned> pagesizes;
};
descriptor_candidates find_descriptor_candidates(const shm_object &object);

// The page size of the table in `object` of `size` bytes, or the default if
// it holds none.
unsigned pagesize_or_default(const shm_object &object, std::uint64_t size);

} // namespace netshm::core
