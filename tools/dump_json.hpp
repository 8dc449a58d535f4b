// The JSON dump of a table (tools/README.md, "dump"), which `netshm load` reads.
#pragma once

#include <netshm.hpp>

namespace netshm_tool {

// Prints the table's bindings on standard output, read in one group.
void print_json_dump(netshm::table &table);

} // namespace netshm_tool
