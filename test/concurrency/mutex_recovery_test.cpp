// Crash recovery of mutex locking (issue 8, stage 2): a writer killed at
// every one of its shared stores, in every kind of mutation, leaves a table
// the next process recovers; a recoverer killed at every store of its
// recovery leaves it to the next one; an intent record that makes no sense
// is reported as corruption, never trusted.
//
// The crash points are the test-only hook of capi/testing.h: a child kills
// itself with SIGKILL just before its k-th store into shared memory.  The
// parent holds the table open meanwhile and recovers it in one of three
// ways: a reader that falls back to the mutex, a writer, or (after closing
// it) the first process to manage it again.
#include "process_helpers.hpp"
#include "recovery_scenarios.hpp"
#include "testing.h"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace recovery_scenarios;
using netshm_test::bound_test_time;
using netshm_test::scratch_names;

table_ptr manage_mutex(netshm_descr *descr, long long init = -1)
{
    return manage_with(descr, NETSHM_MUTEX_LOCKING, init);
}

enum class trigger { reader, writer, manager, set_up };
constexpr trigger triggers[] = {trigger::reader, trigger::writer, trigger::manager, trigger::set_up};

const char *trigger_name(trigger t)
{
    switch (t) {
    case trigger::reader: return "a reader";
    case trigger::writer: return "a writer";
    case trigger::manager: return "a table managed meanwhile";
    case trigger::set_up: return "the first to manage it";
    }
    return "";
}

// Makes the parent's table recover the crash, then checks it: sound, and
// holding exactly the state before the operation or after it.  Returns
// whether it holds the state after.
bool recover_and_check(table_ptr &table, netshm_descr *descr, trigger how, const contents &before,
                       const contents &after)
{
    CAPTURE(trigger_name(how));
    switch (how) {
    case trigger::reader: {
        // Optimistic attempts see the counter the writer left odd and fall
        // back to the mutex, which reports the death.
        int32_t buffer[1];
        size_t len = 0;
        int rc = netshm_find_into(table.get(), 1, buffer, 1, &len);
        INFO(netshm_last_error());
        CHECK((rc == NETSHM_OK || rc == NETSHM_ETOOBIG || rc == NETSHM_ENOTFOUND));
        break;
    }
    case trigger::writer:
        REQUIRE_NETSHM_OK(netshm_group_begin_write(table.get()));
        REQUIRE_NETSHM_OK(netshm_group_end(table.get()));
        break;
    case trigger::manager: {
        // Not the first mutex-mode process: it recovers under the mutex,
        // also a re-initialisation that wiped the table it would open.
        table_ptr second = manage_mutex(descr);
        table = std::move(second);
        break;
    }
    case trigger::set_up:
        table.reset();
        table = manage_mutex(descr);
        break;
    }
    CHECK(netshm_check(table.get(), nullptr, nullptr) == 0);
    contents now = read_contents(table.get());
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(table.get(), &length));
    CHECK(length == bindings_in(now));
    bool old = now == before;
    bool done = now == after;

    CHECK((old || done));
    return done && !old;
}

TEST_CASE("mutex recovery: a writer killed at any store of a mutation leaves a table the next process recovers",
          "[concurrency][mutex][recovery]")
{
    bound_test_time(280);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    for (const scenario &s : scenarios()) {
        CAPTURE(s.name);
        int done = 0;
        const long long stores = kill_at_every_store(
            s, path, NETSHM_MUTEX_LOCKING, true,
            [&](long long k, const prepared &p, netshm_descr *descr, table_ptr &table) {
                done += recover_and_check(table, descr, triggers[k % 4], p.before, p.after) ? 1 : 0;
            });
        // Killed before its last two stores (the intent's fields zeroed, the
        // counter made even) it had finished; a re-initialisation is
        // finished once its intent is recorded (its second store), every
        // other mutation undone until its intent is cleared.
        CHECK(done == (s.manage_hint >= 0 ? stores - 2 : 2));
    }
}

