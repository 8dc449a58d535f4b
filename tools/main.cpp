// netshm: the command-line tool.  Finds the subcommand, runs it, and turns
// what went wrong into a message on standard error and the exit status.
#include "arguments.hpp"
#include "command.hpp"
#include "help.hpp"
#include "progress_bar.hpp"

#include <netshm.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <span>
#include <string_view>

using namespace netshm_tool;

namespace {

const command *find_command(std::string_view name)
{
    auto commands = all_commands();
    auto found = std::find_if(commands.begin(), commands.end(), [&](const command *c) { return c->name == name; });
    return found == commands.end() ? nullptr : *found;
}

// Output that could not be written (a full disk, a closed pipe) is a failure.
int finish_output(std::string_view name, int status)
{
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        fmt::print(stderr, "netshm {}: write to standard output: {}\n", name, std::strerror(errno));
        return exit_failure;
    }
    return status;
}

int run(const command &cmd, std::span<char *const> words)
{
    try {
        arguments args = arguments::parse(cmd, words);
        if (args.quiet())
            progress_bar::silence();
        if (args.help_requested()) {
            fmt::print("{}", command_help(cmd));
            return finish_output(cmd.name, exit_ok);
        }
        return finish_output(cmd.name, cmd.run(args));
    } catch (const usage_error &e) {
        std::fflush(stdout);
        fmt::print(stderr, "netshm {}: {}\nUsage: netshm {} {}\nTry 'netshm {} --help'.\n", cmd.name, e.what(),
                   cmd.name, cmd.synopsis, cmd.name);
    } catch (const netshm::timed_out &e) {
        std::fflush(stdout);
        fmt::print(stderr, "netshm {}: gave up waiting for a lock (--wait): {}\n", cmd.name, e.what());
    } catch (const std::exception &e) {
        // netshm::error carries the library's message (netshm_last_error).
        std::fflush(stdout);
        fmt::print(stderr, "netshm {}: {}\n", cmd.name, e.what());
    }
    return exit_failure;
}

} // namespace

int main(int argc, char **argv)
{
    std::span<char *const> words(argv + 1, static_cast<std::size_t>(argc > 0 ? argc - 1 : 0));
    // `netshm --quiet <subcommand> ...` is `netshm <subcommand> --quiet ...`.
    if (!words.empty() && std::string_view(words[0]) == "--quiet") {
        progress_bar::silence();
        words = words.subspan(1);
    }
    if (words.empty()) {
        fmt::print(stderr, "netshm: missing subcommand\nTry 'netshm --help'.\n");
        return exit_failure;
    }
    std::string_view first = words[0];
    if (first == "--help" || first == "-h") {
        fmt::print("{}", overview_help());
        return finish_output("--help", exit_ok);
    }
    if (first == "--version") {
        fmt::print("netshm {} (library {})\n", NETSHM_VERSION_STRING, netshm_version());
        return finish_output("--version", exit_ok);
    }
    const command *cmd = find_command(first);
    if (cmd == nullptr) {
        fmt::print(stderr, "netshm: unknown subcommand '{}'\nTry 'netshm --help'.\n", first);
        return exit_failure;
    }
    return run(*cmd, words.subspan(1));
}
