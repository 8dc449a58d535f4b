#include "help.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <iterator>
#include <span>

namespace netshm_tool {

namespace {

constexpr std::string_view objects_note = R"(
OBJ is a POSIX shared-memory object when it is "/name" (a leading '/' and no
other '/'), else a file path.
)";

constexpr std::string_view exit_status_note = R"(
Exit status: 0 success; 1 not found (an unbound key, `mem` false), problems
found (`check`, or left by `repair`) or bindings skipped by `salvage`; 2 usage
errors, system errors, a missing object, a corrupt table, a lock wait longer
than --wait and any other failure.
)";

// A bar is drawn on standard error when it is a terminal and the command runs
// longer than half a second (progress_bar.hpp).
constexpr std::string_view quiet_help = "show no progress bar";

} // namespace

std::string overview_help()
{
    // The "or:" lines are the form help2man reads as further synopses (netshm.1).
    std::string text = "Usage: netshm <subcommand> [options] [arguments]\n"
                       "  or:  netshm <subcommand> --help\n"
                       "  or:  netshm --version\n\n"
                       "Hash tables of int32 keys and int32 arrays in shared memory, as OCamlnet's Netshm\n"
                       "keeps them.\n\nSubcommands:\n";
    for (const command *cmd : all_commands())
        fmt::format_to(std::back_inserter(text), "  {:<9} {}\n", cmd->name, cmd->summary);
    text += objects_note;
    text += exit_status_note;
    fmt::format_to(std::back_inserter(text), "\nOptions:\n  {:<9} {}\n  {:<9} {}\n", "--quiet",
                   "show no progress bar (also accepted after the subcommand)", "--version",
                   "print the versions of the tool and of the library");
    return text;
}

std::string command_help(const command &cmd)
{
    std::string text = fmt::format("Usage: netshm {} {}\n\n{}\n", cmd.name, cmd.synopsis, cmd.description);
    auto label = [](const option_spec &o) {
        return o.value_name.empty() ? std::string(o.name) : fmt::format("{} {}", o.name, o.value_name);
    };
    // The subcommand's own options, then those every subcommand accepts.
    const std::span<const option_spec> option_lists[] = {cmd.options, global_options};
    std::size_t width = 10;  // "-h, --help"
    for (std::span<const option_spec> options : option_lists)
        for (const option_spec &o : options)
            width = std::max(width, label(o).size());
    text += "\nOptions:\n";
    for (std::span<const option_spec> options : option_lists)
        for (const option_spec &o : options)
            fmt::format_to(std::back_inserter(text), "  {:<{}}  {}\n", label(o), width, o.help);
    fmt::format_to(std::back_inserter(text), "  {:<{}}  {}\n", "--quiet", width, quiet_help);
    fmt::format_to(std::back_inserter(text), "  {:<{}}  {}\n", "-h, --help", width, "show this help");
    if (cmd.synopsis.find("OBJ") != std::string_view::npos)
        text += objects_note;
    text += exit_status_note;
    return text;
}

} // namespace netshm_tool
