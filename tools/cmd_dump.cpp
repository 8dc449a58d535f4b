// netshm dump: every binding, as Netshm.dump prints them or as JSON.
#include "arguments.hpp"
#include "chunked_reading.hpp"
#include "command.hpp"
#include "dump_json.hpp"
#include "object_access.hpp"
#include "progress_bar.hpp"
#include "table_locking.hpp"

#include <cstdint>
#include <cstdio>
#include <fmt/format.h>
#include <iterator>
#include <span>
#include <string>
#include <vector>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--json", "", "print JSON (the format `netshm load` reads) instead of Netshm.dump's text"},
    pagesize_option,
    lock_file_option,
    locking_option,
};

// Text is written in pieces of about this size.
constexpr std::size_t write_bytes = 1 << 16;

void flush_if_large(std::string &text)
{
    if (text.size() >= write_bytes) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        text.clear();
    }
}

// Netshm.dump's text, chunk by chunk: a key's bindings newest first, keys in
// the table's order.  The length in the first line is the table's when the
// dump starts.
void print_text(netshm::table &table)
{
    std::string text = fmt::format("<shm length={}\n", table.length());
    std::vector<std::int32_t> keys = bound_keys(table);
    progress_bar bar("dumping", keys.size());
    for_each_chunk(table, keys, [&](std::span<const key_bindings> chunk) {
        bar.advance(chunk.size());
        for (const key_bindings &bound : chunk)
            for (const std::vector<std::int32_t> &value : bound.values)
                fmt::format_to(std::back_inserter(text), "  {} => [| {} |]\n", bound.key, fmt::join(value, "; "));
        flush_if_large(text);
    });
    text += ">\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
}

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    // A bar drawn on the terminal the dump is printed on would be mixed into it.
    if (::isatty(STDOUT_FILENO) == 1)
        progress_bar::silence();
    open_table opened = open_existing_table(args, access::read_only);
    if (args.flag("--json"))
        print_json_dump(opened.table);
    else
        print_text(opened.table);
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
    "keys in ascending order, one per line. The bindings are read in chunks of\n"
    "256 keys, each under the table's lock, and written with no lock held: a\n"
    "slow reader of the dump never keeps writers waiting. Each key's bindings\n"
    "are one state of the key; a dump of a table being written is not one state\n"
    "of the whole table (keys added meanwhile may be missing, keys removed are\n"
    "left out; the text's length is the table's at the start).",
    options, run};

} // namespace netshm_tool
