// netshm check: verifies a whole table and lists what is wrong with it.
#include "arguments.hpp"
#include "check_problems.hpp"
#include "command.hpp"
#include "object_access.hpp"
#include "progress_bar.hpp"
#include "table_locking.hpp"

#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {pagesize_option, lock_file_option, locking_option};

std::vector<std::string> problems_of(netshm::table &table)
{
    std::vector<std::string> found;
    for (const netshm::problem &p : with_activity("checking", [&] { return table.check(); }))
        found.push_back(problem_line(p));
    return found;
}

int report(const std::vector<std::string> &problems)
{
    std::string text;
    for (const std::string &p : problems)
        text += p + "\n";
    if (problems.empty())
        text += "table is sound\n";
    else
        text += fmt::format("{} problem{}\n", problems.size(), problems.size() == 1 ? "" : "s");
    fmt::print("{}", text);
    return problems.empty() ? exit_ok : exit_negative;
}

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    open_table opened;
    try {
        opened = open_existing_table(args, access::read_only);
    } catch (const netshm::corrupt_file &e) {
        // A table the library refuses to open is a problem found, not a failure to look.
        return report({fmt::format("object: unreadable: {}", e.what())});
    }
    return report(problems_of(opened.table));
}

} // namespace

const command check_command{
    "check", "OBJ", "verify a table",
    "Verifies the whole table, in one state of it: every page accounted for once,\n"
    "every magic number, pointer, chain, sequence number, counter and the free\n"
    "list. Prints each problem as \"page N: KIND: MESSAGE\" (\"object: ...\" for the\n"
    "object as a whole), then \"table is sound\" or \"N problems\". Exits with status\n"
    "0 if the table is sound, 1 if problems were found (also when the table is too\n"
    "damaged to be opened: \"object: unreadable: MESSAGE\"), 2 if it could not be\n"
    "checked.",
    options, run};

} // namespace netshm_tool
