// The JSON dump of a table (tools/README.md, "dump"), which `netshm load` reads.
#pragma once

#include <netshm.hpp>

namespace netshm_tool {

// Prints the table's bindings on standard output. They are read in chunks
// (chunked_reading.hpp), all before the first byte is printed, so that
// "bindings" counts the bindings printed, as load checks.
void print_json_dump(netshm::table &table);

} // namespace netshm_tool
