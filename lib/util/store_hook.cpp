#include "util/store_hook.hpp"

#ifdef NETSHM_TESTING_HOOKS

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace netshm::core::testing {
namespace {

std::atomic<std::int64_t> stores{0};
// The store number before which to die; 0: never.
std::atomic<std::int64_t> fatal_store{0};

} // namespace

void count_shared_store() noexcept
{
    std::int64_t number = stores.fetch_add(1, std::memory_order_relaxed) + 1;
    if (number == fatal_store.load(std::memory_order_relaxed))
        ::kill(::getpid(), SIGKILL);
}

std::int64_t shared_stores() noexcept { return stores.load(std::memory_order_relaxed); }

void kill_before_store(std::int64_t n) noexcept
{
    fatal_store.store(n > 0 ? stores.load(std::memory_order_relaxed) + n : 0, std::memory_order_relaxed);
}

} // namespace netshm::core::testing

#endif
