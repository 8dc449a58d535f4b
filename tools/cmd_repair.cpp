// netshm repair: rebuilds a table's index, counters and free list from its
// content pages, as after a writer was killed.
#include "arguments.hpp"
#include "command.hpp"
#include "object_access.hpp"
#include "plural.hpp"
#include "table_locking.hpp"

#include <cstdint>
#include <fmt/format.h>
#include <string>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {pagesize_option, lock_file_option, locking_option};

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    open_table opened = open_existing_table(args, access::read_write);
    const netshm::repair_report report = opened.table.repair();
    fmt::print("kept {}, dropped {}, reclaimed {}\n", plural(report.bindings_kept, "binding"),
               plural(report.bindings_dropped, "binding"), plural(report.pages_reclaimed, "page"));
    // The library checks its own work; a second look costs one walk.
    const bool sound = opened.table.check().empty();
    fmt::print("{}\n", sound ? "table is sound" : "table is still damaged: run `netshm check`");
    return sound ? exit_ok : exit_negative;
}

} // namespace

const command repair_command{
    "repair", "OBJ", "rebuild a table's index and free list",
    "Repairs the table under its exclusive lock (readers and writers wait): the\n"
    "hash index, the counters and the free list are rebuilt from the content\n"
    "pages. Every intact binding the index leads to is kept, in its order;\n"
    "damaged bindings are dropped; pages a killed writer took (a binding never\n"
    "committed, pages on no list) go back to the free list. A sound table is\n"
    "left as it is. Prints \"kept N bindings, dropped N bindings, reclaimed N\n"
    "pages\", then \"table is sound\". Exits with status 0 if the table is sound\n"
    "afterwards, 1 if it is still damaged, 2 if it could not be repaired (a\n"
    "descriptor page too damaged to find the pages by, a table that cannot be\n"
    "opened, no write permission, ...).",
    options, run};

} // namespace netshm_tool
