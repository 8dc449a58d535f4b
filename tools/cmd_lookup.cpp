// netshm get, get-all, mem, length: reading bindings.
#include "arguments.hpp"
#include "command.hpp"
#include "object_access.hpp"
#include "table_locking.hpp"

#include <cstdint>
#include <cstddef>
#include <fmt/format.h>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {pagesize_option, lock_file_option, locking_option};

// OBJ KEY: the key, and the table opened read-only.
struct key_lookup {
    std::int32_t key;
    open_table opened;
};

key_lookup open_for_key(const arguments &args)
{
    args.expect_positionals(2, 2);
    std::int32_t key = args.positional_int32(1, "key");
    return {key, open_existing_table(args, access::read_only)};
}

int report_unbound(const arguments &args, std::int32_t key)
{
    fmt::print(stderr, "netshm {}: key {} is not bound\n", args.command_name(), key);
    return exit_negative;
}

int run_get(const arguments &args)
{
    args.expect_positionals(2, SIZE_MAX);
    std::vector<std::int32_t> keys;
    for (std::size_t i = 1; i < args.positionals().size(); ++i)
        keys.push_back(args.positional_int32(i, "key"));
    open_table opened = open_existing_table(args, access::read_only);
    netshm::found_values values = opened.table.find_many(keys);
    std::string text;
    int status = exit_ok;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (values[i])
            fmt::format_to(std::back_inserter(text), "{}\n", fmt::join(*values[i], " "));
        else if (keys.size() > 1)
            text += '\n';
        if (!values[i])
            status = report_unbound(args, keys[i]);
    }
    fmt::print("{}", text);
    return status;
}

int run_get_all(const arguments &args)
{
    auto [key, opened] = open_for_key(args);
    std::vector<std::vector<std::int32_t>> values = opened.table.find_all(key);
    if (values.empty())
        return report_unbound(args, key);
    std::string text;
    for (const std::vector<std::int32_t> &value : values)
        fmt::format_to(std::back_inserter(text), "{}\n", fmt::join(value, " "));
    fmt::print("{}", text);
    return exit_ok;
}

int run_mem(const arguments &args)
{
    auto [key, opened] = open_for_key(args);
    bool bound = opened.table.mem(key);
    fmt::print("{}\n", bound ? "yes" : "no");
    return bound ? exit_ok : exit_negative;
}

int run_length(const arguments &args)
{
    args.expect_positionals(1, 1);
    open_table opened = open_existing_table(args, access::read_only);
    fmt::print("{}\n", opened.table.length());
    return exit_ok;
}

} // namespace

const command get_command{
    "get", "OBJ KEY [KEY...]", "print the newest binding of each key",
    "Prints the newest binding of each KEY: its words on one line, separated by\n"
    "spaces (an empty line for the empty value), a line per KEY in the order given,\n"
    "all read in one call (netshm_find_many). An unbound KEY is named on standard\n"
    "error (with several keys its line is empty) and the exit status is 1.",
    options, run_get};

const command get_all_command{
    "get-all", "OBJ KEY", "print every binding of a key",
    "Prints every binding of KEY, one line each, newest first. An unbound KEY\n"
    "exits with status 1.",
    options, run_get_all};

const command mem_command{
    "mem", "OBJ KEY", "tell whether a key is bound",
    "Prints \"yes\" and exits with status 0 if KEY is bound, else prints \"no\" and\n"
    "exits with status 1.",
    options, run_mem};

const command length_command{
    "length", "OBJ", "print the number of bindings",
    "Prints the number of bindings of the table (a key bound twice counts twice).",
    options, run_length};

} // namespace netshm_tool
