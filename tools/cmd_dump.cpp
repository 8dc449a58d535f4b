// netshm dump: every binding, as Netshm.dump prints them or as JSON.
#include "arguments.hpp"
#include "command.hpp"
#include "dump_json.hpp"
#include "object_access.hpp"

#include <cstdio>
#include <unistd.h>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--json", "", "print JSON (the format `netshm load` reads) instead of Netshm.dump's text"},
    pagesize_option,
    lock_file_option,
};

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    open_table opened = open_existing_table(args, access::read_only);
    if (args.flag("--json")) {
        print_json_dump(opened.table);
    } else {
        std::fflush(stdout);
        opened.table.dump(STDOUT_FILENO);
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
