// Mutex locking across processes (issue 8): the presence locks keep record
// locking and mutex locking apart in both directions, a table managed inside
// another table's group lets go of the setup lock at once, a read-only
// descriptor is refused, and a writer killed in a write group is recovered
// from (mutex_recovery_test kills writers inside each mutation), while a
// holder killed while it only read does no harm.  An idle reader on a
// read-only descriptor keeps nobody from mutex locking.
// Optimistic readers go on while another process holds the writer mutex.
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <string>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::open_ok;
using netshm_test::pipe_fds;
using netshm_test::receive_byte;
using netshm_test::scratch_names;
using netshm_test::send_byte;
using netshm_test::table_ptr;

netshm_table *manage_with(netshm_descr *descr, netshm_locking locking, int &rc, long long init = -1)
{
    netshm_table *table = nullptr;
    rc = netshm_manage(descr, locking, 0, init, &table);
    return table;
}

table_ptr manage_ok(netshm_descr *descr, netshm_locking locking, long long init = -1)
{
    int rc = 0;
    table_ptr table(manage_with(descr, locking, rc, init));
    INFO(netshm_last_error());
    REQUIRE(rc == NETSHM_OK);
    return table;
}

// A new object of a test holding a new table, managed with `locking`.
struct fresh_table {
    explicit fresh_table(netshm_locking locking)
        : name(names.fresh(NETSHM_TYPE_FILE)), descr(open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL)),
          table(manage_ok(descr.get(), locking, 10))
    {
    }
    scratch_names names;
    std::string name;
    netshm_test::descr_ptr descr;
    table_ptr table;
};

// A child that manages `name` with `locking`, says so, and keeps the table
// open until told to close it.
std::string hold_open(const std::string &name, netshm_locking locking, int ready_fd, int close_fd)
{
    netshm_descr *d = nullptr;
    netshm_table *t = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
        netshm_manage(d, locking, 0, -1, &t) != NETSHM_OK)
        return std::string("manage: ") + netshm_last_error();
    send_byte(ready_fd);
    receive_byte(close_fd, 20000);
    netshm_table_close(t);
    netshm_close(d);
    return {};
}

TEST_CASE("mutex locking: a process using one of record and mutex locking keeps others from the other",
          "[concurrency][mutex]")
{
    bound_test_time(60);
    const netshm_locking held = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    const netshm_locking other = held == NETSHM_RECORD_LOCKING ? NETSHM_MUTEX_LOCKING : NETSHM_RECORD_LOCKING;
    CAPTURE(held);
    fresh_table fresh(held);
    fresh.table.reset();
    const std::string &name = fresh.name;
    netshm_descr *descr = fresh.descr.get();

    pipe_fds ready, release;
    child holder(30, [&] { return hold_open(name, held, ready.write_end(), release.read_end()); });
    REQUIRE(receive_byte(ready.read_end(), 10000).has_value());

    int rc = 0;
    netshm_table *refused = manage_with(descr, other, rc);
    CHECK(rc == NETSHM_EBUSY);
    CHECK(refused == nullptr);
    CHECK(std::string(netshm_last_error()).find("another process") != std::string::npos);
    // The same method, and no locking, are not refused.
    manage_ok(descr, held).reset();
    manage_ok(descr, NETSHM_NO_LOCKING).reset();

    send_byte(release.write_end());
    CHECK(holder.finish().empty());
    // Once the holder is gone, the other method works.
    manage_ok(descr, other).reset();
}

// Reads key 1 of a record-mode table on a read-only descriptor three times:
// when managed, then each time the parent says so; reports each answer.
std::string read_only_reader(const std::string &name, int ready_fd, int go_fd)
{
    netshm_descr *d = nullptr;
    netshm_table *t = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDONLY, 0, &d) != NETSHM_OK ||
        netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK)
        return std::string("manage: ") + netshm_last_error();
    std::string answers;
    for (int read = 0; read < 3; ++read) {
        if (read > 0 && !receive_byte(go_fd, 20000))
            return answers + " (no word from the parent)";
        int32_t value = 0;
        size_t len = 0;
        const int rc = netshm_find_into(t, 1, &value, 1, &len);
        answers += (read > 0 ? " " : "") + (rc == NETSHM_OK ? std::to_string(value) : std::string(netshm_strerror(rc)));
        send_byte(ready_fd);
    }
    netshm_table_close(t);
    netshm_close(d);
    return answers;
}

