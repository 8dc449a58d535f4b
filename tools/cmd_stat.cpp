// netshm stat: a table's statistics.
#include "arguments.hpp"
#include "command.hpp"
#include "object_access.hpp"
#include "progress_bar.hpp"
#include "table_locking.hpp"
#include "stat_report.hpp"

#include <fmt/format.h>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--json", "", "print one JSON object"},
    pagesize_option,
    lock_file_option,
    locking_option,
};

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    open_table opened = open_existing_table(args, access::read_only);
    netshm::stats stats = with_activity("reading", [&] { return opened.table.stat(); });
    if (args.flag("--json"))
        fmt::print("{}\n", stat_json(stats));
    else
        fmt::print("{}", stat_text(stats));
    return exit_ok;
}

} // namespace

const command stat_command{
    "stat", "OBJ [--json]", "print a table's statistics",
    "Prints the statistics of the table, read in one state of it: page size,\n"
    "object size, pages (total, free, hash, content), hash extents, hash cells\n"
    "(total, claimed and how full), bindings, distinct keys, bytes of values,\n"
    "content bytes per binding and the longest probe sequence of a bound key.\n"
    "A table whose walk meets a damaged page fails (status 2): run `netshm check`.",
    options, run};

} // namespace netshm_tool
