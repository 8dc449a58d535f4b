// Growth under contention: 2 writer processes add K keys each (disjoint, W1's
// xorshift32 keys and values) to one new netshm table with record locking,
// while a reader process finds keys the writers have already added and checks
// their values.  Reports adds/s (2K / slowest writer) and finds/s of the reader.
//
// The remaps are counted from outside: each worker makes a getpid() system call
// right before its timed loop, so that `strace -f --seccomp-bpf -e
// trace=mmap,getpid` (run_benchmarks.py) can count the MAP_SHARED mappings of
// the table each process makes during the loop.  The workers' pids are printed.
//
//   netshm_growth [--keys K = 200000] [--dir DIR = /dev/shm]
#include "bench_fork.hpp"
#include "netshm_handle.hpp"

#include <atomic>
#include <cstdlib>
#include <fcntl.h>
#include <sys/syscall.h>

namespace {

using bench::check_netshm;

constexpr int writers = 2;

// How far each writer got, in memory shared by the workers.
struct progress {
    std::atomic<long long> added[writers];
    std::atomic<int> writers_done;
};

// Counts a writer done however it ends, so that the reader stops.
class writer_done {
public:
    explicit writer_done(progress &shared) : shared_(shared) {}
    ~writer_done() { shared_.writers_done.fetch_add(1); }
    writer_done(const writer_done &) = delete;
    writer_done &operator=(const writer_done &) = delete;

private:
    progress &shared_;
};

void write_keys(netshm_table *table, const std::int32_t *keys, long long count, std::atomic<long long> &added)
{
    for (long long i = 0; i < count; ++i) {
        bench::value v = bench::value_of(keys[i], 0);
        check_netshm(netshm_add(table, keys[i], v.data(), v.size()), "netshm_add");
        added.store(i + 1, std::memory_order_release);
    }
}

long long read_keys(netshm_table *table, const std::vector<std::int32_t> &keys, long long per_writer,
                    progress &shared)
{
    bench::xorshift32 rng(bench::mp_seed);
    bench::value out{};
    long long finds = 0;
    while (shared.writers_done.load() < writers) {
        std::uint32_t writer = rng.next() % writers;
        long long added = shared.added[writer].load(std::memory_order_acquire);
        if (added == 0)
            continue;
        std::int32_t key = keys[static_cast<std::size_t>(writer * per_writer + rng.next() % added)];
        std::size_t len = 0;
        int rc = netshm_find_into(table, key, out.data(), out.size(), &len);
        if (rc == NETSHM_ENOTFOUND || (rc == NETSHM_OK && bench::generation_of(key, out.data(), len) != 0))
            throw bench::failure("reader: key " + std::to_string(key) + " added but not found, or its value wrong");
        check_netshm(rc, "netshm_find_into");
        ++finds;
    }
    return finds;
}

void check_final(netshm_table *table, const std::vector<std::int32_t> &keys)
{
    std::size_t length = 0;
    check_netshm(netshm_length(table, &length), "netshm_length");
    long long wrong = 0;
    auto visit = [](std::int32_t key, const std::int32_t *words, std::size_t len, void *ctx) {
        *static_cast<long long *>(ctx) += bench::generation_of(key, words, len) == 0 ? 0 : 1;
        return 0;
    };
    check_netshm(netshm_iter(table, visit, &wrong), "netshm_iter");
    if (length != keys.size() || wrong != 0)
        throw bench::failure("after the run: " + std::to_string(length) + " bindings, " + std::to_string(wrong) +
                             " malformed values");
}

void run(const std::string &path, long long per_writer)
{
    std::vector<std::int32_t> keys;
    bench::xorshift32 generator(bench::w1_seed);
    for (long long i = 0; i < writers * per_writer; ++i)
        keys.push_back(static_cast<std::int32_t>(generator.next()));
    bench::netshm_handle created(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL, NETSHM_RECORD_LOCKING);

    void *memory = ::mmap(nullptr, sizeof(progress), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        throw bench::failure("mmap of the shared progress counters failed");
    auto *shared = new (memory) progress{};

    auto work = [&](int role, bench::start_gate &gate, bench::worker_result &r) {
        bench::netshm_handle mine(NETSHM_TYPE_FILE, path, O_RDWR, NETSHM_RECORD_LOCKING);
        double t0 = gate.start();
        ::syscall(SYS_getpid);  // the marker for strace: the timed loop starts
        if (role < writers) {
            writer_done done(*shared);
            write_keys(mine.table(), keys.data() + role * per_writer, per_writer, shared->added[role]);
            r.ops = per_writer;
        } else {
            r.ops = read_keys(mine.table(), keys, per_writer, *shared);
        }
        r.seconds = bench::now_seconds() - t0;
    };
    auto results = bench::run_workers(writers + 1, 600, work);
    double slowest_writer = 0;
    for (int role = 0; role <= writers; ++role) {
        const bench::worker_result &r = results[static_cast<std::size_t>(role)];
        if (r.error[0] != '\0')
            throw bench::failure(std::string("worker: ") + r.error);
        if (role < writers)
            slowest_writer = std::max(slowest_writer, r.seconds);
    }
    auto line = [](const char *phase) {
        bench::json_line l;
        l.text("system", "netshm").text("variant", "record").text("phase", phase);
        return l;
    };
    line("growth_add")
        .number("ops", static_cast<double>(writers * per_writer))
        .number("seconds", slowest_writer)
        .number("ops_per_s", static_cast<double>(writers * per_writer) / slowest_writer)
        .number("writer0_pid", results[0].pid)
        .number("writer1_pid", results[1].pid)
        .print();
    const bench::worker_result &reader = results[writers];
    line("growth_find")
        .number("ops", static_cast<double>(reader.ops))
        .number("seconds", reader.seconds)
        .number("ops_per_s", static_cast<double>(reader.ops) / reader.seconds)
        .number("reader_pid", reader.pid)
        .print();
    check_final(created.table(), keys);
    std::int32_t *base = nullptr;
    std::size_t pages = 0, words_per_page = 0;
    check_netshm(netshm_memory(created.table(), &base, &pages, &words_per_page), "netshm_memory");
    line("growth_table")
        .number("bindings", static_cast<double>(keys.size()))
        .number("pages", static_cast<double>(pages))
        .print();
    ::munmap(memory, sizeof(progress));
}

} // namespace

int main(int argc, char **argv)
{
    long long per_writer = 200000;
    std::string dir = "/dev/shm";
    for (int i = 1; i < argc; i += 2) {
        std::string option = argv[i];
        if (i + 1 < argc && option == "--keys") {
            per_writer = std::atoll(argv[i + 1]);
        } else if (i + 1 < argc && option == "--dir") {
            dir = argv[i + 1];
        } else {
            std::fprintf(stderr, "usage: %s [--keys K per writer] [--dir DIR]\n", argv[0]);
            return 2;
        }
    }
    if (per_writer < 1) {
        std::fprintf(stderr, "%s: --keys must be positive\n", argv[0]);
        return 2;
    }
    const std::string path = dir + "/bench-netshm-growth-" + std::to_string(::getpid());
    int status = 0;
    try {
        run(path, per_writer);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "netshm growth: FAILED: %s\n", e.what());
        status = 1;
    }
    ::unlink(path.c_str());
    return status;
}
