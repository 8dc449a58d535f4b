// Crash safety of record locking and of the seams between the modes (issue
// 16, defects 1 and 2), through the crash point of capi/testing.h:
// - a record-mode writer killed at every one of its shared stores, in every
//   kind of mutation (a hash resize too), leaves every committed binding
//   findable once the next record-mode writer or opener recovered it, and
//   until then netshm_check reports the interrupted write;
// - a mutex-mode writer killed at every store, then a record-mode write
//   (with this library, or without an intent as OCamlnet writes), then a
//   mutex-mode open: the old intent is never replayed over the newer data.
#include "process_helpers.hpp"
#include "recovery_scenarios.hpp"
#include "testing.h"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <utility>
#include <string>
#include <vector>

namespace {

using namespace recovery_scenarios;
using netshm_test::bound_test_time;
using netshm_test::scratch_names;

constexpr int32_t unused_key = 999999;

std::vector<scenario> mutations()
{
    std::vector<scenario> all;
    for (scenario &s : scenarios())
        if (s.manage_hint < 0)
            all.push_back(std::move(s));
    return all;
}

int32_t intent_recorded(const std::string &path)
{
    const std::string bytes = read_file(path);
    return bytes.size() >= 4 * (intent_op_word + 1) ? reinterpret_cast<const int32_t *>(bytes.data())[intent_op_word]
                                                    : 0;
}

std::string problems_of(netshm_table *table)
{
    std::string all;
    int count = netshm_check(
        table,
        [](const netshm_problem *problem, void *ctx) {
            *static_cast<std::string *>(ctx) += std::string(problem->message) + "; ";
            return 0;
        },
        &all);
    return count == 0 ? std::string() : all;
}

TEST_CASE("record recovery: a writer killed at any store leaves every committed binding, recovered by the next "
          "writer or opener",
          "[concurrency][record][recovery]")
{
    bound_test_time(280);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    for (const scenario &s : mutations()) {
        CAPTURE(s.name);
        int interrupted = 0;
        // Held open across the kill: a writer of this process recovers.
        auto after_kill = [&](long long k, const prepared &p, netshm_descr *descr, table_ptr &held) {
            if (intent_recorded(path) != 0) {
                ++interrupted;
                // Marked: check says so, a reader refuses cleanly.
                CHECK_THAT(problems_of(held.get()), Catch::Contains("intent record"));
                size_t length = 0;
                CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_length(held.get(), &length));
            }
            table_ptr table;
            if (k % 2 == 0) {
                // A writer: removing a key nobody bound changes nothing else.
                CHECK_NETSHM_ERR(NETSHM_OK, netshm_remove(held.get(), unused_key));
                table = std::move(held);
            } else {
                held.reset();
                table = manage_with(descr, NETSHM_RECORD_LOCKING);
            }
            INFO(problems_of(table.get()));
            CHECK(netshm_check(table.get(), nullptr, nullptr) == 0);
            contents now = read_contents(table.get());
            size_t length = 0;
            REQUIRE_NETSHM_OK(netshm_length(table.get(), &length));
            CHECK(length == bindings_in(now));
            CHECK((now == p.before || now == p.after));
        };
        const long long stores = kill_at_every_store(s, path, NETSHM_RECORD_LOCKING, true, after_kill);
        // Killed anywhere but before an intent was recorded or after it was
        // cleared (a resize's and the add's own: a few stores).
        CHECK(interrupted + 6 >= stores);
    }
}

// A mutex-mode writer killed at every store of `s`; after each kill,
// `write_between` writes key `unused_key` in record mode, then a mutex-mode
// process opens the table.  Returns how many of those opens recovered
// cleanly; `check_open` judges each.
template <class WriteBetween, class CheckOpen>
int kill_mutex_writer_then(const scenario &s, const std::string &path, WriteBetween write_between,
                           CheckOpen check_open)
{
    int clean = 0;
    kill_at_every_store(s, path, NETSHM_MUTEX_LOCKING, false,
                        [&](long long, const prepared &p, netshm_descr *descr, table_ptr &) {
                            const bool intent = intent_recorded(path) != 0;
                            write_between(descr);
                            netshm_table *raw = nullptr;
                            int rc = netshm_manage(descr, NETSHM_MUTEX_LOCKING, 256, -1, &raw);
                            table_ptr table(raw);
                            clean += check_open(rc, table.get(), p, intent) ? 1 : 0;
                        });
    return clean;
}