TEST_CASE("mutex locking: an idle read-only record-mode reader keeps nobody from mutex locking", "[concurrency][mutex]")
{
    bound_test_time(60);
    fresh_table fresh(NETSHM_RECORD_LOCKING);
    const int32_t ten = 10;
    REQUIRE(netshm_add(fresh.table.get(), 1, &ten, 1) == NETSHM_OK);
    fresh.table.reset();

    pipe_fds ready, go;
    child reader(30, [&] { return read_only_reader(fresh.name, ready.write_end(), go.read_end()); });
    REQUIRE(receive_byte(ready.read_end(), 10000).has_value());
    {
        // The owner's mutex-mode open succeeds while the reader is idle...
        table_ptr owner = manage_ok(fresh.descr.get(), NETSHM_MUTEX_LOCKING);
        const int32_t twenty = 20;
        REQUIRE(netshm_replace(owner.get(), 1, &twenty, 1) == NETSHM_OK);
        // ...and the reader's read meanwhile is refused, not answered wrong.
        send_byte(go.write_end());
        REQUIRE(receive_byte(ready.read_end(), 10000).has_value());
    }
    // Once the owner closed its table, the reader reads the current value.
    send_byte(go.write_end());
    CHECK(reader.finish() == "10 " + std::string(netshm_strerror(NETSHM_EBUSY)) + " 20");
}

TEST_CASE("mutex locking: both methods in one process are refused too", "[concurrency][mutex]")
{
    fresh_table fresh(NETSHM_MUTEX_LOCKING);
    netshm_descr *descr = fresh.descr.get();
    {
        table_ptr mutex_table = std::move(fresh.table);
        int rc = 0;
        CHECK(manage_with(descr, NETSHM_RECORD_LOCKING, rc) == nullptr);
        CHECK(rc == NETSHM_EBUSY);
        CHECK(std::string(netshm_last_error()).find("this process") != std::string::npos);
    }
    table_ptr record_table = manage_ok(descr, NETSHM_RECORD_LOCKING);
    int rc = 0;
    CHECK(manage_with(descr, NETSHM_MUTEX_LOCKING, rc) == nullptr);
    CHECK(rc == NETSHM_EBUSY);
}

TEST_CASE("mutex locking: a read-only descriptor is refused", "[concurrency][mutex]")
{
    fresh_table fresh(NETSHM_RECORD_LOCKING);
    fresh.table.reset();
    auto ro = open_ok(NETSHM_TYPE_FILE, fresh.name, O_RDONLY);
    int rc = 0;
    CHECK(manage_with(ro.get(), NETSHM_MUTEX_LOCKING, rc) == nullptr);
    CHECK(rc == NETSHM_EREADONLY);
    // Nothing is left held: record locking still works on it.
    manage_ok(ro.get(), NETSHM_RECORD_LOCKING).reset();
}

TEST_CASE("mutex locking: a table managed and closed inside another table's group holds nothing back",
          "[concurrency][mutex]")
{
    bound_test_time(60);
    fresh_table fresh(NETSHM_RECORD_LOCKING);
    const std::string &name = fresh.name;
    netshm_descr *descr = fresh.descr.get();
    table_ptr &grouped = fresh.table;
    REQUIRE(netshm_group_begin(grouped.get()) == NETSHM_OK);
    // Its setup lock and presence would wait for the group's end if they
    // were released like page locks.
    manage_ok(descr, NETSHM_RECORD_LOCKING).reset();
    child other(10, [&]() -> std::string {
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK)
            return "open failed";
        // Answered at once (EBUSY: the group's table is open), not after the group.
        int rc = netshm_manage(d, NETSHM_MUTEX_LOCKING, 0, -1, &t);
        netshm_close(d);
        return rc == NETSHM_EBUSY ? "" : std::string("manage answered ") + netshm_strerror(rc);
    });
    CHECK(other.exited_within(5000));
    REQUIRE(netshm_group_end(grouped.get()) == NETSHM_OK);
    CHECK(other.finish().empty());
}

// In a child: opens `name` and manages it with mutex locking.
bool open_mutex_table(const std::string &name, netshm_descr *&d, netshm_table *&t)
{
    return netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) == NETSHM_OK &&
           netshm_manage(d, NETSHM_MUTEX_LOCKING, 0, -1, &t) == NETSHM_OK;
}

