// lib/util/recursive_mutex: the biased recursive mutex every table operation
// takes.  Cases tagged [thread] race threads and also run in the 'threads'
// suite, which CI builds with ThreadSanitizer.
#include "util/recursive_mutex.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using netshm::core::recursive_mutex;
using namespace std::chrono_literals;

TEST_CASE("one thread takes the mutex recursively, by its bias and after it is revoked", "[thread]")
{
    recursive_mutex m;
    for (int round = 0; round < 2; ++round) {
        m.lock();
        REQUIRE(m.try_lock());
        REQUIRE(m.try_lock_for(1ms));
        m.unlock();
        m.unlock();
        // Still held once: another thread cannot have it (and revokes the bias trying).
        bool other_got_it = true;
        std::thread([&] { other_got_it = m.try_lock(); }).join();
        REQUIRE_FALSE(other_got_it);
        m.unlock();
        std::thread([&] {
            other_got_it = m.try_lock();
            if (other_got_it)
                m.unlock();
        }).join();
        REQUIRE(other_got_it);
    }
}

TEST_CASE("a thread waiting for the bias owner times out, then gets the mutex once released", "[thread]")
{
    recursive_mutex m;
    m.lock();
    std::atomic<int> stage{0};
    std::thread other([&] {
        const auto start = std::chrono::steady_clock::now();
        bool timed_out = !m.try_lock_for(30ms);
        const auto waited = std::chrono::steady_clock::now() - start;
        stage = timed_out && waited >= 30ms ? 1 : -1;
        m.lock(); // waits for the owner's release
        stage = 2;
        m.unlock();
    });
    while (stage.load() == 0)
        std::this_thread::sleep_for(1ms);
    REQUIRE(stage.load() == 1);
    std::this_thread::sleep_for(20ms);
    REQUIRE(stage.load() == 1); // still waiting
    m.unlock();
    other.join();
    REQUIRE(stage.load() == 2);
    // The first owner, no longer biased, waits for and takes it like any thread.
    std::unique_lock<recursive_mutex> again(m, 10ms);
    REQUIRE(again.owns_lock());
}

TEST_CASE("a thread asleep on the held mutex is woken by the unlock", "[thread]")
{
    recursive_mutex m;
    // Biased to a thread that is gone: the main thread revokes the bias.
    std::thread([&] { std::lock_guard<recursive_mutex> first(m); }).join();
    m.lock();
    std::atomic<bool> sleeper_has_it{false};
    std::thread sleeper([&] {
        std::lock_guard<recursive_mutex> mine(m);
        sleeper_has_it = true;
    });
    std::this_thread::sleep_for(20ms);
    REQUIRE_FALSE(sleeper_has_it.load());
    m.unlock();
    sleeper.join();
    REQUIRE(sleeper_has_it.load());
}

TEST_CASE("threads that take the mutex recursively exclude one another", "[thread]")
{
    recursive_mutex m;
    long counter = 0;   // guarded by m
    long inner = 0;     // guarded by m, taken twice around it
    constexpr int threads = 4;
    constexpr int rounds = 5000;
    // The main thread holds the bias while the others start: they revoke it.
    m.lock();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            for (int i = 0; i < rounds; ++i) {
                if ((i + t) % 3 == 0) {
                    while (!m.try_lock_for(1ms)) {
                    }
                } else {
                    m.lock();
                }
                ++counter;
                if (i % 7 == 0) {
                    std::lock_guard<recursive_mutex> again(m);
                    ++inner;
                }
                m.unlock();
            }
        });
    std::this_thread::sleep_for(5ms);
    ++counter;
    m.unlock();
    for (std::thread &w : workers)
        w.join();
    std::lock_guard<recursive_mutex> done(m);
    REQUIRE(counter == threads * rounds + 1);
    REQUIRE(inner == threads * ((rounds + 6) / 7));
}

TEST_CASE("a child process takes a mutex biased to a thread it did not inherit")
{
    recursive_mutex m;
    std::thread([&] { std::lock_guard<recursive_mutex> biased(m); }).join();
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        bool ok = m.try_lock_for(1s);
        if (ok)
            m.unlock();
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}
