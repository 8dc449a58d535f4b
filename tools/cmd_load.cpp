// netshm load: bulk-adds bindings from a JSON dump or from text.
#include "arguments.hpp"
#include "command.hpp"
#include "load_input.hpp"
#include "object_access.hpp"
#include "progress_bar.hpp"
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
    {"--format", "json|text", "the input's format (default: JSON if its first non-blank character is '{', "
                              "else text)"},
    {"--batch", "N", "bindings added per write group (default 1000)"},
    {"--pagesize", "P", "page size of a new table (default: the JSON's \"pagesize\", else 256); for an "
                        "existing table, its own (default 0: detect it)"},
    {"--init", "N", "size a new table's hash for about N keys (default: the keys loaded, at least 1000)"},
    lock_file_option,
    locking_option,
};

constexpr std::uint64_t default_init = 1000;

bool looks_like_json(std::string_view text)
{
    std::size_t first = text.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && text[first] == '{';
}

load_input parse(const arguments &args, std::string_view text)
{
    std::optional<std::string> format = args.value("--format");
    if (format && *format != "json" && *format != "text")
        throw usage_error(fmt::format("--format '{}' is neither json nor text", *format));
    bool json = format ? *format == "json" : looks_like_json(text);
    return json ? read_json_input(text) : read_text_input(text);
}

std::uint64_t distinct_keys(const binding_list &bindings)
{
    std::vector<std::int32_t> keys(bindings.size());
    for (std::size_t i = 0; i < bindings.size(); ++i)
        keys[i] = bindings.key(i);
    std::sort(keys.begin(), keys.end());
    return static_cast<std::uint64_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

// The table of OBJ, created if the object does not exist.
open_table open_or_create(const arguments &args, const load_input &input)
{
    object_ref object = object_of(args);
    open_table opened;
    bool created = false;
    try {
        opened.descr = open_object(object, O_RDWR);
    } catch (const netshm::not_found &) {
        try {
            opened.descr = open_object(object, O_RDWR | O_CREAT | O_EXCL);
            created = true;
        } catch (const netshm::error &e) {
            // Created meanwhile by someone else, or an OCamlnet lock file that exists already.
            if (e.code() != NETSHM_EEXIST)
                throw;
            opened.descr = open_object(object, O_RDWR | O_CREAT);
        }
    }
    std::optional<long long> init;
    if (created)
        init = init_of(args, std::max(default_init, distinct_keys(input.bindings)));
    unsigned pagesize = pagesize_of(args, created ? input.pagesize.value_or(0) : 0);
    opened.table = manage_with_locking(args, opened.descr, pagesize, init);
    return opened;
}

int run(const arguments &args)
{
    args.expect_positionals(1, 2);
    std::uint64_t batch = args.number("--batch", 1000, 1);
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

    open_table opened = open_or_create(args, input);
    netshm::table &table = opened.table;
    const binding_list &bindings = input.bindings;
    std::size_t added = 0;
    try {
        progress_bar bar("loading", bindings.size());
        while (added < bindings.size()) {
            std::size_t end = std::min<std::size_t>(bindings.size(), added + batch);
            table.group_write([&] {
                for (; added < end; ++added)
                    table.add(bindings.key(added), bindings.value(added));
            });
            bar.update(added);
        }
    } catch (const netshm::error &e) {
        throw netshm::error(e.code(), fmt::format("{} (stopped after adding {} of {} bindings: those stay)", e.what(),
                                                  added, bindings.size()));
    }
    return exit_ok;
}

} // namespace

const command load_command{
    "load", "OBJ [FILE|-] [--format json|text] [--batch N]", "add bindings from a file",
    "Adds the bindings of FILE (default \"-\": standard input) to the table OBJ,\n"
    "creating the object and its table if it does not exist. FILE holds JSON as\n"
    "`netshm dump --json` prints it (each key's bindings are added oldest first, so\n"
    "the table ends up with the dump's order) or text: one binding a line,\n"
    "\"KEY V1 V2 ...\" (a lone KEY binds the empty value), later lines newer, '#'\n"
    "starting a comment. The whole input is read and checked first: input with an\n"
    "error adds nothing. The bindings are then added in write groups of --batch\n"
    "each; a failure there (e.g. a full /dev/shm) keeps the bindings added before.",
    options, run};

} // namespace netshm_tool
