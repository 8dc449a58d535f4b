// netshm copy: a compact copy of a table, with the same bindings in the same
// per-key order, sized to its data.
#include "arguments.hpp"
#include "command.hpp"
#include "load_input.hpp"
#include "new_table.hpp"
#include "object_access.hpp"
#include "progress_bar.hpp"
#include "table_locking.hpp"

#include <cstdint>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <span>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--pagesize", "P", "page size of the copy (default: the source's)"},
    {"--mode", "OCTAL", "permissions of the copy (default 600)"},
    {"--force", "", "replace DST if it exists"},
    locking_option,
};

struct source_table {
    binding_list bindings;  // in the order to add them: each key's oldest first
    std::size_t keys = 0;
    unsigned pagesize = 0;
};

// Every binding of SRC, read in one group (one state of the table).
source_table read_source_table(const arguments &args)
{
    const std::string &name = args.positional(0);
    object_ref source_object{name, type_of_name(name), std::nullopt, lock_wait_of(args)};
    open_table opened = open_existing_table(source_object, args, access::read_only, 0);
    netshm::table &table = opened.table;
    source_table source;
    binding_list newest_first;
    std::set<std::int32_t> keys;
    with_activity("reading", [&] {
        table.group([&] {
            table.iter([&](std::int32_t key, std::span<const std::int32_t> value) {
                newest_first.add(key, value);
                keys.insert(key);
            });
        });
    });
    source.pagesize = static_cast<unsigned>(table.memory().words_per_page * 4);
    source.bindings = newest_first.reversed();
    source.keys = keys.size();
    return source;
}

int run(const arguments &args)
{
    args.expect_positionals(2, 2);
    unsigned mode = args.mode("--mode", 0600);
    const std::string &destination = args.positional(1);
    object_ref target{destination, type_of_name(destination), std::nullopt, lock_wait_of(args)};
    bool replace = args.flag("--force");
    source_table source = read_source_table(args);
    unsigned pagesize = pagesize_of(args, source.pagesize);
    // The hash table sized for the keys there are: the copy has no room to spare.
    auto init = static_cast<long long>(source.keys);
    build_new_table(target, {pagesize, init, mode}, replace, [&](netshm::table &table) {
        add_bindings(table, source.bindings, 1000, load_mode::add_on_top, "copying");
    });
    fmt::print(stderr, "netshm copy: {} bindings of {} keys copied to {}\n", source.bindings.size(), source.keys,
               destination);
    return exit_ok;
}

} // namespace

const command copy_command{
    "copy", "SRC DST [--pagesize P] [--force]", "write a compact copy of a table",
    "Writes a new table DST holding the bindings of the table SRC, each key's in\n"
    "the same order (the newest stays the newest), read in one state of SRC. The\n"
    "copy is sized to its data: a hash table for the keys there are, no free\n"
    "pages; use it to shrink a table after removing most of its bindings. DST is\n"
    "built under a temporary name beside it, then renamed: it appears complete or\n"
    "not at all. An existing DST is refused unless --force replaces it. DST is a\n"
    "POSIX object or a file, as OBJ is for the other subcommands.",
    options, run};

} // namespace netshm_tool
