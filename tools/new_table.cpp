#include "new_table.hpp"

#include "progress_bar.hpp"
#include "temporary_object.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

namespace netshm_tool {

namespace {

// ".NAME.tmp-XXXXXXXX" in the object's directory, or in /dev/shm for a POSIX object.
std::string temporary_template(const object_ref &object)
{
    std::size_t slash = object.name.rfind('/');
    std::size_t base = slash == std::string::npos ? 0 : slash + 1;
    return fmt::format("{}.{}.tmp-XXXXXXXX", object.name.substr(0, base), object.name.substr(base));
}

void refuse_existing(const object_ref &object)
{
    if (object_exists(object))
        throw netshm::exists(NETSHM_EEXIST, fmt::format("{}: {}", object.name, std::strerror(EEXIST)));
}

} // namespace

bool object_exists(const object_ref &object)
{
    struct stat st {};
    return ::lstat(path_of(object.type, object.name).c_str(), &st) == 0;
}

void build_new_table(const object_ref &object, const new_table_spec &spec, bool replace,
                     const std::function<void(netshm::table &)> &fill)
{
    if (!replace)
        refuse_existing(object);
    temporary_object building(object.type, temporary_template(object), spec.mode);
    {
        netshm::table table =
            netshm::table::manage(building.descriptor(), netshm::locking::record, spec.pagesize, spec.init);
        fill(table);
        // Closing here reports a failure the destructor would drop.
        table.close();
    }
    building.keep_as(object.name, replace);
    if (object.lock_file)
        netshm::descriptor::open_posix_lockfile(object.name, *object.lock_file, O_RDWR | O_CREAT, spec.mode).close();
}

void add_bindings(netshm::table &table, const binding_list &bindings, std::uint64_t batch, load_mode how,
                  std::string_view label)
{
    bool replace = how == load_mode::replace;
    auto first_of_key = [&](std::size_t i) { return i == 0 || bindings.key(i) != bindings.key(i - 1); };
    std::size_t added = 0;
    try {
        progress_bar bar(label, bindings.size());
        while (added < bindings.size()) {
            std::size_t end = std::min<std::size_t>(bindings.size(), added + batch);
            while (replace && end < bindings.size() && !first_of_key(end))
                ++end;
            table.group_write([&] {
                for (; added < end; ++added) {
                    std::int32_t key = bindings.key(added);
                    while (replace && first_of_key(added) && table.mem(key))
                        table.remove(key);
                    table.add(key, bindings.value(added));
                }
            });
            bar.update(added);
        }
    } catch (const netshm::error &e) {
        throw netshm::error(e.code(), fmt::format("{} (stopped after adding {} of {} bindings)", e.what(), added,
                                                  bindings.size()));
    }
}

} // namespace netshm_tool
