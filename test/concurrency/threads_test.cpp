// Threads (issue 4, DESIGN §7): 8 threads sharing one table handle and 8
// threads with a descriptor and a handle each, all on one object, doing
// find / replace / add / remove / iter and groups → exact final results; and
// closing one handle while another thread's handle holds locks in a group
// keeps those locks.  The first test runs with mutex locking too (its
// optimistic readers race the writers).  Must be clean under ThreadSanitizer
// (meson setup build-tsan -Db_sanitize=thread), without suppressions.
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::descr_ptr;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::probe_write_lock;
using netshm_test::scratch_names;
using netshm_test::table_ptr;

constexpr int shared_handle_threads = 8;
constexpr int own_handle_threads = 8;
constexpr int threads = shared_handle_threads + own_handle_threads;
constexpr int counters = 8;
constexpr int iterations = 600;
constexpr unsigned pagesize = 256;
constexpr off_t descriptor_byte = pagesize / 4;

int32_t counter_key(int c) { return c; }
int32_t own_key(int t) { return 100 + t; }
int32_t temp_key(int t) { return 200 + t; }
int32_t extra_key(int t, int i) { return 10000 + t * iterations + i; }
int counter_of(int t, int i) { return (t + i) % counters; }
bool adds_extra(int i) { return i % 3 == 0; }

// Collects the first failure of a thread.
struct thread_log {
    std::string failure;
    void check(bool ok, const std::string &what)
    {
        if (!ok && failure.empty())
            failure = what + " (netshm_last_error: " + netshm_last_error() + ")";
    }
};

struct increment_ctx {
    int32_t key;
    thread_log *log;
};

// find; replace(v + 1): the body of the groups.
int increment(netshm_table *table, void *ctx)
{
    auto &c = *static_cast<increment_ctx *>(ctx);
    int32_t value[2];
    size_t len = 0;
    int rc = netshm_find_into(table, c.key, value, 2, &len);
    if (rc != NETSHM_OK)
        return rc;
    if (len != 2 || value[0] != c.key)
        return -100;
    ++value[1];
    return netshm_replace(table, c.key, value, 2);
}

struct iter_ctx {
    size_t bindings = 0;
    bool well_formed = true;
};

int check_binding(int32_t key, const int32_t *value, size_t len, void *ctx)
{
    auto &c = *static_cast<iter_ctx *>(ctx);
    ++c.bindings;
    // Counters, own keys and extras all start with their key (temp keys too).
    if (len < 1 || value[0] != key)
        c.well_formed = false;
    return 0;
}

int count_key(int32_t, void *ctx)
{
    ++*static_cast<size_t *>(ctx);
    return 0;
}

void worker(netshm_table *table, int t, thread_log &log)
{
    for (int i = 0; i < iterations && log.failure.empty(); ++i) {
        // A read-modify-write group, three ways: by hand, netshm_group,
        // netshm_group_write.
        increment_ctx inc{counter_key(counter_of(t, i)), &log};
        switch (i % 3) {
        case 0: {
            log.check(netshm_group_begin(table) == NETSHM_OK, "group_begin");
            int rc = increment(table, &inc);
            log.check(netshm_group_end(table) == NETSHM_OK, "group_end");
            log.check(rc == NETSHM_OK, "increment in a group by hand: " + std::to_string(rc));
            break;
        }
        case 1:
            log.check(netshm_group(table, increment, &inc) == NETSHM_OK, "netshm_group");
            break;
        default:
            log.check(netshm_group_write(table, increment, &inc) == NETSHM_OK, "netshm_group_write");
        }

        // Only this thread writes its own key: it reads back what it wrote.
        const int32_t own[2] = {own_key(t), i};
        log.check(netshm_replace(table, own_key(t), own, 2) == NETSHM_OK, "replace own key");
        int32_t back[2] = {0, 0};
        size_t len = 0;
        log.check(netshm_find_into(table, own_key(t), back, 2, &len) == NETSHM_OK && len == 2 && back[1] == i,
                  "find_into own key");

        // A second binding that hides the first, then goes again.
        const int32_t temp[3] = {temp_key(t), i, -i};
        log.check(netshm_add(table, temp_key(t), temp, 3) == NETSHM_OK, "add temp");
        log.check(netshm_mem(table, temp_key(t)) == 1, "mem temp");
        log.check(netshm_remove(table, temp_key(t)) == NETSHM_OK, "remove temp");
        log.check(netshm_mem(table, temp_key(t)) == 0, "temp removed");

        if (adds_extra(i)) {
            const int32_t extra[1] = {extra_key(t, i)};
            log.check(netshm_add(table, extra_key(t, i), extra, 1) == NETSHM_OK, "add extra");
        }
        if (i % 50 == 0) {
            iter_ctx all;
            log.check(netshm_iter(table, check_binding, &all) == NETSHM_OK && all.well_formed, "iter");
            size_t keys = 0;
            log.check(netshm_iter_keys(table, count_key, &keys) == NETSHM_OK && keys >= counters, "iter_keys");
            size_t length = 0;
            log.check(netshm_length(table, &length) == NETSHM_OK && length >= counters, "length");
        }
    }
}

