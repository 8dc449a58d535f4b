// A recursive mutex with a timed lock, for the threads of one process, biased
// towards the first thread that takes it.
//
// Every table operation takes one, and in most programs only ever from one
// thread.  An atomic read-modify-write (the compare-and-swap of a lock, the
// exchange of an unlock) is a full barrier on x86: the next find's first load
// waits for this one's cache misses, which costs a find of a batch of one
// about a fifth of its speed (doc/PERFORMANCE.md).  So the first thread to
// lock the mutex owns a bias and takes it with plain loads and stores: it
// marks itself holding, then checks that no other thread has asked for the
// mutex.  A second thread revokes the bias, for good: it sets the request,
// has every thread of the process pass a full barrier (membarrier(2): after
// that the owner either sees the request or its mark is visible), and waits
// for the owner's mark to clear.  From then on every thread takes the mutex
// by compare-and-swap, and one that finds it held sleeps in a futex (Drepper,
// "Futexes Are Tricky", mutex 3).  Without membarrier the mutex is never
// biased.  Meets the standard's TimedMutex requirements, for std::unique_lock
// and lock_guard.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace netshm::core {

class recursive_mutex {
public:
    // Who is running: the thread pointer, one instruction (it is what
    // pthread_self returns on Linux, without the call).
    using thread_id = std::uintptr_t;
    static thread_id current_thread() noexcept
    {
        return reinterpret_cast<thread_id>(__builtin_thread_pointer());
    }

    recursive_mutex() = default;
    recursive_mutex(const recursive_mutex &) = delete;
    recursive_mutex &operator=(const recursive_mutex &) = delete;

    void lock()
    {
        if (!try_lock())
            acquire_contended(std::nullopt);
    }
    bool try_lock() noexcept
    {
        const thread_id self = current_thread();
        // Only this thread ever stores its own id in bias_owner_ or owner_
        // (and clears owner_ before unlocking): relaxed loads tell whether it
        // owns the bias or holds the mutex.
        if (bias_owner_.load(std::memory_order_relaxed) == self) {
            if (bias_depth_ > 0) {
                ++bias_depth_;
                return true;
            }
            if (take_bias())
                return true;
        }
        if (owner_.load(std::memory_order_relaxed) == self) {
            ++depth_;
            return true;
        }
        return try_lock_unbiased(self);
    }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period> &wait)
    {
        return try_lock() ||
               acquire_contended(std::chrono::steady_clock::now() +
                                 std::chrono::ceil<std::chrono::steady_clock::duration>(wait));
    }
    void unlock() noexcept
    {
        if (bias_owner_.load(std::memory_order_relaxed) == current_thread() && bias_depth_ > 0) {
            if (--bias_depth_ == 0)
                bias_held_.store(false, std::memory_order_release);
            return;
        }
        if (--depth_ > 0)
            return;
        owner_.store(thread_id{}, std::memory_order_relaxed);
        if (state_.exchange(unlocked, std::memory_order_release) == contended)
            wake_one();
    }

private:
    // The unbiased lock: unlocked, locked with no thread asleep on it, or
    // locked and perhaps some.
    enum : int { unlocked = 0, locked = 1, contended = 2 };
    // The bias: in force, asked for by another thread, or gone (revoked, or
    // never possible) once every thread passed a barrier after the request.
    enum : int { bias_kept = 0, bias_requested = 1, bias_revoked = 2 };

    // The bias owner, holding nothing: the mutex by its bias unless revoked.
    bool take_bias() noexcept
    {
        if (revocation_.load(std::memory_order_relaxed) != bias_kept)
            return false;
        bias_held_.store(true, std::memory_order_relaxed);
        // Only the compiler is kept from moving the load above the store: a
        // revoking thread's membarrier orders them for the processor.
        std::atomic_signal_fence(std::memory_order_seq_cst);
        if (revocation_.load(std::memory_order_relaxed) == bias_kept) {
            bias_depth_ = 1;
            return true;
        }
        bias_held_.store(false, std::memory_order_release);
        return false;
    }
    // Claims the bias if nobody has, else revokes it and tries the unbiased lock.
    bool try_lock_unbiased(thread_id self) noexcept;
    // Revokes the bias (its owner may still hold the mutex by it, bias_held_);
    // false if no barrier could be had.
    bool revoke_bias() noexcept;
    // Waits (until `deadline`, if given) while another thread holds the mutex.
    bool acquire_contended(std::optional<std::chrono::steady_clock::time_point> deadline);
    void wake_one() noexcept;

    std::atomic<int> state_{unlocked};
    std::atomic<thread_id> owner_{};
    // Changed only by the thread holding the unbiased lock.
    int depth_ = 0;

    std::atomic<int> revocation_{bias_kept};
    std::atomic<thread_id> bias_owner_{};
    // Whether the bias owner holds the mutex by its bias.
    std::atomic<bool> bias_held_{false};
    // Changed only by the bias owner.
    int bias_depth_ = 0;
};

} // namespace netshm::core
