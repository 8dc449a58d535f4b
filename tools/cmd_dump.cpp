// netshm dump: every binding, as Netshm.dump prints them or as JSON.
#include "arguments.hpp"
#include "command.hpp"
#include "object_access.hpp"
#include "progress_bar.hpp"

#include <cstdint>
#include <cstdio>
#include <fmt/format.h>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <unistd.h>
#include <vector>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--json", "", "print JSON (the format `netshm load` reads) instead of Netshm.dump's text"},
    pagesize_option,
    lock_file_option,
};

// The JSON text is written in pieces of about this size.
constexpr std::size_t chunk_bytes = 1 << 16;

void print_json(netshm::table &table)
{
    // Keys in ascending order, so that equal tables give equal dumps.
    std::map<std::int32_t, std::vector<std::vector<std::int32_t>>> keys;
    std::size_t bindings = 0;
    // One group: the locks taken by length and iter stay until the end, so the
    // dump is one state of the table.
    table.group([&] {
        bindings = table.length();
        progress_bar bar("dumping", bindings);
        table.iter([&](std::int32_t key, std::span<const std::int32_t> value) {
            keys[key].emplace_back(value.begin(), value.end());
            bar.advance();
        });
    });
    std::size_t pagesize = table.memory().words_per_page * 4;
    std::string text = fmt::format("{{\"pagesize\":{},\"bindings\":{},\"keys\":[", pagesize, bindings);
    std::string_view separator = "\n";
    for (const auto &[key, values] : keys) {
        fmt::format_to(std::back_inserter(text), "{}{{\"key\":{},\"values\":[", separator, key);
        separator = ",\n";
        for (std::size_t i = 0; i < values.size(); ++i)
            fmt::format_to(std::back_inserter(text), "{}[{}]", i == 0 ? "" : ",", fmt::join(values[i], ","));
        text += "]}";
        if (text.size() >= chunk_bytes) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            text.clear();
        }
    }
    text += "\n]}\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
}

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    // A bar drawn on the terminal the dump is printed on would be mixed into it.
    if (::isatty(STDOUT_FILENO) == 1)
        progress_bar::silence();
    open_table opened = open_existing_table(args, access::read_only);
    if (args.flag("--json")) {
        print_json(opened.table);
    } else {
        std::fflush(stdout);
        with_activity("dumping", [&] { opened.table.dump(STDOUT_FILENO); });
    }
    return exit_ok;
}

} // namespace

const command dump_command{
    "dump", "OBJ [--json]", "print every binding",
    "Prints every binding of the table. Without --json the text is exactly what\n"
    "Netshm.dump (and netshm_dump) print:\n"
    "  <shm length=N\n"
    "    KEY => [| V1; V2 |]\n"
    "  >\n"
    "a key's bindings newest first, keys in the table's order. With --json:\n"
    "  {\"pagesize\":P,\"bindings\":N,\"keys\":[\n"
    "  {\"key\":K,\"values\":[[newest...],[older...]]},\n"
    "  ...\n"
    "  ]}\n"
    "keys in ascending order, one per line. The dump is one state of the table:\n"
    "writers wait until it is read.",
    options, run};

} // namespace netshm_tool