const value written_between = make_value(77, 5);

contents with_written_key(contents c)
{
    c[unused_key].insert(c[unused_key].begin(), written_between);
    return c;
}

TEST_CASE("record recovery: a mutex-mode writer's intent is resolved by the next record-mode writer, not replayed "
          "over its data",
          "[concurrency][record][recovery]")
{
    bound_test_time(280);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    for (const scenario &s : mutations()) {
        CAPTURE(s.name);
        auto record_write = [](netshm_descr *descr) {
            table_ptr table = manage_with(descr, NETSHM_RECORD_LOCKING);
            REQUIRE_NETSHM_OK(add_value(table.get(), unused_key, written_between));
        };
        auto judge = [](int rc, netshm_table *table, const prepared &p, bool) {
            INFO(netshm_last_error());
            REQUIRE(rc == NETSHM_OK);
            INFO(problems_of(table));
            CHECK(netshm_check(table, nullptr, nullptr) == 0);
            contents now = read_contents(table);
            CHECK((now == with_written_key(p.before) || now == with_written_key(p.after)));
            return true;
        };
        kill_mutex_writer_then(s, path, record_write, judge);
    }
}

TEST_CASE("record recovery: a mutex-mode writer's intent is not replayed over a write that knew nothing of it",
          "[concurrency][record][recovery]")
{
    bound_test_time(280);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    // OCamlnet writes with record locking and no intent; so does this
    // library without locking, mimicking OCamlnet's growth.  The mutations that do not resize: a writer
    // that knows nothing of a half-done resize cannot use the table.
    for (const scenario &s : mutations()) {
        if (std::string(s.name).find("resize") != std::string::npos)
            continue;
        CAPTURE(s.name);
        auto unaware_write = [](netshm_descr *descr) {
            table_ptr table = manage_with(descr, NETSHM_NO_LOCKING);
            // Growing and replacing exactly as OCamlnet does.
            REQUIRE_NETSHM_OK(netshm_testing_mimic_ocamlnet(table.get()));
            REQUIRE_NETSHM_OK(add_value(table.get(), unused_key, written_between));
        };
        int intent_only = 0;
        auto judge = [&](int rc, netshm_table *table, const prepared &p, bool intent) {
            INFO(netshm_last_error());
            if (rc != NETSHM_OK) {
                // What the dead writer left half done is reported, as damage
                // found after writes that did not know of its intent.
                CHECK(rc == NETSHM_ECORRUPT);
                CHECK_THAT(netshm_last_error(), Catch::Contains("did not know of it"));
                return false;
            }
            INFO(problems_of(table));
            CHECK(netshm_check(table, nullptr, nullptr) == 0);
            contents now = read_contents(table);
            bool before = now == with_written_key(p.before);
            CHECK((before || now == with_written_key(p.after)));
            // Killed after its intent and before its first store to the table.
            intent_only += intent && before ? 1 : 0;
            return true;
        };
        int clean = kill_mutex_writer_then(s, path, unaware_write, judge);
        CHECK(intent_only > 0);
        CHECK(clean >= intent_only);
    }
}

TEST_CASE("record recovery: an intent record of a live writer, read as it ends, is left to that writer",
          "[concurrency][record][recovery]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    contents before;
    {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL);
        netshm_table *table = nullptr;
        REQUIRE_NETSHM_OK(netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, 512, -1, &table));
        table_ptr owned(table);
        fill_keys(table, 20, 3);
        before = read_contents(table);
    }
    // A writer at page size 512 holds its descriptor lock; page 0 shows an
    // operation with the page size word zeroed, as a reader sees a record
    // that its writer clears (operation word, then fields) while it reads.
    child writer(30, [&](const netshm_test::child_channel &channel) {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
        netshm_table *table = nullptr;
        REQUIRE_NETSHM_OK(netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, 512, -1, &table));
        REQUIRE_NETSHM_OK(netshm_group_begin_write(table));
        channel.say("writing");
        channel.await();
        REQUIRE_NETSHM_OK(netshm_group_end(table));
        netshm_table_close(table);
    });
    REQUIRE(writer.line() == "writing");
    const std::string page0 = read_file(path).substr(0, 4 * (intent_pagesize_word + 1));
    write_words(path, intent_op_word, {1});
    write_words(path, intent_pagesize_word, {0});

    auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
    REQUIRE_NETSHM_OK(netshm_descr_set_lock_timeout(descr.get(), 300));
    netshm_table *table = nullptr;
    // Today's code recovered the live write at once, found its page size
    // "0" and marked the table corrupt; the opener must wait for the writer.
    CHECK_NETSHM_ERR(NETSHM_ETIMEDOUT, netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, 0, -1, &table));
    write_words(path, 0, std::vector<int32_t>(reinterpret_cast<const int32_t *>(page0.data()),
                                              reinterpret_cast<const int32_t *>(page0.data() + page0.size())));
    writer.go();
    CHECK(writer.finish().empty());
    table_ptr reopened = netshm_test::manage_ok(descr.get());
    INFO(problems_of(reopened.get()));
    CHECK(netshm_check(reopened.get(), nullptr, nullptr) == 0);
    CHECK(read_contents(reopened.get()) == before);
}

