// The C ABI boundary: runs engine code, turns every exception into a result
// code plus the thread's last-error text, and lets nothing unwind into C.
#pragma once

#include "util/error.hpp"
#include "last_error.hpp"
#include "netshm.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>

namespace netshm::capi {

// Runs `body` (which returns an int result, or void for NETSHM_OK).
template <class Body>
int guarded(Body &&body) noexcept
{
    try {
        if constexpr (std::is_void_v<decltype(body())>) {
            body();
            return NETSHM_OK;
        } else {
            return body();
        }
    } catch (const core::error &e) {
        int rc = static_cast<int>(e.code());
        set_last_error(e.what(), e.sys_errno());
        if (e.sys_errno() != 0)
            errno = e.sys_errno();
        return rc;
    } catch (const std::bad_alloc &) {
        set_last_error("out of memory", 0);
        return NETSHM_ENOMEM;
    } catch (const std::exception &e) {
        set_last_error(std::string("internal error: ") + e.what(), 0);
        return NETSHM_EINVAL;
    } catch (...) {
        set_last_error("internal error: unknown exception", 0);
        return NETSHM_EINVAL;
    }
}

// The int a C caller passed as an enum parameter.  C allows any int there,
// but in C++ loading a value outside the enum's range is undefined (UBSan's
// -fsanitize=enum), so the bytes are read as an int.
template <class Enum>
int enum_argument(const Enum &value) noexcept
{
    static_assert(std::is_enum_v<Enum> && sizeof(Enum) == sizeof(int));
    int raw;
    std::memcpy(&raw, &value, sizeof raw);
    return raw;
}

[[noreturn, gnu::cold, gnu::noinline]] inline void null_argument(const char *function, const char *argument)
{
    core::throw_invalid(std::string(function) + ": " + argument + " is NULL");
}

// Fails with NETSHM_EINVAL naming the argument when `pointer` is NULL.  The
// test inline, the message out of the way: every call checks its arguments.
template <class T>
void require(T *pointer, const char *function, const char *argument)
{
    if (pointer == nullptr) [[unlikely]]
        null_argument(function, argument);
}

} // namespace netshm::capi
