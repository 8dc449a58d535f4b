// Creating and re-initialising a table while other processes use the object
// (issue 16, defects 3 and 4), with record locking:
// - two processes creating one new object with different page sizes make one
//   table, and the adds of both are in it;
// - readers of a table that another process re-initialises, with the same or
//   another page size, see the old table, the new one or an error: never a
//   value that neither holds.
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::env_number;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::pipe_fds;
using netshm_test::scratch_names;
using netshm_test::table_ptr;

using clock_type = std::chrono::steady_clock;

// The one value key k ever has in these tests: `length` words from k * 100000.
std::vector<int32_t> value_of(int32_t key, std::size_t length)
{
    std::vector<int32_t> v(length);
    for (std::size_t i = 0; i < length; ++i)
        v[i] = key * 100000 + static_cast<int32_t>(i);
    return v;
}

// In a child: manages `path` with record locking at `pagesize`; if the table
// another process made first has another page size (NETSHM_EINVAL naming
// it), adopts it with page size 0.  Then adds `count` keys from `first_key`.
std::string create_and_add(const std::string &path, int start_fd, unsigned pagesize, int32_t first_key, int count)
{
    netshm_descr *d = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, path.c_str(), O_RDWR | O_CREAT, 0600, &d) != NETSHM_OK)
        return std::string("open: ") + netshm_last_error();
    // Both processes start managing the empty object at the same moment.
    char go = 0;
    if (::read(start_fd, &go, 1) != 1)
        return "no start signal";
    netshm_table *t = nullptr;
    int rc = netshm_manage(d, NETSHM_RECORD_LOCKING, pagesize, -1, &t);
    if (rc == NETSHM_EINVAL) {
        std::string why = netshm_last_error();
        if (why.find("page size") == std::string::npos)
            return "manage refused without naming the page size: " + why;
        rc = netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t);
    }
    if (rc != NETSHM_OK)
        return std::string("manage: ") + netshm_last_error();
    for (int32_t key = first_key; key < first_key + count; ++key) {
        std::vector<int32_t> v = value_of(key, 3);
        if (netshm_add(t, key, v.data(), v.size()) != NETSHM_OK)
            return std::string("add: ") + netshm_last_error();
    }
    return "ok";
}

TEST_CASE("initialisation: two processes creating one new object with page sizes 256 and 512 make one table "
          "holding the adds of both",
          "[concurrency][initialisation]")
{
    bound_test_time(100);
    scratch_names names;
    const int rounds = static_cast<int>(env_number("NETSHM_CREATION_ROUNDS", 150));
    constexpr int keys_each = 40;
    for (int round = 0; round < rounds; ++round) {
        CAPTURE(round);
        const std::string path = names.fresh(NETSHM_TYPE_FILE);
        pipe_fds start;
        child small(30, [&] { return create_and_add(path, start.read_end(), 256, 1000, keys_each); });
        child large(30, [&] { return create_and_add(path, start.read_end(), 512, 2000, keys_each); });
        REQUIRE(::write(start.write_end(), "ab", 2) == 2);
        CHECK(small.finish() == "ok");
        CHECK(large.finish() == "ok");

        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
        // Page size 0: exactly one page size must give a valid descriptor.
        table_ptr table = manage_ok(descr.get());
        CHECK(netshm_check(table.get(), nullptr, nullptr) == 0);
        size_t length = 0;
        REQUIRE_NETSHM_OK(netshm_length(table.get(), &length));
        CHECK(length == 2 * keys_each);
        for (int32_t first : {1000, 2000}) {
            for (int32_t key = first; key < first + keys_each; ++key) {
                int32_t *found = nullptr;
                size_t len = 0;
                REQUIRE_NETSHM_OK(netshm_find(table.get(), key, &found, &len));
                CHECK(std::vector<int32_t>(found, found + len) == value_of(key, 3));
                netshm_free(found);
            }
        }
    }
}

