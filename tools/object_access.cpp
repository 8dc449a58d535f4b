#include "object_access.hpp"

#include "table_locking.hpp"

#include <cerrno>
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

namespace {

// A reader with mutex locking opens the object for writing when it may (the
// library then recovers a writer that died, and takes the writer mutex when
// writers keep disturbing its optimistic reads), and else read-only: the
// library then reads without the writer mutex, and refuses only a table
// whose lock area a process with write access must set up or recover.
netshm::descriptor open_for_mutex_reading(const object_ref &object)
{
    try {
        return open_object(object, O_RDWR);
    } catch (const netshm::system_error &e) {
        if (e.sys_errno() != EACCES && e.sys_errno() != EROFS)
            throw;
    }
    return open_object(object, O_RDONLY);
}

open_table open_for_mutex_reading(const object_ref &object, unsigned pagesize)
{
    open_table opened;
    opened.descr = open_for_mutex_reading(object);
    opened.table = netshm::table::manage(opened.descr, netshm::locking::mutex, pagesize);
    return opened;
}

} // namespace

open_table open_existing_table(const arguments &args, access how)
{
    return open_existing_table(object_of(args), args, how);
}

open_table open_existing_table(const object_ref &object, const arguments &args, access how,
                               std::optional<unsigned> pagesize_given)
{
    std::optional<netshm::locking> chosen = locking_of(args);
    unsigned pagesize = pagesize_given.value_or(pagesize_of(args));
    if (how == access::read_only && chosen == netshm::locking::mutex)
        return open_for_mutex_reading(object, pagesize);
    open_table opened;
    opened.descr = open_object(object, how == access::read_only ? O_RDONLY : O_RDWR);
    if (how == access::read_write || chosen) {
        opened.table = manage_with_locking(args, opened.descr, pagesize);
        return opened;
    }
    // auto, reading: record locking, unless the table is live in mutex mode.
    // A read-only table with record locking takes its presence per operation,
    // so its first operation tells too.
    try {
        opened.table = netshm::table::manage(opened.descr, netshm::locking::record, pagesize);
        (void)opened.table.length();
        return opened;
    } catch (const netshm::busy &) {
    }
    opened.table.close();
    try {
        return open_for_mutex_reading(object, pagesize);
    } catch (const netshm::read_only &e) {
        throw netshm::read_only(e.code(), fmt::format("{} (the table is open with mutex locking in another "
                                                      "process, and this user may not write the object)",
                                                      e.what()));
    }
}

} // namespace netshm_tool
