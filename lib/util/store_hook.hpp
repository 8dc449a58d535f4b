// A test-only crash point: with NETSHM_TESTING_HOOKS (the static library the
// crash-recovery tests link, capi/testing.h), every store of the engine into
// shared memory is counted, and the process can be made to kill itself just
// before a chosen one.  Without it the hook compiles to nothing.
#pragma once

#include <cstdint>

namespace netshm::core::testing {

#ifdef NETSHM_TESTING_HOOKS
void count_shared_store() noexcept;
// The stores counted in this process so far.
std::int64_t shared_stores() noexcept;
// SIGKILL just before the n-th store from now (n >= 1); 0 disarms.
void kill_before_store(std::int64_t n) noexcept;
#endif

// Called before each store (or run of stores) into shared memory.
inline void before_shared_store() noexcept
{
#ifdef NETSHM_TESTING_HOOKS
    count_shared_store();
#endif
}

} // namespace netshm::core::testing
