// The texts of `netshm --help` and `netshm <subcommand> --help`.
#pragma once

#include "command.hpp"

#include <string>

namespace netshm_tool {

std::string overview_help();
std::string command_help(const command &cmd);

} // namespace netshm_tool
