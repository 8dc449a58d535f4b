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

#include <string>
#include <vector>

namespace {

using namespace recovery_scenarios;
using netshm_test::bound_test_time;
using netshm_test::scratch_names;

constexpr int intent_op_word = 20;
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

} // namespace