TEST_CASE("mutex recovery: a recoverer killed at any store of its recovery leaves it to the next one",
          "[concurrency][mutex][recovery]")
{
    bound_test_time(280);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    std::vector<scenario> all = scenarios();
    // Growth (pages to give back and a tail to zero) and replace (a freed
    // binding to restore as well).
    for (const scenario &s : {all[2], all[4]}) {
        CAPTURE(s.name);
        const prepared p = prepare(s, path, NETSHM_MUTEX_LOCKING);
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
        const long long crash_at = stores_of(s, path, p, descr.get(), NETSHM_MUTEX_LOCKING) * 2 / 3;
        auto crash = [&] {
            REQUIRE(killed(status_of_child([&] { run_operation(s, path, NETSHM_MUTEX_LOCKING, crash_at); })));
        };
        // A recoverer: a child that writes (an empty write group), killed at
        // its `kill_at`-th store; reports its stores if it survives.
        auto recover = [&](long long kill_at) {
            netshm_descr *d = nullptr;
            netshm_table *t = nullptr;
            if (netshm_open(NETSHM_TYPE_FILE, path.c_str(), O_RDWR, 0, &d) != NETSHM_OK)
                return std::string("open: ") + netshm_last_error();
            // Managing the table already takes the mutex (and recovers).
            long long start = netshm_testing_shared_stores();
            netshm_testing_kill_before_store(kill_at);
            if (netshm_manage(d, NETSHM_MUTEX_LOCKING, 256, -1, &t) != NETSHM_OK ||
                netshm_group_begin_write(t) != NETSHM_OK || netshm_group_end(t) != NETSHM_OK)
                return std::string("recovery: ") + netshm_last_error();
            return std::to_string(netshm_testing_shared_stores() - start);
        };
        long long recovery_stores;
        write_file(path, p.image);
        {
            table_ptr holder = manage_mutex(descr.get());
            crash();
            child counting(30, [&] { return recover(0); });
            std::string report = counting.finish();
            INFO(report);
            recovery_stores = std::stoll(report);
            CHECK(recover_and_check(holder, descr.get(), trigger::writer, p.before, p.after) == false);
        }
        REQUIRE(recovery_stores > 3);
        for (long long j = 1; j <= recovery_stores; ++j) {
            CAPTURE(j, recovery_stores);
            write_file(path, p.image);
            table_ptr table = manage_mutex(descr.get());
            crash();
            REQUIRE(killed(status_of_child([&] { recover(j); })));
            CHECK(recover_and_check(table, descr.get(), triggers[j % 4], p.before, p.after) == false);
        }
    }
}

TEST_CASE("mutex recovery: an intent record that makes no sense is corruption, reported and kept",
          "[concurrency][mutex][recovery]")
{
    struct bad_record {
        const char *what;
        int word;  // of page 0
        int32_t value;
        const char *message;
    };
    const bad_record bad = GENERATE(values<bad_record>({
        {"an unknown operation", 20, 77, "unknown operation 77"},
        {"a page size no table has", 39, 13, "recorded page size 13"},
        {"a snapshot with no pages", 22, 0, "snapshot of the descriptor"},
        {"a snapshot with 40 extents", 28, 40, "snapshot counts 40 hash extents"},
        {"a hash cell beyond the table", 29, 1 << 30, "is beyond the"},
        {"a freed chain longer than the table", 36, 1 << 20, "freed 1048576 pages"},
        {"an allocated chain longer than the table", 33, 1 << 24, "allocated 16777216 pages"},
        {"a negative allocated count", 33, -5, "allocated -5 pages"},
        {"an allocated chain starting far beyond the table", 32, 1 << 30, "more than it grows by"},
        {"a write_blocks page that is a hash page", 29, -2, "not an older-binding word"},
    }));
    CAPTURE(bad.what);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL);
        table_ptr table = manage_mutex(descr.get(), 50);
        fill_keys(table.get(), 6, 3);
    }
    // A replace of key 2 in flight that changed nothing yet: T, S, claimed,
    // bindings, free head and count, extents from the descriptor page.
    std::vector<int32_t> d = read_words(path, 64, 10);
    int32_t extents = 0;
    for (int i = 0; i < 16; ++i)
        extents += read_words(path, 64 + 8 + 2 * i, 1)[0] != 0 ? 1 : 0;
    int32_t free_head = d[5];
    std::vector<int32_t> record{2, 2,
                                d[1], d[2], d[3], d[4], d[5], d[6], extents,
                                0, 0, 0,
                                free_head, 1, read_words(path, free_head * 64LL + 1, 1)[0],
                                0, 0,
                                0, 0, 256};
    write_words(path, intent_op_word, record);
    write_words(path, bad.word, {bad.value});

    auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
    netshm_table *table = nullptr;
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_manage(descr.get(), NETSHM_MUTEX_LOCKING, 0, -1, &table));
    CHECK_THAT(netshm_last_error(), Catch::Contains(bad.message));
    // Marked: the next process is refused too, until it re-initialises.
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_manage(descr.get(), NETSHM_MUTEX_LOCKING, 0, -1, &table));
    CHECK_THAT(netshm_last_error(), Catch::Contains("marked corrupt"));
    table_ptr fresh = manage_mutex(descr.get(), 10);
    CHECK(netshm_check(fresh.get(), nullptr, nullptr) == 0);
    CHECK(read_contents(fresh.get()).empty());
}

TEST_CASE("mutex recovery: the same record, sound, is undone", "[concurrency][mutex][recovery]")
{
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    contents before;
    {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL);
        table_ptr table = manage_mutex(descr.get(), 50);
        fill_keys(table.get(), 6, 3);
        before = read_contents(table.get());
    }
    std::vector<int32_t> d = read_words(path, 64, 10);
    int32_t free_head = d[5];
    write_words(path, intent_op_word,
                {2, 2, d[1], d[2], d[3], d[4], d[5], d[6], 1, 0, 0, 0, free_head, 1,
                 read_words(path, free_head * 64LL + 1, 1)[0], 0, 0, 0, 0, 256});
    auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
    table_ptr table = manage_mutex(descr.get());
    CHECK(netshm_check(table.get(), nullptr, nullptr) == 0);
    CHECK(read_contents(table.get()) == before);
}

} // namespace
