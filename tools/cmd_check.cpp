// netshm check: verifies a whole table and lists what is wrong with it.
#include "arguments.hpp"
#include "command.hpp"
#include "object_access.hpp"
#include "progress_bar.hpp"

#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {pagesize_option, lock_file_option};

struct problem {
    std::string kind;
    std::int32_t page;  // -1: the object as a whole
    std::string message;
};

std::string kind_name(netshm::problem_kind kind)
{
    using enum netshm::problem_kind;
    switch (kind) {
    case master: return "master page";
    case descriptor: return "descriptor page";
    case object_size: return "object size";
    case extent: return "hash extent";
    case hash_cell: return "hash cell";
    case probe: return "probe";
    case content_page: return "content page";
    case follow_up: return "follow-up page";
    case binding_chain: return "binding chain";
    case free_list: return "free list";
    case page_shared: return "page shared";
    case page_lost: return "page lost";
    case count: return "count";
    case tail: return "tail";
    }
    // A kind of a later library.
    return fmt::format("kind {}", static_cast<int>(kind));
}

std::string where(std::int32_t page) { return page < 0 ? "object" : fmt::format("page {}", page); }

// The library's messages start with the page ("page 7: ..."), which the
// report already names first.
std::string_view without_page(std::string_view message, std::int32_t page)
{
    std::string prefix = where(page) + ": ";
    return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

std::vector<problem> problems_of(netshm::table &table)
{
    std::vector<problem> found;
    for (const netshm::problem &p : with_activity("checking", [&] { return table.check(); }))
        found.push_back({kind_name(p.kind), p.page, std::string(without_page(p.message, p.page))});
    return found;
}

int report(const std::vector<problem> &problems)
{
    std::string text;
    for (const problem &p : problems)
        text += fmt::format("{}: {}: {}\n", where(p.page), p.kind, p.message);
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
        return report({{"unreadable", -1, e.what()}});
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
