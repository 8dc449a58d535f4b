// Result-code texts, the thread-local last error and the version.
#include "last_error.hpp"
#include "netshm.h"

#include "util/error.hpp"

#include <charconv>
#include <cstring>
#include <string>

namespace netshm::capi {
namespace {

struct last_failure {
    std::string message = "no error";
    int sys_errno = 0;
};

thread_local last_failure last;

// The engine's codes are the ABI's codes: keep them in step.
static_assert(static_cast<int>(core::errc::not_found) == NETSHM_ENOTFOUND);
static_assert(static_cast<int>(core::errc::corrupt) == NETSHM_ECORRUPT);
static_assert(static_cast<int>(core::errc::deadlock) == NETSHM_EDEADLK);
static_assert(static_cast<int>(core::errc::invalid) == NETSHM_EINVAL);
static_assert(static_cast<int>(core::errc::system) == NETSHM_ESYS);
static_assert(static_cast<int>(core::errc::no_memory) == NETSHM_ENOMEM);
static_assert(static_cast<int>(core::errc::self_locked) == NETSHM_ESELFLOCKED);
static_assert(static_cast<int>(core::errc::closed) == NETSHM_ECLOSED);
static_assert(static_cast<int>(core::errc::not_supported) == NETSHM_ENOTSUP);
static_assert(static_cast<int>(core::errc::exists) == NETSHM_EEXIST);
static_assert(static_cast<int>(core::errc::too_big) == NETSHM_ETOOBIG);
static_assert(static_cast<int>(core::errc::forked) == NETSHM_EFORKED);
static_assert(static_cast<int>(core::errc::busy) == NETSHM_EBUSY);
static_assert(static_cast<int>(core::errc::read_only) == NETSHM_EREADONLY);
static_assert(static_cast<int>(core::errc::timed_out) == NETSHM_ETIMEDOUT);

} // namespace

void set_last_error(std::string_view message, int sys_errno)
{
    try {
        last.message.assign(message);
    } catch (...) {
        last.message.clear();
    }
    last.sys_errno = sys_errno;
}

void set_last_error_unbound(std::int32_t key)
{
    // Formatted by hand: fmt would cost more than the lookup that missed.
    constexpr std::string_view prefix = "key ", suffix = " is not bound";
    char text[prefix.size() + 11 + suffix.size()];
    std::memcpy(text, prefix.data(), prefix.size());
    char *end = std::to_chars(text + prefix.size(), text + sizeof text, key).ptr;
    std::memcpy(end, suffix.data(), suffix.size());
    set_last_error(std::string_view(text, static_cast<std::size_t>(end - text) + suffix.size()), 0);
}

} // namespace netshm::capi

extern "C" {

const char *netshm_strerror(int rc)
{
    switch (rc) {
    case NETSHM_OK: return "success";
    case NETSHM_ENOTFOUND: return "not found";
    case NETSHM_ECORRUPT: return "corrupt table";
    case NETSHM_EDEADLK: return "deadlock detected";
    case NETSHM_EINVAL: return "invalid argument";
    case NETSHM_ESYS: return "system call failed";
    case NETSHM_ENOMEM: return "out of memory";
    case NETSHM_ESELFLOCKED: return "cannot modify table locked by caller";
    case NETSHM_ECLOSED: return "descriptor is closed";
    case NETSHM_ENOTSUP: return "not supported";
    case NETSHM_EEXIST: return "already exists";
    case NETSHM_ETOOBIG: return "too big";
    case NETSHM_EFORKED: return "handle inherited across fork";
    case NETSHM_EBUSY: return "busy";
    case NETSHM_EREADONLY: return "table is read-only";
    case NETSHM_ETIMEDOUT: return "lock wait timed out";
    default: return "unknown error";
    }
}

const char *netshm_last_error(void)
{
    return netshm::capi::last.message.c_str();
}

int netshm_last_errno(void)
{
    return netshm::capi::last.sys_errno;
}

const char *netshm_version(void)
{
    return NETSHM_VERSION_STRING;
}

} // extern "C"
