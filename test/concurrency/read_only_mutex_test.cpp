// Mutex locking on a descriptor open read-only (issue 17): a user who may
// only read the object reads a table that is live in mutex mode while a
// writer replaces its values; every read is optimistic and sees only values
// the writer wrote whole, callbacks and netshm_stat's walk included.  What
// needs the writer mutex (writes, groups) is refused with NETSHM_EREADONLY,
// as is a table whose lock area nobody set up; a read writers keep disturbing
// gives up; record and mutex locking still exclude each other.
#include "os_helpers.hpp"
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <cstdint>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::run_as_nobody;
using netshm_test::scratch_names;

constexpr int keys = 6;
constexpr auto run_time = std::chrono::milliseconds(1500);

// Values of self-checking patterns: all words w, length 1 + w % 200 (up to 4
// pages of 64 words).
std::vector<int32_t> pattern(int32_t w) { return std::vector<int32_t>(1 + static_cast<size_t>(w % 200), w); }

bool well_formed(const int32_t *value, size_t len)
{
    if (len == 0 || value[0] <= 0 || len != 1 + static_cast<size_t>(value[0] % 200))
        return false;
    for (size_t i = 1; i < len; ++i)
        if (value[i] != value[0])
            return false;
    return true;
}

struct reader_tally {
    long values = 0;
    long errors = 0;
    std::string first_error;
    void check(const char *via, const int32_t *value, size_t len)
    {
        ++values;
        if (!well_formed(value, len) && errors++ == 0)
            first_error = std::string(via) + ": a torn or foreign value of length " + std::to_string(len);
    }
    void expect(bool ok, const std::string &what)
    {
        if (!ok && errors++ == 0)
            first_error = what + ": " + netshm_last_error();
    }
};

int check_value(const int32_t *value, size_t len, void *ctx)
{
    static_cast<reader_tally *>(ctx)->check("netshm_find_all", value, len);
    return 0;
}

int check_binding(int32_t, const int32_t *value, size_t len, void *ctx)
{
    static_cast<reader_tally *>(ctx)->check("netshm_iter", value, len);
    return 0;
}

int count_key(int32_t, void *ctx)
{
    ++*static_cast<int *>(ctx);
    return 0;
}

bool open_mutex_table(const std::string &name, int oflags, netshm_descr *&descr, netshm_table *&table)
{
    return netshm_open(NETSHM_TYPE_FILE, name.c_str(), oflags, 0, &descr) == NETSHM_OK &&
           netshm_manage(descr, NETSHM_MUTEX_LOCKING, 0, -1, &table) == NETSHM_OK;
}

