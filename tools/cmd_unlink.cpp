// netshm unlink: removes an object's name.
#include "arguments.hpp"
#include "command.hpp"
#include "object_access.hpp"

namespace netshm_tool {

namespace {

constexpr option_spec options[] = {
    {"--lock-file", "PATH", "remove this companion lock file too (OCamlnet 4.1.9's unlink_shm)"},
};

int run(const arguments &args)
{
    args.expect_positionals(1, 1);
    object_ref object = object_of(args);
    if (object.lock_file)
        netshm::unlink_posix_lockfile(object.name, *object.lock_file);
    else
        netshm::unlink(object.type, object.name);
    return exit_ok;
}

} // namespace

const command unlink_command{
    "unlink", "OBJ [--lock-file PATH]", "remove an object",
    "Removes the name of the object OBJ (processes that have it open keep using\n"
    "it). A missing object is an error (status 2). With --lock-file the lock file\n"
    "is removed too; if one of the two is missing, the other is removed all the\n"
    "same and the status is 2.",
    options, run};

} // namespace netshm_tool
