#include "command.hpp"

namespace netshm_tool {

std::span<const command *const> all_commands()
{
    static constexpr const command *commands[] = {
        &create_command, &add_command,  &replace_command, &remove_command, &get_command,
        &get_all_command, &mem_command, &length_command,  &dump_command,   &load_command,
        &stat_command,   &check_command, &repair_command, &salvage_command, &copy_command, &unlink_command, &list_command,
        &bench_command,
    };
    return commands;
}

} // namespace netshm_tool
