// netshm create: a new object holding an empty table.
#include "arguments.hpp"
#include "command.hpp"
#include "new_table.hpp"
#include "object_access.hpp"
#include "table_locking.hpp"

#include <fcntl.h>

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--pagesize", "P", "page size in bytes: at least 160, a multiple of 4 (default 256; with --force "
                        "an existing table's own)"},
    {"--init", "N", "size the hash table for about N keys (default 1000)"},
    {"--mode", "OCTAL", "permissions of a new object (default 600)"},
    {"--force", "", "re-initialise the object's table if it exists, deleting its bindings"},
    lock_file_option,
    locking_option,
};

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    object_ref object = object_of(args);
    unsigned mode = args.mode("--mode", 0600);
    unsigned pagesize = pagesize_of(args);
    long long init = init_of(args, 1000);
    if (!args.flag("--force") || !object_exists(object)) {
        build_new_table(object, {pagesize, init, mode}, false, [](netshm::table &) {});
        return exit_ok;
    }
    // Re-initialised in place: other processes may have the object open.
    netshm::descriptor descr = open_object(object, O_RDWR | O_CREAT, mode);
    // Managing the object writes its empty table; closing the table at once
    // reports a failure the destructor would drop.
    manage_with_locking(args, descr, pagesize, init).close();
    return exit_ok;
}

} // namespace

const command create_command{
    "create", "OBJ [--pagesize P] [--init N] [--mode OCTAL] [--force]", "create a table",
    "Creates the object OBJ holding an empty table, built under a temporary name\n"
    "then renamed (a failure leaves no object). An existing object is an error\n"
    "unless --force is given: then its table is re-initialised (every binding is\n"
    "deleted; the object never shrinks). --force never writes over an object that\n"
    "holds other data, nor through a symbolic link.",
    options, run};

} // namespace netshm_tool
