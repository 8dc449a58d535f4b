// netshm load: bulk-adds bindings from a JSON dump or from text.
#include "arguments.hpp"
#include "command.hpp"
#include "load_input.hpp"
#include "new_table.hpp"
#include "object_access.hpp"
#include "read_source.hpp"
#include "table_locking.hpp"

#include <algorithm>
#include <fcntl.h>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--format", "json|dump|text", "the input's format (default: JSON if its first non-blank character is '{', "
                                   "the text of `netshm dump` if it is '<', else text)"},
    {"--replace", "", "each key of the input holds exactly the input's bindings afterwards (its other "
                      "bindings are removed)"},
    {"--batch", "N", "bindings added per write group (default 1000)"},
    {"--pagesize", "P", "page size of a new table (default: the JSON's \"pagesize\", else 256); for an "
                        "existing table, its own (default 0: detect it)"},
    {"--init", "N", "size a new table's hash for about N keys (default: the keys loaded, at least 1000)"},
    {"--mode", "OCTAL", "permissions of a new object (default 600)"},
    lock_file_option,
    locking_option,
};

constexpr std::uint64_t default_init = 1000;

load_input parse(const arguments &args, std::string_view text)
{
    std::optional<std::string> format = args.value("--format");
    if (format && *format != "json" && *format != "dump" && *format != "text")
        throw usage_error(fmt::format("--format '{}' is not json, dump or text", *format));
    if (!format) {
        std::size_t first = text.find_first_not_of(" \t\r\n");
        char c = first == std::string_view::npos ? ' ' : text[first];
        format = c == '{' ? "json" : c == '<' ? "dump" : "text";
    }
    if (*format == "json")
        return read_json_input(text);
    return *format == "dump" ? read_dump_text_input(text) : read_text_input(text);
}

std::uint64_t distinct_keys(const binding_list &bindings)
{
    std::vector<std::int32_t> keys(bindings.size());
    for (std::size_t i = 0; i < bindings.size(); ++i)
        keys[i] = bindings.key(i);
    std::sort(keys.begin(), keys.end());
    return static_cast<std::uint64_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

int run(const arguments &args)
{
    args.expect_positionals(1, 2);
    std::uint64_t batch = args.number("--batch", 1000, 1);
    unsigned mode = args.mode("--mode", 0600);
    object_ref object = object_of(args);
    std::string source = args.positionals().size() == 2 ? args.positional(1) : "-";
    std::string text = read_source(source);
    load_input input;
    try {
        input = parse(args, text);
    } catch (const input_error &e) {
        throw input_error(fmt::format("{}: {} (nothing was added)", source == "-" ? "standard input" : source,
                                      e.what()));
    }
    // The bindings hold what is needed from the input: free its text.
    text = std::string();

    load_mode how = args.flag("--replace") ? load_mode::replace : load_mode::add_on_top;
    if (how == load_mode::replace)
        input.bindings = input.bindings.grouped_by_key();
    auto fill = [&](netshm::table &table) { add_bindings(table, input.bindings, batch, how, "loading"); };
    if (!object_exists(object)) {
        unsigned pagesize = pagesize_of(args, input.pagesize.value_or(0));
        long long init = init_of(args, std::max(default_init, distinct_keys(input.bindings)));
        build_new_table(object, {pagesize, init, mode}, false, fill);
        return exit_ok;
    }
    open_table opened = open_existing_table(args, access::read_write);
    try {
        fill(opened.table);
    } catch (const netshm::error &e) {
        throw netshm::error(e.code(), fmt::format("{}: those stay", e.what()));
    }
    return exit_ok;
}

} // namespace

const command load_command{
    "load", "OBJ [FILE|-] [--format json|dump|text] [--replace] [--batch N]", "add bindings from a file",
    "Adds the bindings of FILE (default \"-\": standard input) to the table OBJ. A\n"
    "new object is built under a temporary name, then renamed: it appears complete\n"
    "or not at all. FILE holds what `netshm dump --json` or `netshm dump` print\n"
    "(each key's bindings are added oldest first, so the table ends up with the\n"
    "dump's order) or text: one binding a line,\n"
    "\"KEY V1 V2 ...\" (a lone KEY binds the empty value), later lines newer, '#'\n"
    "starting a comment. The whole input is read and checked first: input with an\n"
    "error adds nothing. The bindings are then added in write groups of --batch\n"
    "each; a failure there (e.g. a full /dev/shm) keeps the bindings added before\n"
    "to an existing table. With --replace each key of the input ends up holding\n"
    "exactly its bindings in the input, in order (loading twice changes nothing).",
    options, run};

} // namespace netshm_tool