TEST_CASE("record recovery: a dead writer's intent record naming no page size is reported by the next writer",
          "[concurrency][record][recovery]")
{
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL);
    {
        table_ptr table = manage_with(descr.get(), NETSHM_RECORD_LOCKING);
        fill_keys(table.get(), 6, 3);
    }
    write_words(path, intent_op_word, {1});
    write_words(path, intent_pagesize_word, {0});
    // Not recovered at manage, which cannot tell it from a live writer's
    // record read as it ends: readers refuse it, the first writer reports it.
    table_ptr table = manage_with(descr.get(), NETSHM_RECORD_LOCKING);
    int32_t *found = nullptr;
    size_t len = 0;
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_find(table.get(), 1, &found, &len));
    CHECK_THAT(netshm_last_error(), Catch::Contains("a writer died"));
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, add_value(table.get(), 1, make_value(1, 2)));
    CHECK_THAT(netshm_last_error(), Catch::Contains("recorded page size 0"));
}

TEST_CASE("record recovery: processes managing a table while a writer of another page size writes neither "
          "recover its live writes nor take its descriptor for damage",
          "[concurrency][record][recovery]")
{
    bound_test_time(60);
    // The writer's page size, and the one the others ask for first.
    const auto sizes = GENERATE(std::pair<unsigned, unsigned>{512, 256}, std::pair<unsigned, unsigned>{256, 512});
    const unsigned written = sizes.first;
    const unsigned asked = sizes.second;
    CAPTURE(written, asked);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    const auto run_for = std::chrono::milliseconds(netshm_test::env_number("NETSHM_LIVE_INTENT_MS", 1500));
    {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL);
        netshm_test::manage_ok(descr.get(), written);
    }
    // Writes back to back, page 0 nearly always showing an intent: the
    // table re-initialised small, then grown by adds (its hash resized, its
    // file extended), over and over.
    child writer(30, [&] {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
        const auto end = std::chrono::steady_clock::now() + run_for;
        long long writes = 0;
        while (std::chrono::steady_clock::now() < end) {
            table_ptr table = netshm_test::manage_ok(descr.get(), written, 0);
            for (int32_t key = 0; key < 60; ++key, ++writes)
                if (add_value(table.get(), key, make_value(key, 3)) != NETSHM_OK)
                    return std::string("add: ") + netshm_last_error();
        }
        return "ok " + std::to_string(writes);
    });
    // Managing with the other page size reads page 0 and the descriptor
    // without the writer's lock, and then with page size 0 too.
    auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
    const auto end = std::chrono::steady_clock::now() + run_for;
    int opened = 0;
    while (std::chrono::steady_clock::now() < end) {
        netshm_table *table = nullptr;
        int rc = netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, asked, -1, &table);
        INFO(netshm_last_error());
        REQUIRE(rc == NETSHM_EINVAL);
        REQUIRE_NETSHM_OK(netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, 0, -1, &table));
        netshm_table_close(table);
        ++opened;
    }
    const std::string report = writer.finish();
    CHECK_THAT(report, Catch::StartsWith("ok "));
    CHECK(opened > 0);
    table_ptr table = netshm_test::manage_ok(descr.get());
    INFO(problems_of(table.get()));
    CHECK(netshm_check(table.get(), nullptr, nullptr) == 0);
}

} // namespace
