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

object_ref object_of(const arguments &args)
{
    object_ref object{args.positional(0), type_of_name(args.positional(0)), args.value("--lock-file")};
    if (object.lock_file && object.type != netshm::shm_type::posix)
        throw usage_error(fmt::format("--lock-file goes with POSIX objects (\"/name\"), not with the file {}",
                                      object.name));
    return object;
}

netshm::descriptor open_object(const object_ref &object, int oflags, unsigned mode)
{
    if (object.lock_file)
        return netshm::descriptor::open_posix_lockfile(object.name, *object.lock_file, oflags, mode);
    return netshm::descriptor::open(object.type, object.name, oflags, mode);
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

// Mutex locking needs the object open for writing (the library may have to
// recover a writer that died); a reader opens it so when it may write it, and
// else read-only, for the library to say why it cannot.
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

open_table open_existing_table(const object_ref &object, const arguments &args, access how)
{
    std::optional<netshm::locking> chosen = locking_of(args);
    unsigned pagesize = pagesize_of(args);
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
                                                      "process, and this user may not write the object; record "
                                                      "locking can read it once no process has it open with "
                                                      "mutex locking)",
                                                      e.what()));
    }
}

} // namespace netshm_tool
