// Finds the page size of an existing table from the position of its
// descriptor page (OCamlnet stores the page size nowhere).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netshm::core {

// `words` maps the whole object of `size` bytes.  requested = 0: the page size
// whose descriptor page is valid (errc::invalid if several are).  Otherwise
// `requested` if valid; throws errc::invalid naming the real page size if
// another one is valid, and errc::corrupt describing the problem if none is.
unsigned detect_pagesize(const std::int32_t *words, std::uint64_t size, unsigned requested,
                         const std::string &name);

// The page sizes at which descriptor page `d` (page 0 names it) starts
// with the descriptor magic, valid or not, smallest first: the tables the
// object may hold, and where their writers lock them.
std::vector<unsigned> pagesizes_with_descriptor_magic(const std::int32_t *words, std::uint64_t size, std::int32_t d);

} // namespace netshm::core