TEST_CASE("threads: 8 threads on one handle and 8 with their own handles give exact results", "[threads]")
{
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(locking);
    bound_test_time(250);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    descr_ptr shared_descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    table_ptr shared_table = manage_ok(shared_descr.get(), pagesize, 1, locking);
    for (int c = 0; c < counters; ++c) {
        const int32_t zero[2] = {counter_key(c), 0};
        REQUIRE_NETSHM_OK(netshm_add(shared_table.get(), counter_key(c), zero, 2));
    }

    std::vector<thread_log> logs(threads);
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t)
        running.emplace_back([&, t] {
            if (t < shared_handle_threads) {
                worker(shared_table.get(), t, logs[t]);
                return;
            }
            netshm_descr *descr = nullptr;
            netshm_table *table = nullptr;
            if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
                netshm_manage(descr, locking, 0, -1, &table) != NETSHM_OK) {
                logs[t].failure = std::string("open/manage: ") + netshm_last_error();
            } else {
                worker(table, t, logs[t]);
            }
            netshm_table_close(table);
            netshm_close(descr);
        });
    for (auto &thread : running)
        thread.join();
    for (int t = 0; t < threads; ++t) {
        INFO("thread " << t);
        CHECK(logs[t].failure == "");
    }

    std::map<int, int32_t> expected;
    for (int t = 0; t < threads; ++t)
        for (int i = 0; i < iterations; ++i)
            ++expected[counter_of(t, i)];
    int64_t sum = 0;
    for (int c = 0; c < counters; ++c) {
        int32_t value[2];
        size_t len = 0;
        REQUIRE_NETSHM_OK(netshm_find_into(shared_table.get(), counter_key(c), value, 2, &len));
        INFO("counter " << c);
        CHECK(value[1] == expected[c]);
        sum += value[1];
    }
    CHECK(sum == threads * iterations);
    size_t extras = 0;
    for (int t = 0; t < threads; ++t) {
        int32_t value[2];
        size_t len = 0;
        REQUIRE_NETSHM_OK(netshm_find_into(shared_table.get(), own_key(t), value, 2, &len));
        CHECK(value[1] == iterations - 1);
        CHECK(netshm_mem(shared_table.get(), temp_key(t)) == 0);
        for (int i = 0; i < iterations; ++i)
            if (adds_extra(i)) {
                ++extras;
                CHECK(netshm_mem(shared_table.get(), extra_key(t, i)) == 1);
            }
    }
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(shared_table.get(), &length));
    CHECK(length == counters + threads + extras);
}

// A thread in a group holding the descriptor page's write lock, until told
// to end it.
class group_holder {
public:
    explicit group_holder(const std::string &name, std::function<void(netshm_table *)> inside = {})
        : thread_([this, name, inside] { run(name, inside); })
    {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return holding_; });
    }
    ~group_holder()
    {
        if (thread_.joinable())
            finish();
    }
    void end_group()
    {
        std::lock_guard<std::mutex> lock(m_);
        release_ = true;
        cv_.notify_all();
    }
    // Ends the group, waits for the thread; what went wrong there, or "".
    std::string finish()
    {
        end_group();
        thread_.join();
        return report_;
    }

private:
    void run(const std::string &name, const std::function<void(netshm_table *)> &inside)
    {
        netshm_descr *descr = nullptr;
        netshm_table *table = nullptr;
        std::string report;
        const int32_t value[1] = {42};
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
            netshm_manage(descr, NETSHM_RECORD_LOCKING, 0, -1, &table) != NETSHM_OK ||
            netshm_group_begin(table) != NETSHM_OK || netshm_replace(table, 1, value, 1) != NETSHM_OK)
            report = std::string("holder: ") + netshm_last_error();
        else if (inside)
            inside(table);
        {
            // Not held while calling the library: the object's mutex is
            // taken under m_ nowhere.
            std::unique_lock<std::mutex> lock(m_);
            holding_ = true;
            cv_.notify_all();
            cv_.wait(lock, [&] { return release_; });
        }
        if (table != nullptr && netshm_group_end(table) != NETSHM_OK)
            report += std::string("group_end: ") + netshm_last_error();
        netshm_table_close(table);
        netshm_close(descr);
        report_ = report;
    }

    std::mutex m_;
    std::condition_variable cv_;
    bool holding_ = false;
    bool release_ = false;
    std::string report_;
    std::thread thread_;
};