// A child that manages `name` with mutex locking and holds the writer mutex
// in a plain group (reading, so the sequence counter stays even) until told.
std::string read_in_group(const std::string &name, int ready_fd, int end_fd)
{
    netshm_descr *d = nullptr;
    netshm_table *t = nullptr;
    size_t length = 0;
    if (!open_mutex_table(name, d, t) || netshm_group_begin(t) != NETSHM_OK || netshm_length(t, &length) != NETSHM_OK)
        return std::string("manage/group: ") + netshm_last_error();
    send_byte(ready_fd);
    receive_byte(end_fd, 20000);
    netshm_group_end(t);
    netshm_table_close(t);
    netshm_close(d);
    return {};
}

TEST_CASE("mutex locking: find, find_into, mem and length do not wait for the writer mutex",
          "[concurrency][mutex]")
{
    bound_test_time(60);
    fresh_table fresh(NETSHM_MUTEX_LOCKING);
    const std::string &name = fresh.name;
    table_ptr &table = fresh.table;
    const int32_t value[3] = {1, 2, 3};
    REQUIRE(netshm_add(table.get(), 4, value, 3) == NETSHM_OK);

    pipe_fds ready, end;
    child holder(30, [&] { return read_in_group(name, ready.write_end(), end.read_end()); });
    REQUIRE(receive_byte(ready.read_end(), 10000).has_value());
    // The holder waits 20 s for its signal: readers taking the mutex would too.
    const auto start = std::chrono::steady_clock::now();
    int32_t *copy = nullptr;
    int32_t buffer[3];
    size_t len = 0, length = 0;
    CHECK(netshm_find(table.get(), 4, &copy, &len) == NETSHM_OK);
    CHECK((len == 3 && copy[2] == 3));
    netshm_free(copy);
    CHECK(netshm_find_into(table.get(), 4, buffer, 3, &len) == NETSHM_OK);
    CHECK(netshm_mem(table.get(), 4) == 1);
    CHECK(netshm_mem(table.get(), 5) == 0);
    CHECK(netshm_length(table.get(), &length) == NETSHM_OK);
    CHECK(length == 1);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    send_byte(end.write_end());
    CHECK(holder.finish().empty());
}

// A child that manages `name` with mutex locking, begins a write group, adds
// a key (or, `writing` false, begins a plain group and reads), says so, and
// waits to be killed.
std::string die_in_group(const std::string &name, bool writing, int ready_fd)
{
    netshm_descr *d = nullptr;
    netshm_table *t = nullptr;
    if (!open_mutex_table(name, d, t))
        return std::string("manage: ") + netshm_last_error();
    const int32_t value[2] = {7, 8};
    size_t length = 0;
    int rc = writing ? netshm_group_begin_write(t) : netshm_group_begin(t);
    if (rc == NETSHM_OK)
        rc = writing ? netshm_add(t, 99, value, 2) : netshm_length(t, &length);
    if (rc != NETSHM_OK)
        return std::string("in group: ") + netshm_last_error();
    send_byte(ready_fd);
    ::pause();
    return "not killed";
}

TEST_CASE("mutex locking: a writer killed in a write group is recovered from, its finished add kept",
          "[concurrency][mutex]")
{
    bound_test_time(60);
    const bool writing = GENERATE(true, false);
    CAPTURE(writing);
    fresh_table fresh(NETSHM_MUTEX_LOCKING);
    const std::string &name = fresh.name;
    netshm_descr *descr = fresh.descr.get();
    table_ptr &table = fresh.table;
    const int32_t value[1] = {5};
    REQUIRE(netshm_add(table.get(), 1, value, 1) == NETSHM_OK);

    pipe_fds ready;
    child holder(30, [&] { return die_in_group(name, writing, ready.write_end()); });
    REQUIRE(receive_byte(ready.read_end(), 10000).has_value());
    holder.kill_now();

    // Optimistic readers give up on the counter the writer left odd and take
    // the mutex, which reports the death: the table is checked and the
    // counter made even.  The group's add had finished: it stays (groups are
    // not transactions).  A holder that only read left nothing to recover.
    int32_t buffer[4];
    size_t len = 0;
    CHECK(netshm_find_into(table.get(), 1, buffer, 4, &len) == NETSHM_OK);
    CHECK(netshm_add(table.get(), 2, value, 1) == NETSHM_OK);
    CHECK(netshm_mem(table.get(), 99) == (writing ? 1 : 0));
    CHECK(netshm_check(table.get(), nullptr, nullptr) == 0);
    table.reset();
    table = manage_ok(descr, NETSHM_MUTEX_LOCKING);
    size_t length = 0;
    CHECK(netshm_length(table.get(), &length) == NETSHM_OK);
    CHECK(length == (writing ? 3u : 2u));
}

} // namespace
