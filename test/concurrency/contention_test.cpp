// Exactness under contention (issue 4): 1, 2 and 4 processes x 5000
// read-modify-write groups { find; replace(v + 1) } on 16 shared counters,
// while the processes add keys of their own and the table grows from one hash
// page through 8 to 10 extents.  Every increment must count, once: with
// netshm_group_write, and with plain netshm_group retried on NETSHM_EDEADLK.
// Prints the throughput of each.
#include "contention_workload.hpp"
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::scratch_names;

constexpr int iterations = 5000;

// Number of hash extents of the table (descriptor page words 8 + 2i).
int hash_extents(netshm_table *table)
{
    int32_t *base = nullptr;
    size_t pages = 0, words = 0;
    REQUIRE_NETSHM_OK(netshm_memory(table, &base, &pages, &words));
    const int32_t *descriptor = base + base[4] * static_cast<std::ptrdiff_t>(words);
    int extents = 0;
    while (extents < 16 && descriptor[8 + 2 * extents] != 0)
        ++extents;
    return extents;
}

// Every counter, the sum, every extra key and the binding count are exact.
void check_final_table(const std::string &name, int processes)
{
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDONLY);
    auto table = manage_ok(descr.get());

    std::map<int, int32_t> expected;
    for (int p = 0; p < processes; ++p)
        for (int i = 0; i < iterations; ++i)
            ++expected[contention::counter_of(p, i)];
    int64_t sum = 0;
    for (int c = 0; c < contention::counters; ++c) {
        int32_t *value = nullptr;
        size_t len = 0;
        REQUIRE_NETSHM_OK(netshm_find(table.get(), contention::counter_base + c, &value, &len));
        const int32_t count = contention::count_of(value, len);
        netshm_free(value);
        INFO("counter " << c);
        CHECK(count == expected[c]);
        sum += count;
    }
    CHECK(sum == int64_t{processes} * iterations);

    size_t extras = 0;
    for (int p = 0; p < processes; ++p)
        for (int i = 0; i < iterations; ++i) {
            if (!contention::adds_extra(i))
                continue;
            ++extras;
            const int32_t key = contention::extra_key(p, i);
            int32_t buffer[8];
            size_t len = 0;
            INFO("extra key " << key);
            REQUIRE_NETSHM_OK(netshm_find_into(table.get(), key, buffer, 8, &len));
            REQUIRE(std::vector<int32_t>(buffer, buffer + len) == contention::extra_value(key));
        }
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(table.get(), &length));
    CHECK(length == contention::counters + extras);
    // One hash page at the start; 4016 keys need 10 extents (1023 pages),
    // 1016 keys 8.
    CHECK(hash_extents(table.get()) >= 8);
    if (processes == 4)
        CHECK(hash_extents(table.get()) == 10);
}

// Runs the workload with 1, 2 and 4 processes, each on a new table, checks
// each result and prints the throughput.
void run_contention(bool write_groups, netshm_locking locking = NETSHM_RECORD_LOCKING)
{
    bound_test_time(100);
    scratch_names names;
    const bool mutex = locking == NETSHM_MUTEX_LOCKING;
    std::string line = std::string("throughput of ") + (mutex ? "mutex locking, " : "") +
                       (write_groups ? "netshm_group_write" : "netshm_group retried on NETSHM_EDEADLK") +
                       " { find; replace(v + 1) }, " + std::to_string(iterations) + " per process:";
    for (int processes : {1, 2, 4}) {
        CAPTURE(processes);
        const std::string name = names.fresh(NETSHM_TYPE_FILE);
        REQUIRE(contention::create_table(name, locking).empty());
        contention::round_result round =
            contention::run_round(name, processes, iterations, write_groups, 90, locking);
        INFO("failures: " << round.failures.size() << (round.failures.empty() ? "" : " first: " + round.failures[0]));
        REQUIRE(round.failures.empty());
        // A write group, or any group with one mutex, cannot deadlock.
        if (write_groups || mutex)
            CHECK(round.deadlocks == 0);
        check_final_table(name, processes);
        char numbers[160];
        std::snprintf(numbers, sizeof numbers, " %d process%s %.0f ops/s (%.2f s, %ld NETSHM_EDEADLK retried);",
                      processes, processes == 1 ? "" : "es", processes * iterations / round.seconds, round.seconds,
                      round.deadlocks);
        line += numbers;
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

TEST_CASE("contention: 4 processes x 5000 group_write { find; replace(v + 1) } on 16 counters are exact while "
          "the table grows",
          "[concurrency]")
{
    run_contention(true);
}

TEST_CASE("contention: 4 processes x 5000 plain groups { find; replace(v + 1) } retried on NETSHM_EDEADLK are "
          "exact while the table grows",
          "[concurrency]")
{
    run_contention(false);
}

TEST_CASE("contention: 4 processes x 5000 plain groups { find; replace(v + 1) } with mutex locking are exact "
          "while the table grows",
          "[concurrency][mutex]")
{
    run_contention(false, NETSHM_MUTEX_LOCKING);
}

} // namespace