// A process's write to key 2 in a forked child; the child is bounded in time.
std::unique_ptr<child> write_from_another_process(const std::string &name)
{
    return std::make_unique<child>(30, [name]() -> std::string {
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        const int32_t value[1] = {7};
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK ||
            netshm_replace(t, 2, value, 1) != NETSHM_OK)
            return std::string("writer: ") + netshm_last_error();
        netshm_table_close(t);
        netshm_close(d);
        return std::string();
    });
}

void create_table(const std::string &name)
{
    descr_ptr descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    table_ptr table = manage_ok(descr.get(), pagesize, 16);
    const int32_t zero[1] = {0};
    REQUIRE_NETSHM_OK(netshm_add(table.get(), 1, zero, 1));
}

TEST_CASE("threads: closing another handle of the object from another thread keeps a group's locks", "[threads]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    create_table(name);
    descr_ptr other_descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR);
    table_ptr other_table = manage_ok(other_descr.get());

    auto holder = std::make_unique<group_holder>(name);
    // This thread closes its handles while the holder's group runs (closing
    // the descriptor may wait for the group's end: it must not drop its locks).
    std::atomic<bool> closed{false};
    int table_close_rc = -1000, close_rc = -1000;
    std::thread closer([&] {
        table_close_rc = netshm_table_close(other_table.release());
        close_rc = netshm_close(other_descr.release());
        closed = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto probe = probe_write_lock(name, descriptor_byte);
    CHECK(probe.type == F_WRLCK);
    CHECK(probe.holder == ::getpid());
    auto writer = write_from_another_process(name);
    CHECK_FALSE(writer->exited_within(300));

    holder->end_group();
    closer.join();
    CHECK(closed);
    CHECK(table_close_rc == NETSHM_OK);
    CHECK(close_rc == NETSHM_OK);
    REQUIRE(writer->exited_within(5000));
    CHECK(writer->finish().empty());
    CHECK(holder->finish().empty());
    CHECK(probe_write_lock(name, descriptor_byte).type == F_UNLCK);
}

TEST_CASE("threads: opening and closing another handle inside a group keeps the group's locks", "[threads]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    create_table(name);
    std::string inside_report;
    auto holder = std::make_unique<group_holder>(name, [&](netshm_table *) {
        // A second handle, opened, used and closed by the thread in the group.
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        int32_t value[1];
        size_t len = 0;
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK ||
            netshm_find_into(t, 1, value, 1, &len) != NETSHM_OK || value[0] != 42 ||
            netshm_table_close(t) != NETSHM_OK || netshm_close(d) != NETSHM_OK)
            inside_report = std::string("second handle: ") + netshm_last_error();
    });
    auto probe = probe_write_lock(name, descriptor_byte);
    CHECK(probe.type == F_WRLCK);
    CHECK(probe.holder == ::getpid());
    auto writer = write_from_another_process(name);
    CHECK_FALSE(writer->exited_within(300));
    holder->end_group();
    REQUIRE(writer->exited_within(5000));
    CHECK(writer->finish().empty());
    CHECK(holder->finish().empty());
    CHECK(inside_report.empty());
    CHECK(probe_write_lock(name, descriptor_byte).type == F_UNLCK);
}

// A table's own descriptor closed inside a group: the group must still end,
// or its thread would keep the object's mutex (every other thread of the
// process then blocks on the object) and the process its locks.
TEST_CASE("threads: a group whose descriptor was closed inside it still ends and releases its locks",
          "[threads]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    create_table(name);
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    REQUIRE_NETSHM_OK(netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr));
    REQUIRE_NETSHM_OK(netshm_manage(descr, NETSHM_RECORD_LOCKING, 0, -1, &table));
    REQUIRE_NETSHM_OK(netshm_group_begin(table));
    const int32_t value[1] = {5};
    REQUIRE_NETSHM_OK(netshm_replace(table, 1, value, 1));
    REQUIRE_NETSHM_OK(netshm_close(descr));
    CHECK(probe_write_lock(name, descriptor_byte).type == F_WRLCK);
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_group_end(table));
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_table_close(table));
    CHECK(probe_write_lock(name, descriptor_byte).type == F_UNLCK);
}

} // namespace
