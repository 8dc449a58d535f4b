// fork (issue 4, DESIGN §7): a table handle and a descriptor inherited across
// fork are refused in the child with NETSHM_EFORKED; closing them there
// succeeds and releases none of the parent's locks, nor the child's own; a
// fresh open and manage in the child works, also when a thread of the parent
// was inside a group (holding the object's mutex) at the fork.
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::pipe_fds;
using netshm_test::probe_write_lock;
using netshm_test::receive_byte;
using netshm_test::scratch_names;
using netshm_test::send_byte;

constexpr unsigned pagesize = 256;
constexpr off_t descriptor_byte = pagesize / 4;  // page 1 x W

int never_called(netshm_table *, void *) { return -200; }
int value_callback(const int32_t *, size_t, void *) { return -201; }
int binding_callback(int32_t, const int32_t *, size_t, void *) { return -202; }
int key_callback(int32_t, void *) { return -203; }
int block_callback(const int32_t *, size_t, void *) { return -204; }
int write_block_callback(int32_t *, size_t, void *) { return -205; }

// Every table operation on an inherited handle answers NETSHM_EFORKED; the
// report lists those that did not.
std::string refused_operations(netshm_table *table, netshm_descr *descr)
{
    std::string wrong;
    auto expect_forked = [&](const char *what, int rc) {
        if (rc != NETSHM_EFORKED)
            wrong += std::string(what) + " answered " + std::to_string(rc) + "; ";
    };
    const int32_t value[2] = {1, 2};
    int32_t buffer[4];
    int32_t *copy = nullptr;
    size_t len = 0;
    int32_t *base = nullptr;
    size_t pages = 0, words = 0;
    netshm_table *managed = nullptr;
    expect_forked("add", netshm_add(table, 5, value, 2));
    expect_forked("replace", netshm_replace(table, 1, value, 2));
    expect_forked("remove", netshm_remove(table, 1));
    expect_forked("mem", netshm_mem(table, 1));
    expect_forked("find", netshm_find(table, 1, &copy, &len));
    expect_forked("find_into", netshm_find_into(table, 1, buffer, 4, &len));
    expect_forked("find_all", netshm_find_all(table, 1, value_callback, nullptr));
    expect_forked("iter", netshm_iter(table, binding_callback, nullptr));
    expect_forked("iter_keys", netshm_iter_keys(table, key_callback, nullptr));
    expect_forked("length", netshm_length(table, &len));
    expect_forked("find_blocks", netshm_find_blocks(table, 1, block_callback, nullptr));
    expect_forked("write_blocks", netshm_write_blocks(table, 0, 1, write_block_callback, nullptr));
    expect_forked("dump", netshm_dump(table, 2));
    expect_forked("memory", netshm_memory(table, &base, &pages, &words));
    expect_forked("group", netshm_group(table, never_called, nullptr));
    expect_forked("group_write", netshm_group_write(table, never_called, nullptr));
    expect_forked("group_begin", netshm_group_begin(table));
    expect_forked("group_begin_write", netshm_group_begin_write(table));
    expect_forked("group_end", netshm_group_end(table));
    expect_forked("manage", netshm_manage(descr, NETSHM_RECORD_LOCKING, 0, -1, &managed));
    if (copy != nullptr || managed != nullptr)
        wrong += "an output was set; ";
    return wrong;
}

std::vector<int32_t> find_value(netshm_table *table, int32_t key)
{
    int32_t *value = nullptr;
    size_t len = 0;
    REQUIRE_NETSHM_OK(netshm_find(table, key, &value, &len));
    std::vector<int32_t> copy(value, value + len);
    netshm_free(value);
    return copy;
}

TEST_CASE("fork: inherited handles are refused with NETSHM_EFORKED, closing them keeps the parent's locks, a "
          "fresh open works",
          "[concurrency][fork]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    auto table = manage_ok(descr.get(), pagesize, 16);
    const int32_t one[1] = {1};
    REQUIRE_NETSHM_OK(netshm_add(table.get(), 1, one, 1));

    // The parent holds the descriptor page's write lock in a group.
    REQUIRE_NETSHM_OK(netshm_group_begin(table.get()));
    const int32_t two[1] = {2};
    REQUIRE_NETSHM_OK(netshm_replace(table.get(), 1, two, 1));

    pipe_fds closed, group_ended;
    netshm_descr *inherited_descr = descr.get();
    netshm_table *inherited_table = table.get();
    child forked(30, [&]() -> std::string {
        std::string report = refused_operations(inherited_table, inherited_descr);
        if (int rc = netshm_table_close(inherited_table); rc != NETSHM_OK)
            report += "table_close answered " + std::to_string(rc) + "; ";
        if (int rc = netshm_close(inherited_descr); rc != NETSHM_OK)
            report += "close answered " + std::to_string(rc) + "; ";
        send_byte(closed.write_end());
        if (!receive_byte(group_ended.read_end(), 10000))
            return report + "no signal from the parent";
        // A fresh handle works (after the parent's group: manage and find
        // need the descriptor page's read lock).
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK)
            return report + "fresh open/manage: " + netshm_last_error();
        int32_t buffer[1];
        size_t len = 0;
        if (netshm_find_into(t, 1, buffer, 1, &len) != NETSHM_OK || len != 1 || buffer[0] != 2)
            report += "fresh find did not see the parent's write; ";
        const int32_t three[1] = {3};
        if (netshm_replace(t, 1, three, 1) != NETSHM_OK)
            report += std::string("fresh replace: ") + netshm_last_error();
        netshm_table_close(t);
        netshm_close(d);
        return report;
    });
    REQUIRE(receive_byte(closed.read_end(), 10000));

    // The child closed its copies: the parent still holds its write lock,
    // as a third process sees it.
    const auto probe = probe_write_lock(name, descriptor_byte);
    CHECK(probe.type == F_WRLCK);
    CHECK(probe.holder == ::getpid());
    // A third process's write waits for the end of the group.
    child writer(30, [&]() -> std::string {
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        const int32_t four[1] = {4};
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK ||
            netshm_add(t, 4, four, 1) != NETSHM_OK)
            return std::string("writer: ") + netshm_last_error();
        netshm_table_close(t);
        netshm_close(d);
        return std::string();
    });
    CHECK_FALSE(writer.exited_within(300));

    // The parent's handles still work in the parent.
    CHECK(find_value(table.get(), 1) == std::vector<int32_t>{2});
    REQUIRE_NETSHM_OK(netshm_group_end(table.get()));
    REQUIRE(writer.exited_within(5000));
    CHECK(writer.finish().empty());
    send_byte(group_ended.write_end());
    CHECK(forked.finish().empty());

    CHECK(find_value(table.get(), 1) == std::vector<int32_t>{3});
    CHECK(find_value(table.get(), 4) == std::vector<int32_t>{4});
}

