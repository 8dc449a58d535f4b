// Deadlock (issue 4): two processes in plain groups both find a key (both
// hold the descriptor page's read lock, met at a pipe barrier) and then
// replace it (both upgrade).  Exactly one gets NETSHM_EDEADLK; it ends its
// group, which must release every lock it held: the other process then
// completes while the first one waits, and the first one's retry succeeds.
// The counter ends incremented twice per round.
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::pipe_fds;
using netshm_test::receive_byte;
using netshm_test::scratch_names;
using netshm_test::send_byte;

constexpr int32_t key = 7;
constexpr int rounds = 10;
constexpr int barrier_timeout_ms = 10000;

// A counter value: v in every word, of a length decided by the round: one
// word, or 5000 words (84 pages), which netshm_find copies under the
// binding's own read lock instead of the descriptor page's.
std::vector<int32_t> counter_value(int32_t v, int round)
{
    return std::vector<int32_t>(round % 2 == 0 ? 1 : 5000, v);
}

struct attempt {
    int round;
    int to_other;    // write end towards the other process
    int from_other;  // read end from the other process
    bool meet;       // wait at the barrier between find and replace
    std::string failure;
};

// find; barrier; replace(v + 1).
int increment(netshm_table *table, void *ctx)
{
    auto &a = *static_cast<attempt *>(ctx);
    int32_t *value = nullptr;
    size_t len = 0;
    int rc = netshm_find(table, key, &value, &len);
    if (rc != NETSHM_OK) {
        a.failure = std::string("find: ") + netshm_last_error();
        return rc;
    }
    const int32_t v = value[0];
    netshm_free(value);
    if (a.meet) {
        // Both processes hold the descriptor page's read lock now.
        if (!send_byte(a.to_other, 'r') || receive_byte(a.from_other, barrier_timeout_ms) != 'r') {
            a.failure = "barrier: no answer from the other process";
            return -100;
        }
    }
    std::vector<int32_t> next = counter_value(v + 1, a.round);
    return netshm_replace(table, key, next.data(), next.size());
}

// One process of the pair: every round, one increment that meets the other
// process at the barrier, retried once after NETSHM_EDEADLK when the other
// one has completed.  Reports "<deadlocks> <failure>".
std::string contender(const std::string &name, int to_other, int from_other)
{
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
        netshm_manage(descr, NETSHM_RECORD_LOCKING, 0, -1, &table) != NETSHM_OK)
        return std::string("0 open/manage: ") + netshm_last_error();
    int deadlocks = 0;
    std::string failure;
    for (int round = 0; round < rounds && failure.empty(); ++round) {
        attempt a{round, to_other, from_other, true, {}};
        // Odd rounds use netshm_group, even ones begin and end by hand.
        auto run_group = [&] {
            if (round % 2 == 1)
                return netshm_group(table, increment, &a);
            if (int rc = netshm_group_begin(table); rc != NETSHM_OK)
                return rc;
            int rc = increment(table, &a);
            int end_rc = netshm_group_end(table);
            return rc != NETSHM_OK ? rc : end_rc;
        };
        int rc = run_group();
        if (rc == NETSHM_EDEADLK) {
            ++deadlocks;
            // The group has ended: the other process must complete now,
            // while this one holds nothing.
            if (receive_byte(from_other, barrier_timeout_ms) != 'd') {
                failure = "round " + std::to_string(round) +
                          ": the other process did not complete after this one's group ended";
                break;
            }
            a.meet = false;
            rc = run_group();
            if (rc == NETSHM_OK)
                send_byte(to_other, 'd');
        } else if (rc == NETSHM_OK) {
            send_byte(to_other, 'd');
            // The retry of the other process completes the round.
            if (receive_byte(from_other, barrier_timeout_ms) != 'd')
                failure = "round " + std::to_string(round) + ": the other process did not complete its retry";
        }
        if (rc != NETSHM_OK && failure.empty())
            failure = "round " + std::to_string(round) + ": " + netshm_strerror(rc) + ": " +
                      (a.failure.empty() ? netshm_last_error() : a.failure);
    }
    netshm_table_close(table);
    netshm_close(descr);
    return std::to_string(deadlocks) + " " + failure;
}

TEST_CASE("deadlock: of two plain groups that both upgrade, exactly one gets NETSHM_EDEADLK, releases all and "
          "retries",
          "[concurrency]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    {
        auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
        auto table = manage_ok(descr.get(), 256, 16);
        std::vector<int32_t> zero = counter_value(0, 0);
        REQUIRE_NETSHM_OK(netshm_add(table.get(), key, zero.data(), zero.size()));
    }
    pipe_fds a_to_b, b_to_a;
    child a(30, [&] { return contender(name, a_to_b.write_end(), b_to_a.read_end()); });
    child b(30, [&] { return contender(name, b_to_a.write_end(), a_to_b.read_end()); });

    int deadlocks = 0;
    for (child *c : {&a, &b}) {
        std::string report = c->finish();
        int n = 0;
        int consumed = 0;
        REQUIRE(std::sscanf(report.c_str(), "%d %n", &n, &consumed) == 1);
        INFO("report: " << report);
        CHECK(report.substr(static_cast<size_t>(consumed)).empty());
        deadlocks += n;
    }
    // Exactly one NETSHM_EDEADLK per round.
    CHECK(deadlocks == rounds);

    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDONLY);
    auto table = manage_ok(descr.get());
    int32_t *value = nullptr;
    size_t len = 0;
    REQUIRE_NETSHM_OK(netshm_find(table.get(), key, &value, &len));
    const std::vector<int32_t> final_value(value, value + len);
    netshm_free(value);
    CHECK(final_value == counter_value(2 * rounds, rounds - 1));
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(table.get(), &length));
    CHECK(length == 1);
}

} // namespace
