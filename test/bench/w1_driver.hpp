// The W1 workload's phases, run the same way against every store: a program
// defines a Store adapter and calls bench::main_w1<Store>(argc, argv).
//
// A Store provides:
//   static constexpr const char *system;              "netshm", "tdb", ...
//   static std::vector<std::string> variants();       accepted --variant values, default first
//   static std::string unavailable(const config &);   non-empty: the variant cannot run here
//   static std::string no_multi_process(const config &); non-empty: why mp_mixed is skipped
//   static std::vector<std::string> files(const config &); the files holding the store
//   Store(const config &, bool create);               create: a new store; else open it
//   void add(key, const value &);  void replace(key, const value &);  void remove(key);
//   bool find(key, value &out, std::size_t &len);     copies the value out; false if absent
//   void iter(F f);                                   f(key, const int32_t *words, size_t len), noexcept
//   std::size_t length();
// and optionally group_begin() / group_end(): then find_hit_group64 runs too;
// and optionally reopen_after_fork(): the mp_mixed workers then reopen the
// store they inherited instead of opening a new one (TDB refuses a second
// handle of a file its process has open, and a forked child inherits that).
// Every call throws bench::failure when the store fails.
#pragma once

#include "bench_common.hpp"
#include "bench_fork.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <sys/stat.h>
#include <unistd.h>

namespace bench {

struct config {
    std::size_t n = 100000;
    long long mp_ops = 200000;
    std::string dir = "/dev/shm";
    std::string variant;
    std::string base;  // dir + "/bench-SYSTEM-VARIANT-PID": the stem of the store's files
};

template <class Store>
class w1_run {
public:
    explicit w1_run(const config &c) : config_(c), work_(make_workload(c.n)) {}

    void run()
    {
        Store store(config_, true);
        load(store);
        memory();
        find_hit(store);
        if constexpr (requires { store.group_begin(); store.group_end(); })
            find_hit_group64(store);
        find_miss(store);
        replace(store);
        iter(store);
        remove(store);
        mp_mixed(store);
    }

private:
    json_line line(std::string_view phase) const
    {
        json_line l;
        l.text("system", Store::system).text("variant", config_.variant).text("phase", phase);
        return l;
    }

    void report(std::string_view phase, double ops, double seconds) const
    {
        line(phase).number("ops", ops).number("seconds", seconds).number("ops_per_s", ops / seconds).print();
    }

    // Runs body, timed, and reports it as `ops` operations of `phase`.
    template <class Body>
    void timed(std::string_view phase, std::size_t ops, Body body) const
    {
        double t0 = now_seconds();
        body();
        report(phase, static_cast<double>(ops), now_seconds() - t0);
    }

    static void require(bool ok, const std::string &what)
    {
        if (!ok)
            throw failure(what);
    }

    void load(Store &store)
    {
        timed("load", config_.n, [&] {
            for (std::int32_t key : work_.keys)
                store.add(key, value_of(key, 0));
        });
        require(store.length() == config_.n, "load: wrong length after adding every key");
    }

    // Memory the store's files really hold (tmpfs pages allocated), after load.
    void memory() const
    {
        double allocated = 0, size = 0;
        for (const std::string &file : Store::files(config_)) {
            struct stat st;
            if (::stat(file.c_str(), &st) == 0) {
                allocated += static_cast<double>(st.st_blocks) * 512;
                size += static_cast<double>(st.st_size);
            }
        }
        line("memory")
            .number("bindings", static_cast<double>(config_.n))
            .number("shm_bytes", allocated)
            .number("file_bytes", size)
            .number("bytes_per_binding", allocated / static_cast<double>(config_.n))
            .print();
    }

    long long expected_sum(std::uint32_t generation) const
    {
        long long sum = 0;
        for (std::int32_t key : work_.keys)
            sum += value_sum(value_of(key, generation).data());
        return sum;
    }

