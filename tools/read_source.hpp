// The whole content of an input file, or of standard input for "-".
#pragma once

#include <string>

namespace netshm_tool {

// Throws std::system_error naming the file.
std::string read_source(const std::string &path);

} // namespace netshm_tool
