// Two processes, two tables, write groups taken in opposite orders (issue 16,
// defect 5): each process holds its first table's group and waits for its
// second.  Record locking without a timeout: the kernel sees the cycle and
// one process gets NETSHM_EDEADLK.  Nothing detects the cycle of two writer
// mutexes, so mutex locking needs a lock timeout: a wait runs out
// (NETSHM_ETIMEDOUT); the same with record locking and a timeout, which
// polls instead of queueing in the kernel.  Either way the process told
// backs off (ends its group), retries later, and both finish.  A hang is
// killed by the alarms and fails the test.
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::pipe_fds;
using netshm_test::receive_byte;
using netshm_test::scratch_names;
using netshm_test::send_byte;

constexpr int barrier_timeout_ms = 10000;

struct scenario {
    netshm_locking locking;
    unsigned timeout_ms;
    int expected;  // what the process (or processes) told gets
};

struct contender_setup {
    std::string first;
    std::string second;
    int32_t key;
    int to_other;
    int from_other;
    // Before its retry: the two processes retry at different times.
    std::chrono::milliseconds back_off;
};

// Whether the other process reached the same point (within 10 s).
bool meet_other(const contender_setup &c)
{
    return send_byte(c.to_other) && receive_byte(c.from_other, barrier_timeout_ms) == '!';
}

// Both groups, then the key bound in both tables; NETSHM_OK or the code of
// the second group's begin (the first one then ended).
int both_groups(netshm_table *first, netshm_table *second, int32_t key, const contender_setup *meet)
{
    if (int rc = netshm_group_begin_write(first); rc != NETSHM_OK)
        return rc;
    if (meet != nullptr && !meet_other(*meet)) {
        netshm_group_end(first);
        return -100;
    }
    int rc = netshm_group_begin_write(second);
    if (rc == NETSHM_OK) {
        rc = netshm_add(first, key, &key, 1);
        if (rc == NETSHM_OK)
            rc = netshm_add(second, key, &key, 1);
        int end_rc = netshm_group_end(second);
        rc = rc != NETSHM_OK ? rc : end_rc;
    }
    int end_rc = netshm_group_end(first);
    return rc != NETSHM_OK ? rc : end_rc;
}

// One process: "<code of the first attempt> <code of the retry>" (the retry
// only after a failure), or what went wrong setting up.
std::string contender(const scenario &s, const contender_setup &c)
{
    netshm_descr *descr[2] = {nullptr, nullptr};
    netshm_table *table[2] = {nullptr, nullptr};
    const std::string *names[2] = {&c.first, &c.second};
    for (int i = 0; i < 2; ++i) {
        if (netshm_open(NETSHM_TYPE_FILE, names[i]->c_str(), O_RDWR, 0, &descr[i]) != NETSHM_OK ||
            netshm_manage(descr[i], s.locking, 0, -1, &table[i]) != NETSHM_OK ||
            netshm_set_lock_timeout(table[i], s.timeout_ms) != NETSHM_OK)
            return std::string("open/manage: ") + netshm_last_error();
    }
    // Managing waits while another process holds a write group: both have
    // their tables before either begins one.
    if (!meet_other(c))
        return "no answer from the other process";
    const int first_rc = both_groups(table[0], table[1], c.key, &c);
    std::string report = std::to_string(first_rc);
    if (first_rc != NETSHM_OK) {
        std::this_thread::sleep_for(c.back_off);
        report += " " + std::to_string(both_groups(table[0], table[1], c.key, nullptr));
    }
    for (int i = 0; i < 2; ++i) {
        netshm_table_close(table[i]);
        netshm_close(descr[i]);
    }
    return report;
}

} // namespace

TEST_CASE("deadlock: two processes taking write groups of two tables in opposite orders are told, back off and "
          "finish",
          "[concurrency]")
{
    bound_test_time(60);
    const scenario s = GENERATE(scenario{NETSHM_RECORD_LOCKING, 0, NETSHM_EDEADLK},
                                scenario{NETSHM_MUTEX_LOCKING, 500, NETSHM_ETIMEDOUT},
                                scenario{NETSHM_RECORD_LOCKING, 500, NETSHM_ETIMEDOUT});
    INFO("locking " << s.locking << ", timeout " << s.timeout_ms << " ms");
    scratch_names names;
    const std::string x = names.fresh(NETSHM_TYPE_FILE);
    const std::string y = names.fresh(NETSHM_TYPE_FILE);
    for (const std::string &name : {x, y}) {
        auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
        manage_ok(descr.get(), 256, 16, s.locking);
    }
    pipe_fds a_to_b, b_to_a;
    using std::chrono::milliseconds;
    const contender_setup a_setup{x, y, 1, a_to_b.write_end(), b_to_a.read_end(), milliseconds{0}};
    const contender_setup b_setup{y, x, 2, b_to_a.write_end(), a_to_b.read_end(), milliseconds{1500}};
    const auto start = std::chrono::steady_clock::now();
    child a(30, [&] { return contender(s, a_setup); });
    child b(30, [&] { return contender(s, b_setup); });
    const std::string a_report = a.finish();
    const std::string b_report = b.finish();
    INFO("reports: a \"" << a_report << "\", b \"" << b_report << "\"");

    const std::string told = std::to_string(s.expected) + " 0";
    // The kernel tells exactly one process; a timeout may run out in both.
    if (s.expected == NETSHM_EDEADLK)
        CHECK(((a_report == told && b_report == "0") || (a_report == "0" && b_report == told)));
    else
        CHECK(((a_report == told || a_report == "0") && (b_report == told || b_report == "0") &&
               (a_report == told || b_report == told)));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));

    for (const std::string &name : {x, y}) {
        auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR);
        auto table = manage_ok(descr.get(), 0, -1, s.locking);
        CHECK(netshm_mem(table.get(), 1) == 1);
        CHECK(netshm_mem(table.get(), 2) == 1);
    }
}