    // What the finds of find_hit and find_hit_group64 saw.
    struct hit_tally {
        long long sum = 0, missing = 0, misshapen = 0;
    };

    void find_keys(Store &store, std::size_t first, std::size_t last, hit_tally &tally) const
    {
        value out{};
        std::size_t len = 0;
        for (std::size_t i = first; i < last; ++i) {
            if (!store.find(work_.order[i], out, len))
                ++tally.missing;
            else if (len != value_words)
                ++tally.misshapen;
            else
                tally.sum += value_sum(out.data());
        }
    }

    void check_hits(const char *phase, const hit_tally &tally) const
    {
        require(tally.missing == 0 && tally.misshapen == 0 && tally.sum == expected_sum(0),
                std::string(phase) + ": " + std::to_string(tally.missing) + " keys not found, " +
                    std::to_string(tally.misshapen) + " values of the wrong length, or a wrong sum of the values");
    }

    void find_hit(Store &store)
    {
        hit_tally tally;
        timed("find_hit", config_.n, [&] { find_keys(store, 0, config_.n, tally); });
        check_hits("find_hit", tally);
    }

    void find_hit_group64(Store &store)
    {
        hit_tally tally;
        timed("find_hit_group64", config_.n, [&] {
            for (std::size_t first = 0; first < config_.n; first += 64) {
                store.group_begin();
                find_keys(store, first, std::min(first + 64, config_.n), tally);
                store.group_end();
            }
        });
        check_hits("find_hit_group64", tally);
    }

    void find_miss(Store &store)
    {
        value out{};
        std::size_t len = 0;
        long long found = 0;
        timed("find_miss", config_.n, [&] {
            for (std::int32_t key : work_.misses)
                found += store.find(key, out, len) ? 1 : 0;
        });
        require(found == 0, "find_miss: " + std::to_string(found) + " absent keys were found");
    }

    void replace(Store &store)
    {
        timed("replace", config_.n, [&] {
            for (std::int32_t key : work_.order)
                store.replace(key, value_of(key, 1));
        });
        require(store.length() == config_.n, "replace: the number of bindings changed");
    }

    void iter(Store &store)
    {
        long long count = 0, key_sum = 0, wrong = 0;
        timed("iter", config_.n, [&] {
            store.iter([&](std::int32_t key, const std::int32_t *words, std::size_t len) noexcept {
                ++count;
                key_sum += key;
                wrong += generation_of(key, words, len) == 1 ? 0 : 1;
            });
        });
        long long expected_keys = 0;
        for (std::int32_t key : work_.keys)
            expected_keys += key;
        require(count == static_cast<long long>(config_.n) && key_sum == expected_keys && wrong == 0,
                "iter: " + std::to_string(count) + " bindings visited, " + std::to_string(wrong) +
                    " values not the replaced ones, or the wrong keys");
    }

    void remove(Store &store)
    {
        std::size_t half = config_.n / 2;
        timed("remove", half, [&] {
            for (std::size_t i = 0; i < half; ++i)
                store.remove(work_.keys[i]);
        });
        require(store.length() == config_.n - half, "remove: wrong length afterwards");
        value out{};
        std::size_t len = 0;
        for (std::size_t i = 0; i < config_.n; ++i)
            require(store.find(work_.keys[i], out, len) == (i >= half), "remove: a key is bound after its removal, "
                                                                         "or unbound without one");
    }

    // One mp_mixed process: 90 % find, 10 % replace of the live keys; every
    // value found must be well formed.
    void mixed_ops(Store &store, const std::vector<std::int32_t> &live, int process, start_gate &gate,
                   worker_result &result) const
    {
        xorshift32 rng(mp_seed + static_cast<std::uint32_t>(process));
        value out{};
        std::size_t len = 0;
        double t0 = gate.start();
        for (long long op = 0; op < config_.mp_ops; ++op) {
            bool writes = rng.next() % 10 == 0;
            std::int32_t key = live[rng.next() % live.size()];
            if (writes) {
                store.replace(key, value_of(key, static_cast<std::uint32_t>(2 + process + 2 * op)));
            } else if (!store.find(key, out, len) || generation_of(key, out.data(), len) < 0) {
                throw failure("mp_mixed: key " + std::to_string(key) + " not found or its value torn");
            }
        }
        result.seconds = now_seconds() - t0;
        result.ops = config_.mp_ops;
    }

