// Salvage's last resort for a descriptor page whose counters are out of
// range: the library refuses to open such a table, though the counters are
// what netshm_repair rebuilds anyway.  Resetting them in salvage's private
// copy (never in the object) lets repair run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace netshm_tool {

// Sets the counters of the descriptor page in `bytes` — claimed cells,
// bindings, free list head and free page count (doc/format.md, "Page d:
// descriptor", words 3-6) — to zero, as for an empty table. The descriptor
// page is page d (page 0's word 4) at the smallest page size whose page d
// starts with the descriptor magic. Answers its page number, or nothing when
// no such page is found.
std::optional<std::int32_t> reset_descriptor_counters(std::string &bytes);

} // namespace netshm_tool
