// The command line of one subcommand, parsed against the options it declares.
//
// An argument starting with "--" is an option ("--name value" or
// "--name=value"), "-h" asks for help, "--" ends the options; everything else
// is positional, negative numbers ("-5") and "-" (standard input) included.
// "-h"/"--help" and "--quiet" are accepted by every subcommand.
#pragma once

#include "command.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netshm_tool {

class arguments {
public:
    // Throws usage_error for an unknown option or a missing option value.
    static arguments parse(const command &cmd, std::span<char *const> words);

    bool help_requested() const { return help_; }
    // --quiet, which every subcommand accepts: no progress bar.
    bool quiet() const { return quiet_; }
    const std::string &command_name() const { return command_name_; }

    // Throws usage_error unless there are from `min` to `max` positionals.
    void expect_positionals(std::size_t min, std::size_t max) const;
    const std::vector<std::string> &positionals() const { return positionals_; }
    const std::string &positional(std::size_t i) const { return positionals_.at(i); }
    // Positional i as an int32 (a key or a value word); `what` names it in errors.
    std::int32_t positional_int32(std::size_t i, std::string_view what) const;

    bool flag(std::string_view name) const { return options_.contains(std::string(name)); }
    std::optional<std::string> value(std::string_view name) const;
    // A decimal option from `min` to `max`, `fallback` when absent.
    std::uint64_t number(std::string_view name, std::uint64_t fallback, std::uint64_t min = 0,
                         std::uint64_t max = UINT64_MAX) const;
    // A permission mode in octal (at most 07777), `fallback` when absent.
    unsigned mode(std::string_view name, unsigned fallback) const;

private:
    std::string command_name_;
    bool help_ = false;
    bool quiet_ = false;
    std::vector<std::string> positionals_;
    std::map<std::string, std::string, std::less<>> options_;
};

} // namespace netshm_tool
