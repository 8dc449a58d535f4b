// netshm add, replace, remove: one binding at a time.
#include "arguments.hpp"
#include "command.hpp"
#include "object_access.hpp"
#include "table_locking.hpp"

#include <cstdint>
#include <fmt/format.h>
#include <span>
#include <vector>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {pagesize_option, lock_file_option, locking_option};

// The value words: positionals 2 and on.
std::vector<std::int32_t> value_of(const arguments &args)
{
    std::vector<std::int32_t> value;
    for (std::size_t i = 2; i < args.positionals().size(); ++i)
        value.push_back(args.positional_int32(i, "value word"));
    return value;
}

// add or replace: KEY V... taken from the command line.
template <void (netshm::table::*bind)(std::int32_t, std::span<const std::int32_t>)>
int run_bind(const arguments &args)
{
    args.expect_positionals(2, SIZE_MAX);
    std::int32_t key = args.positional_int32(1, "key");
    std::vector<std::int32_t> value = value_of(args);
    open_table opened = open_existing_table(args, access::read_write);
    (opened.table.*bind)(key, value);
    return exit_ok;
}

int run_remove(const arguments &args)
{
    args.expect_positionals(2, 2);
    std::int32_t key = args.positional_int32(1, "key");
    open_table opened = open_existing_table(args, access::read_write);
    netshm::table &table = opened.table;
    // One write group: nobody binds the key between the test and the removal.
    bool bound = table.group_write([&] {
        if (!table.mem(key))
            return false;
        table.remove(key);
        return true;
    });
    if (bound)
        return exit_ok;
    fmt::print(stderr, "netshm remove: key {} is not bound\n", key);
    return exit_negative;
}

} // namespace

const command add_command{
    "add", "OBJ KEY [V...]", "add a binding",
    "Binds KEY to the value V... (no V: the empty value). The key's older bindings\n"
    "stay, hidden by the new one. KEY and each V are int32 numbers in decimal.",
    options, run_bind<&netshm::table::add>};

const command replace_command{
    "replace", "OBJ KEY [V...]", "replace the newest binding",
    "Replaces the newest binding of KEY by the value V... (no V: the empty value),\n"
    "or adds a binding if KEY is unbound.",
    options, run_bind<&netshm::table::replace>};

const command remove_command{
    "remove", "OBJ KEY", "remove the newest binding",
    "Removes the newest binding of KEY, making the previous one visible again.\n"
    "An unbound KEY exits with status 1.",
    options, run_remove};

} // namespace netshm_tool
