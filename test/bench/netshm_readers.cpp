// Readers under a paced writer (issue 8): a netshm file table of N W1 keys,
// one writer process replacing random keys at a fixed rate (paced by the
// clock), and R = 1, then R = 2 reader processes doing find_into of random
// keys for a fixed time, each checking every value.  Reports the readers'
// total finds/s for each R and the ratio R=2 / R=1: with mutex locking the
// readers take no lock and make no system call, so two readers on two cores
// should read nearly twice as much as one.
//
// Replace number g (1, 2, ...) writes generation g of its key's value; the
// writer publishes g before it writes, so a reader accepts only whole values
// of its key with a generation not above the published one.
//
//   netshm_readers [--variant mutex|record] [--n N = 100000] [--seconds S = 2]
//                  [--rate REPLACES_PER_S = 1000] [--dir DIR = /dev/shm]
#include "bench_fork.hpp"
#include "netshm_handle.hpp"

#include <atomic>
#include <cstdlib>
#include <fcntl.h>
#include <time.h>

namespace {

using bench::check_netshm;

struct options {
    std::string variant = "mutex";
    std::size_t n = 100000;
    double seconds = 2;
    double rate = 1000;
    std::string dir = "/dev/shm";
};

// The generation the writer is writing, in memory shared with the workers.
struct progress {
    std::atomic<long long> published;
};

netshm_locking locking_of(const std::string &variant)
{
    return variant == "mutex" ? NETSHM_MUTEX_LOCKING : NETSHM_RECORD_LOCKING;
}

void sleep_until(double when)
{
    timespec ts;
    ts.tv_sec = static_cast<time_t>(when);
    ts.tv_nsec = static_cast<long>((when - static_cast<double>(ts.tv_sec)) * 1e9);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

long long write_paced(netshm_table *table, const std::vector<std::int32_t> &keys, const options &o, double t0,
                      progress &shared)
{
    bench::xorshift32 rng(bench::mp_seed);
    const double until = t0 + o.seconds;
    // Generations go on from the previous run's: its values are still there.
    const long long first = shared.published.load();
    long long done = 0;
    for (;;) {
        const double due = t0 + static_cast<double>(done) / o.rate;
        if (due >= until)
            return done;
        sleep_until(due);
        const std::int32_t key = keys[rng.next() % keys.size()];
        const long long generation = first + done + 1;
        shared.published.store(generation, std::memory_order_release);
        bench::value v = bench::value_of(key, static_cast<std::uint32_t>(generation));
        check_netshm(netshm_replace(table, key, v.data(), v.size()), "netshm_replace");
        ++done;
    }
}

long long read_random(netshm_table *table, const std::vector<std::int32_t> &keys, const options &o, double t0,
                      int reader, const progress &shared)
{
    constexpr int batch = 256;  // finds between two looks at the clock
    bench::xorshift32 rng(bench::shuffle_seed + static_cast<std::uint32_t>(reader));
    bench::value out{};
    long long reads = 0;
    while (bench::now_seconds() < t0 + o.seconds) {
        for (int i = 0; i < batch; ++i) {
            const std::int32_t key = keys[rng.next() % keys.size()];
            std::size_t len = 0;
            check_netshm(netshm_find_into(table, key, out.data(), out.size(), &len), "netshm_find_into");
            const long long generation = bench::generation_of(key, out.data(), len);
            if (generation < 0 || generation > shared.published.load(std::memory_order_acquire))
                throw bench::failure("reader: key " + std::to_string(key) + " has a value the writer never wrote");
        }
        reads += batch;
    }
    return reads;
}

// One timed run with `readers` readers; prints its line, returns reads/s.
double run_readers(const std::string &path, const std::vector<std::int32_t> &keys, const options &o, int readers,
                   progress &shared)
{
    auto work = [&](int role, bench::start_gate &gate, bench::worker_result &r) {
        bench::netshm_handle mine(NETSHM_TYPE_FILE, path, O_RDWR, locking_of(o.variant));
        const double t0 = gate.start();
        r.ops = role == 0 ? write_paced(mine.table(), keys, o, t0, shared)
                          : read_random(mine.table(), keys, o, t0, role, shared);
        r.seconds = bench::now_seconds() - t0;
    };
    const auto results = bench::run_workers(1 + readers, static_cast<unsigned>(o.seconds) + 60, work);
    for (const auto &r : results)
        if (r.error[0] != '\0')
            throw bench::failure(std::string("worker: ") + r.error);
    const bench::worker_result &writer = results[0];
    const double replaces_per_s = static_cast<double>(writer.ops) / writer.seconds;
    if (replaces_per_s < 0.9 * o.rate)
        throw bench::failure("the writer made " + std::to_string(replaces_per_s) + " replaces/s, not " +
                             std::to_string(o.rate));
    long long reads = 0;
    double reads_per_s = 0;
    for (int role = 1; role <= readers; ++role) {
        reads += results[static_cast<std::size_t>(role)].ops;
        reads_per_s += static_cast<double>(results[static_cast<std::size_t>(role)].ops) /
                       results[static_cast<std::size_t>(role)].seconds;
    }
    bench::json_line()
        .text("system", "netshm")
        .text("variant", o.variant)
        .text("phase", "paced_readers_" + std::to_string(readers))
        .number("readers", readers)
        .number("ops", static_cast<double>(reads))
        .number("seconds", o.seconds)
        .number("ops_per_s", reads_per_s)
        .number("replaces_per_s", replaces_per_s)
        .print();
    return reads_per_s;
}

// After the runs: every key still bound once, to a value the writer wrote.
void check_final(netshm_table *table, std::size_t n, long long generations)
{
    std::size_t length = 0;
    check_netshm(netshm_length(table, &length), "netshm_length");
    struct tally {
        long long generations, wrong;
    } t{generations, 0};
    auto visit = [](std::int32_t key, const std::int32_t *words, std::size_t len, void *ctx) {
        auto &c = *static_cast<tally *>(ctx);
        const long long generation = bench::generation_of(key, words, len);
        c.wrong += generation < 0 || generation > c.generations ? 1 : 0;
        return 0;
    };
    check_netshm(netshm_iter(table, visit, &t), "netshm_iter");
    if (length != n || t.wrong != 0)
        throw bench::failure("after the runs: " + std::to_string(length) + " bindings, " + std::to_string(t.wrong) +
                             " wrong values");
}

void run(const std::string &path, const options &o)
{
    const bench::workload w = bench::make_workload(o.n);
    bench::netshm_handle created(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL, locking_of(o.variant));
    for (std::int32_t key : w.keys) {
        bench::value v = bench::value_of(key, 0);
        check_netshm(netshm_add(created.table(), key, v.data(), v.size()), "netshm_add");
    }
    void *memory = ::mmap(nullptr, sizeof(progress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        throw bench::failure("mmap of the shared progress failed");
    auto *shared = new (memory) progress{};
    const double one = run_readers(path, w.keys, o, 1, *shared);
    const double two = run_readers(path, w.keys, o, 2, *shared);
    check_final(created.table(), o.n, shared->published.load());
    bench::json_line()
        .text("system", "netshm")
        .text("variant", o.variant)
        .text("phase", "paced_readers_ratio")
        .number("ratio", two / one)
        .print();
    ::munmap(memory, sizeof(progress));
}

} // namespace

int main(int argc, char **argv)
{
    options o;
    bool usage = false;
    for (int i = 1; i < argc; i += 2) {
        const std::string option = argv[i];
        if (i + 1 >= argc)
            usage = true;
        else if (option == "--variant")
            o.variant = argv[i + 1];
        else if (option == "--n")
            o.n = std::strtoull(argv[i + 1], nullptr, 10);
        else if (option == "--seconds")
            o.seconds = std::atof(argv[i + 1]);
        else if (option == "--rate")
            o.rate = std::atof(argv[i + 1]);
        else if (option == "--dir")
            o.dir = argv[i + 1];
        else
            usage = true;
    }
    if (usage || (o.variant != "mutex" && o.variant != "record") || o.n < 1 || o.seconds <= 0 || o.rate <= 0) {
        std::fprintf(stderr,
                     "usage: %s [--variant mutex|record] [--n N] [--seconds S] [--rate REPLACES_PER_S] [--dir DIR]\n",
                     argv[0]);
        return 2;
    }
    const std::string path = o.dir + "/bench-netshm-readers-" + std::to_string(::getpid());
    int status = 0;
    try {
        run(path, o);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "netshm readers: FAILED: %s\n", e.what());
        status = 1;
    }
    ::unlink(path.c_str());
    return status;
}