// Closing the inherited descriptors must not close them directly: that would
// drop every lock the child holds on the file through its own handles.
TEST_CASE("fork: closing inherited handles in the child keeps the child's own locks on the same object",
          "[concurrency][fork]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    auto table = manage_ok(descr.get(), pagesize, 16);
    const int32_t one[1] = {1};
    REQUIRE_NETSHM_OK(netshm_add(table.get(), 1, one, 1));

    pipe_fds holding, done;
    netshm_descr *inherited_descr = descr.get();
    netshm_table *inherited_table = table.get();
    child forked(30, [&]() -> std::string {
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK ||
            netshm_group_begin_write(t) != NETSHM_OK)
            return std::string("fresh open/manage/group: ") + netshm_last_error();
        std::string report;
        // The inherited handles go while the fresh one holds its write lock.
        if (netshm_table_close(inherited_table) != NETSHM_OK || netshm_close(inherited_descr) != NETSHM_OK)
            report += std::string("closing the inherited handles: ") + netshm_last_error();
        send_byte(holding.write_end());
        if (!receive_byte(done.read_end(), 10000))
            report += "no signal from the parent; ";
        if (netshm_group_end(t) != NETSHM_OK)
            report += std::string("group_end: ") + netshm_last_error();
        netshm_table_close(t);
        netshm_close(d);
        return report;
    });
    REQUIRE(receive_byte(holding.read_end(), 10000));
    const auto probe = probe_write_lock(name, descriptor_byte);
    CHECK(probe.type == F_WRLCK);
    CHECK(probe.holder == forked.pid());
    send_byte(done.write_end());
    CHECK(forked.finish().empty());
}

TEST_CASE("fork: a fresh open in the child works while a thread of the parent was inside a group at the fork",
          "[concurrency][fork]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    auto table = manage_ok(descr.get(), pagesize, 16);
    const int32_t one[1] = {1};
    REQUIRE_NETSHM_OK(netshm_add(table.get(), 1, one, 1));

    // A thread holds the object's mutex (a read group) until told to end.
    std::mutex m;
    std::condition_variable cv;
    bool in_group = false, release = false;
    int thread_rc = 0;
    std::thread holder([&] {
        int rc = netshm_group_begin(table.get());
        if (rc == NETSHM_OK)
            rc = netshm_mem(table.get(), 1) == 1 ? NETSHM_OK : -300;
        {
            std::unique_lock<std::mutex> lock(m);
            in_group = true;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
        }
        int end_rc = netshm_group_end(table.get());
        thread_rc = rc != NETSHM_OK ? rc : end_rc;
    });
    {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return in_group; });
    }

    netshm_descr *inherited_descr = descr.get();
    netshm_table *inherited_table = table.get();
    child forked(30, [&]() -> std::string {
        std::string report = refused_operations(inherited_table, inherited_descr);
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        // Reads only: the parent's group holds the descriptor page's read lock.
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK)
            return report + "fresh open/manage: " + netshm_last_error();
        int32_t buffer[1];
        size_t len = 0;
        if (netshm_find_into(t, 1, buffer, 1, &len) != NETSHM_OK || len != 1 || buffer[0] != 1)
            report += std::string("fresh find: ") + netshm_last_error();
        if (netshm_table_close(t) != NETSHM_OK || netshm_close(d) != NETSHM_OK ||
            netshm_table_close(inherited_table) != NETSHM_OK || netshm_close(inherited_descr) != NETSHM_OK)
            report += std::string("close: ") + netshm_last_error();
        return report;
    });
    std::string report = forked.finish();
    {
        std::lock_guard<std::mutex> lock(m);
        release = true;
        cv.notify_all();
    }
    holder.join();
    CHECK(report.empty());
    CHECK(thread_rc == NETSHM_OK);
}

} // namespace