// Small values, and one of more than 64 pages at page size 256 (copied under
// its binding's lock alone, without the descriptor page's).
struct known_binding {
    int32_t key;
    std::size_t length;
};
const known_binding known[] = {{1, 4}, {2, 4}, {3, 30}, {4, 4}, {5, 1}, {6, 200}, {7, 5000}};

void fill_known(netshm_table *table)
{
    for (const known_binding &b : known) {
        std::vector<int32_t> v = value_of(b.key, b.length);
        REQUIRE_NETSHM_OK(netshm_add(table, b.key, v.data(), v.size()));
    }
}

// In a child: finds every known key over and over for `run_for`, through a
// table managed with page size 0 (managed again after any error).  Reports
// "ok N" with the number of values found, or the first wrong value.
std::string read_known(const std::string &path, std::chrono::milliseconds run_for)
{
    netshm_descr *d = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, path.c_str(), O_RDONLY, 0, &d) != NETSHM_OK)
        return std::string("open: ") + netshm_last_error();
    netshm_table *t = nullptr;
    long found_values = 0;
    const auto end = clock_type::now() + run_for;
    while (clock_type::now() < end) {
        if (t == nullptr && netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK) {
            t = nullptr;
            continue;
        }
        for (const known_binding &b : known) {
            int32_t *words = nullptr;
            size_t len = 0;
            int rc = netshm_find(t, b.key, &words, &len);
            if (rc == NETSHM_ENOTFOUND)
                continue;
            if (rc != NETSHM_OK) {
                // An error is an answer; a table of another page size needs a new handle.
                netshm_table_close(t);
                t = nullptr;
                break;
            }
            std::vector<int32_t> got(words, words + len);
            netshm_free(words);
            if (got != value_of(b.key, b.length)) {
                std::size_t at = 0;
                while (at < got.size() && at < b.length && got[at] == value_of(b.key, b.length)[at])
                    ++at;
                return "key " + std::to_string(b.key) + ": wrong value of " + std::to_string(got.size()) +
                       " words found (first difference at word " + std::to_string(at) + ")";
            }
            ++found_values;
        }
    }
    return "ok " + std::to_string(found_values);
}

TEST_CASE("initialisation: readers see the old table, the new one or an error while another process "
          "re-initialises it",
          "[concurrency][initialisation]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT);
        table_ptr table = manage_ok(descr.get(), 256, 50);
        fill_known(table.get());
    }
    const auto run_for = std::chrono::milliseconds(env_number("NETSHM_REINIT_MS", 2500));
    // Re-initialised alternately with page size 256 and this one.
    const unsigned other_pagesize = GENERATE(256u, 512u);
    CAPTURE(other_pagesize);
    const unsigned pagesizes[] = {256, other_pagesize};
    child reader_a(30, [&] { return read_known(path, run_for); });
    child reader_b(30, [&] { return read_known(path, run_for); });
    child reinitialiser(30, [&] {
        netshm_descr *d = nullptr;
        if (netshm_open(NETSHM_TYPE_FILE, path.c_str(), O_RDWR, 0, &d) != NETSHM_OK)
            return std::string("open: ") + netshm_last_error();
        const auto end = clock_type::now() + run_for;
        long rounds = 0;
        while (clock_type::now() < end) {
            netshm_table *t = nullptr;
            if (netshm_manage(d, NETSHM_RECORD_LOCKING, pagesizes[rounds % 2], 50, &t) != NETSHM_OK)
                return std::string("manage: ") + netshm_last_error();
            for (const known_binding &b : known) {
                std::vector<int32_t> v = value_of(b.key, b.length);
                if (netshm_add(t, b.key, v.data(), v.size()) != NETSHM_OK)
                    return std::string("add: ") + netshm_last_error();
            }
            netshm_table_close(t);
            ++rounds;
        }
        return "ok " + std::to_string(rounds);
    });
    for (child *reader : {&reader_a, &reader_b}) {
        std::string report = reader->finish();
        INFO(report);
        CHECK(report.starts_with("ok "));
        CHECK(report != "ok 0");
    }
    std::string report = reinitialiser.finish();
    INFO(report);
    CHECK(report.starts_with("ok "));
}

} // namespace
