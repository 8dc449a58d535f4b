// Finds the page size of an existing table from the position of its
// descriptor page (OCamlnet stores the page size nowhere).
#pragma once

#include <cstdint>
#include <string>

namespace netshm::core {

// `words` maps the whole object of `size` bytes.  requested = 0: the page size
// whose descriptor page is valid (errc::invalid if several are).  Otherwise
// `requested` if valid; throws errc::invalid naming the real page size if
// another one is valid, and errc::corrupt describing the problem if none is.
unsigned detect_pagesize(const std::int32_t *words, std::uint64_t size, unsigned requested,
                         const std::string &name);

} // namespace netshm::core
