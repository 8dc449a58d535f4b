// What every subcommand of the netshm tool is made of: its name, its help, the
// options it accepts and the function that runs it; and the exit statuses and
// the usage error they share.
#pragma once

#include <span>
#include <stdexcept>
#include <string_view>

namespace netshm_tool {

class arguments;

// The tool's exit statuses (tools/README.md, "Exit status").
enum exit_status : int {
    exit_ok = 0,
    // A key not bound, `mem` false, problems found by `check` (or left by `repair`).
    exit_negative = 1,
    // Bad usage, a system error, a missing object, a corrupt table, ...
    exit_failure = 2,
};

// A command line the tool cannot run; main() prints it with a hint to --help.
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct option_spec {
    std::string_view name;        // "--pagesize"
    std::string_view value_name;  // "P"; empty for an option without a value
    std::string_view help;
};

// Accepted by every subcommand, after its own options.
inline constexpr option_spec wait_option{
    "--wait", "SECONDS", "give up a lock wait after this long, exit status 2 (default 10; 0: wait for ever)"};
inline constexpr option_spec global_options[] = {wait_option};

struct command {
    std::string_view name;
    std::string_view synopsis;     // the arguments after the name: "OBJ KEY [V...]"
    std::string_view summary;      // one line for `netshm --help`
    std::string_view description;  // what `netshm <name> --help` says under the usage line
    std::span<const option_spec> options;
    int (*run)(const arguments &args);
};

// The subcommands, one file each (cmd_*.cpp).
extern const command create_command, add_command, replace_command, remove_command, get_command,
    get_all_command, mem_command, length_command, dump_command, load_command, stat_command, check_command,
    repair_command, unlink_command, list_command, bench_command;

// The subcommands, in the order `netshm --help` lists them.
std::span<const command *const> all_commands();

} // namespace netshm_tool
