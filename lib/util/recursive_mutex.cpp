#include "util/recursive_mutex.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <ctime>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace netshm::core {
namespace {

static_assert(sizeof(std::atomic<int>) == sizeof(int) && std::atomic<int>::is_always_lock_free,
              "the futex word is the atomic's int");
static_assert(std::atomic<recursive_mutex::thread_id>::is_always_lock_free, "thread ids are compared without a lock");

// While the bias owner holds the mutex, a revoking thread looks again after
// this pause, doubling up to the longest (it happens once in a mutex's life).
constexpr auto first_pause = std::chrono::microseconds(20);
constexpr auto longest_pause = std::chrono::milliseconds(1);

using time_point = std::chrono::steady_clock::time_point;

// The bias owner of a mutex no thread may ever have a bias on: no thread's id.
constexpr recursive_mutex::thread_id never_biased = ~recursive_mutex::thread_id{0};

// Sleeps while *word == expected (spurious and interrupted returns included:
// the caller looks again), at most `timeout` if given.
void futex_wait(std::atomic<int> &word, int expected, const ::timespec *timeout) noexcept
{
    ::syscall(SYS_futex, reinterpret_cast<int *>(&word), FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0);
}

bool membarrier(int command) noexcept
{
    return ::syscall(SYS_membarrier, command, 0, 0) == 0;
}

// Whether this process may have every thread pass a barrier; registers it if
// not yet (cheap once registered).  Not in every kernel or sandbox.
bool barriers_available() noexcept
{
    return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
}

// Every running thread of this process passes a full memory barrier.
bool barrier_in_every_thread() noexcept
{
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        return true;
    // A child process after fork may have to register again; the slower
    // global command needs no registration.
    return (barriers_available() && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)) ||
           membarrier(MEMBARRIER_CMD_GLOBAL);
}

::timespec relative(std::chrono::steady_clock::duration left) noexcept
{
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    return ::timespec{static_cast<std::time_t>(seconds.count()),
                      static_cast<long>(std::chrono::nanoseconds(left - seconds).count())};
}

} // namespace

bool recursive_mutex::try_lock_unbiased(thread_id self) noexcept
{
    if (revocation_.load(std::memory_order_acquire) != bias_revoked) {
        thread_id unclaimed{};
        if (bias_owner_.load(std::memory_order_relaxed) == unclaimed) {
            if (barriers_available()) {
                if (bias_owner_.compare_exchange_strong(unclaimed, self, std::memory_order_relaxed) && take_bias())
                    return true;
            } else if (bias_owner_.compare_exchange_strong(unclaimed, never_biased, std::memory_order_relaxed)) {
                // Nobody can revoke a bias here, so nobody may have one.
                revocation_.store(bias_revoked, std::memory_order_release);
            }
        }
        if (!revoke_bias())
            return false;
    }
    // The bias owner's last hold by its bias may not be over.
    if (bias_held_.load(std::memory_order_acquire))
        return false;
    int expected = unlocked;
    if (!state_.compare_exchange_strong(expected, locked, std::memory_order_acquire, std::memory_order_relaxed))
        return false;
    owner_.store(self, std::memory_order_relaxed);
    depth_ = 1;
    return true;
}

bool recursive_mutex::revoke_bias() noexcept
{
    if (revocation_.load(std::memory_order_acquire) == bias_revoked)
        return true;
    int kept = bias_kept;
    revocation_.compare_exchange_strong(kept, bias_requested, std::memory_order_seq_cst);
    // Now the owner either sees the request or its mark is visible here.
    if (!barrier_in_every_thread())
        return false;
    revocation_.store(bias_revoked, std::memory_order_release);
    return true;
}

bool recursive_mutex::acquire_contended(std::optional<time_point> deadline)
{
    // try_lock failed: the bias is another thread's (or gone), or the
    // unbiased lock is held.  Without a barrier the mutex cannot be taken
    // safely (never so once a bias was granted: that took a registration).
    if (!revoke_bias()) {
        if (deadline)
            return false;
        throw error(errc::system, "membarrier failed: another thread's bias on a table's mutex cannot be revoked");
    }
    std::chrono::microseconds pause = first_pause;
    while (bias_held_.load(std::memory_order_acquire)) {
        if (!deadline) {
            std::this_thread::sleep_for(pause);
        } else {
            const auto now = std::chrono::steady_clock::now();
            if (now >= *deadline)
                return false;
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, *deadline - now));
        }
        pause = std::min<std::chrono::microseconds>(pause * 2, longest_pause);
    }
    // Marked contended from here on, so that the holder's unlock wakes a
    // sleeper; one that gives up may leave the mark, which costs a needless
    // wake and nothing else.
    while (state_.exchange(contended, std::memory_order_acquire) != unlocked) {
        if (!deadline) {
            futex_wait(state_, contended, nullptr);
            continue;
        }
        const auto left = *deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero())
            return false;
        const ::timespec timeout = relative(left);
        futex_wait(state_, contended, &timeout);
    }
    owner_.store(current_thread(), std::memory_order_relaxed);
    depth_ = 1;
    return true;
}

void recursive_mutex::wake_one() noexcept
{
    ::syscall(SYS_futex, reinterpret_cast<int *>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

} // namespace netshm::core