std::string replace_values(const std::string &name)
{
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    if (!open_mutex_table(name, O_RDWR, descr, table))
        return std::string("open/manage: ") + netshm_last_error();
    long writes = 0;
    const auto deadline = std::chrono::steady_clock::now() + run_time;
    while (std::chrono::steady_clock::now() < deadline) {
        const int32_t w = static_cast<int32_t>(1 + writes % 100000);
        std::vector<int32_t> value = pattern(w);
        if (netshm_replace(table, static_cast<int32_t>(writes % keys), value.data(), value.size()) != NETSHM_OK)
            return std::string("replace: ") + netshm_last_error();
        // A writer that never pauses starves a read-only reader's reads of the
        // whole table, which cannot stop it (guide, "Locking"): this one
        // pauses now and then, as writers between requests do.
        if (++writes % 256 == 0)
            std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    netshm_table_close(table);
    netshm_close(descr);
    return std::to_string(writes);
}

// As nobody: reads everything the table allows without the writer mutex
// until the writer stops, then tries what needs it.
std::string read_as_nobody(const std::string &name)
{
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    if (!open_mutex_table(name, O_RDONLY, descr, table))
        return std::string("open/manage: ") + netshm_last_error();
    reader_tally t;
    long rounds = 0;
    const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    const auto deadline = std::chrono::steady_clock::now() + run_time;
    while (std::chrono::steady_clock::now() < deadline) {
        ++rounds;
        for (int32_t key = 0; key < keys; ++key) {
            int32_t *value = nullptr;
            size_t len = 0;
            t.expect(netshm_find(table, key, &value, &len) == NETSHM_OK, "netshm_find");
            t.check("netshm_find", value, len);
            netshm_free(value);
            t.expect(netshm_find_all(table, key, check_value, &t) == NETSHM_OK, "netshm_find_all");
        }
        int seen = 0;
        t.expect(netshm_iter_keys(table, count_key, &seen) == NETSHM_OK && seen == keys, "netshm_iter_keys");
        t.expect(netshm_iter(table, check_binding, &t) == NETSHM_OK, "netshm_iter");
        size_t length = 0;
        t.expect(netshm_length(table, &length) == NETSHM_OK && length == keys, "netshm_length");
        t.expect(netshm_dump(table, devnull) == NETSHM_OK, "netshm_dump");
        netshm_stats stats{};
        stats.struct_size = sizeof stats;
        t.expect(netshm_stat(table, &stats) == NETSHM_OK && stats.bindings == keys && stats.distinct_keys == keys,
                 "netshm_stat");
    }
    ::close(devnull);
    const int32_t one = 1;
    const int replace = netshm_replace(table, 0, &one, 1);
    int32_t *base = nullptr;
    size_t pages = 0, words = 0;
    const int memory = netshm_memory(table, &base, &pages, &words);
    const int group = netshm_group_begin(table);
    netshm_table_close(table);
    netshm_close(descr);
    return std::to_string(t.values) + " " + std::to_string(rounds) + " " + std::to_string(t.errors) + " " +
           std::to_string(replace) + " " + std::to_string(memory) + " " + std::to_string(group) + " " +
           t.first_error;
}

TEST_CASE("read-only mutex locking: a user who may only read reads a live table while a writer replaces values",
          "[concurrency][mutex]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL, 0644);
    auto live = manage_ok(descr.get(), 256, -1, NETSHM_MUTEX_LOCKING);
    for (int32_t key = 0; key < keys; ++key) {
        std::vector<int32_t> value = pattern(1000 + key);
        REQUIRE_NETSHM_OK(netshm_replace(live.get(), key, value.data(), value.size()));
    }
    child writer(30, [&] { return replace_values(name); });
    std::string report = run_as_nobody([&] { return read_as_nobody(name); });
    std::string writes = writer.finish();
    INFO("writer: " << writes << "; reader: " << report);
    long values = 0, rounds = 0, errors = 0;
    int replace = 0, memory = 0, group = 0;
    REQUIRE(std::sscanf(report.c_str(), "%ld %ld %ld %d %d %d", &values, &rounds, &errors, &replace, &memory,
                        &group) == 6);
    CHECK(std::stol(writes) >= 100);
    CHECK(errors == 0);
    CHECK(rounds >= 10);
    CHECK(replace == NETSHM_EREADONLY);
    CHECK(memory == NETSHM_OK);
    CHECK(group == NETSHM_EREADONLY);
    std::printf("read-only mutex reader: %ld values checked in %ld rounds against %s writes\n", values, rounds,
                writes.c_str());
}

TEST_CASE("read-only mutex locking: refused until a process with write access set the table up",
          "[concurrency][mutex]")
{
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    manage_ok(descr.get()).reset();
    auto ro = open_ok(NETSHM_TYPE_FILE, name, O_RDONLY);
    netshm_table *table = nullptr;
    CHECK(netshm_manage(ro.get(), NETSHM_MUTEX_LOCKING, 0, -1, &table) == NETSHM_EREADONLY);
    CHECK(std::string(netshm_last_error()).find("a process with write access must open it with mutex locking") !=
          std::string::npos);
    // Once set up (and still when no process has it open), it is joined.
    manage_ok(descr.get(), 0, -1, NETSHM_MUTEX_LOCKING).reset();
    auto reader = manage_ok(ro.get(), 0, -1, NETSHM_MUTEX_LOCKING);
    size_t length = 99;
    CHECK(netshm_length(reader.get(), &length) == NETSHM_OK);
    CHECK(length == 0);
}

TEST_CASE("read-only mutex locking: record locking is refused meanwhile, in either order", "[concurrency][mutex]")
{
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    manage_ok(descr.get(), 0, -1, NETSHM_MUTEX_LOCKING).reset();
    auto ro = open_ok(NETSHM_TYPE_FILE, name, O_RDONLY);
    netshm_table *table = nullptr;
    {
        auto reader = manage_ok(ro.get(), 0, -1, NETSHM_MUTEX_LOCKING);
        child other(30, [&] {
            netshm_descr *d = nullptr;
            netshm_table *t = nullptr;
            if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDONLY, 0, &d) != NETSHM_OK)
                return std::string("open failed");
            return std::to_string(netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t));
        });
        CHECK(other.finish() == std::to_string(NETSHM_EBUSY));
    }
    auto record = manage_ok(descr.get());
    CHECK(netshm_manage(ro.get(), NETSHM_MUTEX_LOCKING, 0, -1, &table) == NETSHM_EBUSY);
}

TEST_CASE("read-only mutex locking: a read a writer keeps disturbing gives up, never a torn value",
          "[concurrency][mutex]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    auto live = manage_ok(descr.get(), 0, -1, NETSHM_MUTEX_LOCKING);
    const int32_t one = 1;
    REQUIRE_NETSHM_OK(netshm_add(live.get(), 1, &one, 1));
    // This process keeps no writable mutex-mode table, which its reader would
    // share; the reader opens the table before the writer begins.
    live.reset();
    auto ro = open_ok(NETSHM_TYPE_FILE, name, O_RDONLY);
    auto reader = manage_ok(ro.get(), 0, -1, NETSHM_MUTEX_LOCKING);
    // A write group that changed the table keeps the counter odd until it ends.
    child writer(30, [&](const netshm_test::child_channel &channel) {
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        const int32_t two = 2;
        if (!open_mutex_table(name, O_RDWR, d, t) || netshm_group_begin_write(t) != NETSHM_OK ||
            netshm_replace(t, 1, &two, 1) != NETSHM_OK)
            channel.say(std::string("failed: ") + netshm_last_error());
        else
            channel.say("writing");
        channel.await();
        netshm_group_end(t);
        netshm_table_close(t);
        netshm_close(d);
    });
    REQUIRE(writer.line() == "writing");
    REQUIRE_NETSHM_OK(netshm_set_lock_timeout(reader.get(), 200));
    int32_t *value = nullptr;
    size_t len = 0;
    CHECK(netshm_find(reader.get(), 1, &value, &len) == NETSHM_ETIMEDOUT);
    CHECK(value == nullptr);
    int seen = 0;
    CHECK(netshm_iter_keys(reader.get(), count_key, &seen) == NETSHM_ETIMEDOUT);
    CHECK(seen == 0);
    REQUIRE_NETSHM_OK(netshm_set_lock_timeout(reader.get(), 0));
    CHECK(netshm_length(reader.get(), &len) == NETSHM_EBUSY);
    writer.go();
    writer.finish();
    // The group ended: its value is read.
    REQUIRE_NETSHM_OK(netshm_find(reader.get(), 1, &value, &len));
    CHECK(len == 1);
    CHECK(value[0] == 2);
    netshm_free(value);
}

} // namespace
