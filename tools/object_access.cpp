#include "object_access.hpp"

#include <climits>
#include <cstdint>
#include <fcntl.h>
#include <fmt/format.h>

namespace netshm_tool {

netshm::shm_type type_of_name(std::string_view name)
{
    bool posix = name.size() > 1 && name[0] == '/' && name.find('/', 1) == std::string_view::npos;
    return posix ? netshm::shm_type::posix : netshm::shm_type::file;
}

std::chrono::milliseconds lock_wait_of(const arguments &args)
{
    constexpr std::uint64_t longest = UINT_MAX / 1000;
    return std::chrono::seconds(args.number("--wait", 10, 0, longest));
}

object_ref object_of(const arguments &args)
{
    object_ref object{args.positional(0), type_of_name(args.positional(0)), args.value("--lock-file"),
                      lock_wait_of(args)};
    if (object.lock_file && object.type != netshm::shm_type::posix)
        throw usage_error(fmt::format("--lock-file goes with POSIX objects (\"/name\"), not with the file {}",
                                      object.name));
    return object;
}

netshm::descriptor open_object(const object_ref &object, int oflags, unsigned mode)
{
    netshm::descriptor descr = object.lock_file
                                   ? netshm::descriptor::open_posix_lockfile(object.name, *object.lock_file, oflags, mode)
                                   : netshm::descriptor::open(object.type, object.name, oflags, mode);
    descr.set_lock_timeout(object.lock_wait);
    return descr;
}

unsigned pagesize_of(const arguments &args, unsigned fallback)
{
    return static_cast<unsigned>(args.number("--pagesize", fallback, 0, UINT_MAX));
}

long long init_of(const arguments &args, std::uint64_t fallback)
{
    return static_cast<long long>(args.number("--init", fallback, 0, INT32_MAX));
}

open_table open_existing_table(const arguments &args, access how)
{
    open_table opened;
    opened.descr = open_object(object_of(args), how == access::read_only ? O_RDONLY : O_RDWR);
    opened.table = netshm::table::manage(opened.descr, netshm::locking::record, pagesize_of(args));
    return opened;
}

} // namespace netshm_tool
