// The C ABI of shared-memory objects: open, create, name, close, unlink, chmod, chown.
#include "boundary.hpp"
#include "handles.hpp"
#include "lock/presence.hpp"
#include "netshm.h"

#include <fcntl.h>
#include <string>

using netshm::capi::guarded;
using netshm::capi::require;
using netshm::core::shm_kind;
using netshm::core::shm_object;

namespace {

shm_kind kind_of(const netshm_type &type)
{
    int raw = netshm::capi::enum_argument(type);
    if (raw != NETSHM_TYPE_FILE && raw != NETSHM_TYPE_POSIX)
        netshm::core::throw_invalid("unknown object type " + std::to_string(raw));
    return static_cast<shm_kind>(raw);
}

// O_TRUNC is applied here, where it can be refused while a table is in use.
void hand_out(std::shared_ptr<shm_object> object, int oflags, netshm_descr **out)
{
    if ((oflags & O_TRUNC) != 0)
        netshm::core::truncate_unless_open(*object);
    *out = new netshm_descr{std::move(object)};
}

} // namespace

extern "C" {

unsigned netshm_supported_types(void)
{
    return (1u << NETSHM_TYPE_FILE) | (1u << NETSHM_TYPE_POSIX);
}

netshm_locking netshm_best_locking_method(netshm_type type)
{
    (void)type;
    return NETSHM_RECORD_LOCKING;
}

int netshm_open(netshm_type type, const char *name, int oflags, unsigned mode, netshm_descr **out)
{
    return guarded([&] {
        require(out, "netshm_open", "out");
        *out = nullptr;
        require(name, "netshm_open", "name");
        hand_out(shm_object::open(kind_of(type), name, oflags, mode), oflags, out);
    });
}

int netshm_create_unique(netshm_type type, const char *name_template, unsigned mode,
                         netshm_descr **out)
{
    return guarded([&] {
        require(out, "netshm_create_unique", "out");
        *out = nullptr;
        require(name_template, "netshm_create_unique", "name_template");
        hand_out(shm_object::create_unique(kind_of(type), name_template, mode), 0, out);
    });
}

int netshm_open_posix_lockfile(const char *shm_name, const char *lock_file, int oflags, unsigned mode,
                               netshm_descr **out)
{
    return guarded([&] {
        require(out, "netshm_open_posix_lockfile", "out");
        *out = nullptr;
        require(shm_name, "netshm_open_posix_lockfile", "shm_name");
        require(lock_file, "netshm_open_posix_lockfile", "lock_file");
        hand_out(shm_object::open_with_lock_file(shm_name, lock_file, oflags, mode), oflags, out);
    });
}

int netshm_unlink_posix_lockfile(const char *shm_name, const char *lock_file)
{
    return guarded([&] {
        require(shm_name, "netshm_unlink_posix_lockfile", "shm_name");
        require(lock_file, "netshm_unlink_posix_lockfile", "lock_file");
        netshm::core::validate_name(shm_kind::posix, shm_name);
        netshm::core::validate_name(shm_kind::file, lock_file);
        // Both go, as with OCamlnet; the first failure is reported.
        std::exception_ptr failure;
        try {
            shm_object::unlink(shm_kind::posix, shm_name);
        } catch (...) {
            failure = std::current_exception();
        }
        shm_object::unlink(shm_kind::file, lock_file);
        if (failure)
            std::rethrow_exception(failure);
    });
}

const char *netshm_name(const netshm_descr *descr)
{
    return descr != nullptr ? descr->object->name().c_str() : nullptr;
}

netshm_type netshm_descr_type(const netshm_descr *descr)
{
    return descr != nullptr ? static_cast<netshm_type>(descr->object->kind())
                            : static_cast<netshm_type>(0);
}

int netshm_close(netshm_descr *descr)
{
    return guarded([&] {
        require(descr, "netshm_close", "descr");
        std::unique_ptr<netshm_descr> owned(descr);
        owned->object->close();
    });
}

int netshm_unlink(netshm_type type, const char *name)
{
    return guarded([&] {
        require(name, "netshm_unlink", "name");
        shm_object::unlink(kind_of(type), name);
    });
}

int netshm_chmod(netshm_descr *descr, unsigned mode)
{
    return guarded([&] {
        require(descr, "netshm_chmod", "descr");
        descr->object->chmod(mode);
    });
}

int netshm_chown(netshm_descr *descr, long uid, long gid)
{
    return guarded([&] {
        require(descr, "netshm_chown", "descr");
        descr->object->chown(uid, gid);
    });
}

int netshm_descr_set_lock_timeout(netshm_descr *descr, unsigned milliseconds)
{
    return guarded([&] {
        require(descr, "netshm_descr_set_lock_timeout", "descr");
        descr->lock_timeout.store(milliseconds, std::memory_order_relaxed);
    });
}

} // extern "C"