    // 2 processes, each opening the store itself, on the keys left by remove.
    void mp_mixed(Store &store)
    {
        if (std::string why = Store::no_multi_process(config_); !why.empty()) {
            line("mp_mixed").text("skipped", why).print();
            return;
        }
        std::vector<std::int32_t> live(work_.keys.begin() + static_cast<std::ptrdiff_t>(config_.n / 2),
                                       work_.keys.end());
        auto results = run_workers(2, 600, [&](int process, start_gate &gate, worker_result &result) {
            if constexpr (requires { store.reopen_after_fork(); }) {
                store.reopen_after_fork();
                mixed_ops(store, live, process, gate, result);
            } else {
                Store mine(config_, false);
                mixed_ops(mine, live, process, gate, result);
            }
        });
        double slowest = 0;
        for (const worker_result &r : results) {
            require(r.error[0] == '\0', std::string("mp_mixed worker: ") + r.error);
            slowest = std::max(slowest, r.seconds);
        }
        report("mp_mixed", static_cast<double>(2 * config_.mp_ops), slowest);
        long long count = 0, wrong = 0;
        store.iter([&](std::int32_t key, const std::int32_t *words, std::size_t len) noexcept {
            ++count;
            wrong += generation_of(key, words, len) >= 1 ? 0 : 1;
        });
        require(count == static_cast<long long>(live.size()) && wrong == 0 && store.length() == live.size(),
                "mp_mixed: wrong number of bindings or malformed values afterwards");
    }

    config config_;
    workload work_;
};

inline void remove_files(const std::vector<std::string> &files)
{
    for (const std::string &file : files)
        ::unlink(file.c_str());
}

// Usage: PROGRAM [--variant V] [--n N] [--mp-ops N] [--dir DIR]
template <class Store>
int main_w1(int argc, char **argv)
{
    config c;
    c.variant = Store::variants().front();
    for (int i = 1; i < argc; i += 2) {
        std::string option = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "%s: %s needs a value\n", argv[0], option.c_str());
            return 2;
        }
        std::string arg = argv[i + 1];
        if (option == "--variant")
            c.variant = arg;
        else if (option == "--n")
            c.n = std::strtoull(arg.c_str(), nullptr, 10);
        else if (option == "--mp-ops")
            c.mp_ops = std::strtoll(arg.c_str(), nullptr, 10);
        else if (option == "--dir")
            c.dir = arg;
        else {
            std::fprintf(stderr, "usage: %s [--variant %s] [--n N] [--mp-ops N] [--dir DIR]\n", argv[0],
                         Store::variants().front().c_str());
            return 2;
        }
    }
    auto variants = Store::variants();
    if (std::find(variants.begin(), variants.end(), c.variant) == variants.end() || c.n < 2 || c.mp_ops < 1) {
        std::fprintf(stderr, "%s: unknown variant %s, or n < 2, or mp-ops < 1\n", argv[0], c.variant.c_str());
        return 2;
    }
    c.base = c.dir + "/bench-" + Store::system + "-" + c.variant + "-" + std::to_string(::getpid());
    if (std::string why = Store::unavailable(c); !why.empty()) {
        json_line().text("system", Store::system).text("variant", c.variant).text("skipped", why).print();
        return 0;
    }
    remove_files(Store::files(c));
    int status = 0;
    try {
        w1_run<Store>(c).run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s %s: FAILED: %s\n", Store::system, c.variant.c_str(), e.what());
        status = 1;
    }
    remove_files(Store::files(c));
    return status;
}

} // namespace bench
