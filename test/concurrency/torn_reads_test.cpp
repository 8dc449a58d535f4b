// No torn reads (issue 4): 2 writer processes keep replacing (and rewriting
// in place with write_blocks) values of self-checking patterns — all words
// equal to a per-write number w, length 1 + w % 300, so up to 6 pages — while
// 2 reader processes verify every value they read through netshm_find,
// netshm_find_into, netshm_find_all, netshm_find_blocks, netshm_iter and
// netshm_find_many (a batch of every key 10 times: more than one chunk).
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::scratch_names;
using netshm_test::table_ptr;

constexpr int keys = 8;
constexpr size_t max_length = 300;
constexpr auto run_time = std::chrono::milliseconds(3000);

size_t length_for(int32_t w) { return 1 + static_cast<size_t>(w % 300); }

std::vector<int32_t> pattern(int32_t w) { return std::vector<int32_t>(length_for(w), w); }

// Empty if value[0..len) is a well-formed pattern, else what is wrong.
std::string check_pattern(const int32_t *value, size_t len)
{
    if (len == 0)
        return "empty value";
    const int32_t w = value[0];
    if (w <= 0 || len != length_for(w))
        return "length " + std::to_string(len) + " with first word " + std::to_string(w);
    for (size_t i = 1; i < len; ++i)
        if (value[i] != w)
            return "word " + std::to_string(i) + " is " + std::to_string(value[i]) + ", word 0 is " +
                   std::to_string(w);
    return {};
}

struct reader_state {
    long values_checked = 0;
    long errors = 0;
    std::string first_error;
    void fail(const std::string &what)
    {
        if (errors++ == 0)
            first_error = what;
    }
    void check(const std::string &via, int32_t key, const int32_t *value, size_t len)
    {
        ++values_checked;
        std::string problem = check_pattern(value, len);
        if (!problem.empty())
            fail(via + " of key " + std::to_string(key) + ": " + problem);
    }
};

struct callback_context {
    reader_state *state;
    int32_t key;
    int bindings;
    std::vector<int32_t> assembled;
};

int find_all_callback(const int32_t *value, size_t len, void *ctx)
{
    auto &c = *static_cast<callback_context *>(ctx);
    ++c.bindings;
    c.state->check("netshm_find_all", c.key, value, len);
    return 0;
}

int find_blocks_callback(const int32_t *frag, size_t len, void *ctx)
{
    auto &c = *static_cast<callback_context *>(ctx);
    if (frag == nullptr) {
        ++c.bindings;
        c.state->check("netshm_find_blocks", c.key, c.assembled.data(), c.assembled.size());
        c.assembled.clear();
        return NETSHM_CONTINUE;
    }
    c.assembled.insert(c.assembled.end(), frag, frag + len);
    return NETSHM_CONTINUE;
}

int iter_callback(int32_t key, const int32_t *value, size_t len, void *ctx)
{
    auto &c = *static_cast<callback_context *>(ctx);
    ++c.bindings;
    c.key |= 1 << key;
    c.state->check("netshm_iter", key, value, len);
    return 0;
}

// With mutex locking, `oflags` O_RDONLY makes a reader that never takes the
// writer mutex: every read is optimistic, callbacks run on private copies.
std::string reader(const std::string &name, netshm_locking locking, int oflags)
{
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), oflags, 0, &descr) != NETSHM_OK ||
        netshm_manage(descr, locking, 0, -1, &table) != NETSHM_OK)
        return std::string("open/manage: ") + netshm_last_error();
    reader_state s;
    std::vector<int32_t> buffer(max_length);
    std::vector<int32_t> batch_keys;
    for (int i = 0; i < 10 * keys; ++i)
        batch_keys.push_back(i % keys);
    std::vector<netshm_found> found(batch_keys.size());
    std::vector<int32_t> batch(batch_keys.size() * max_length);
    const auto deadline = std::chrono::steady_clock::now() + run_time;
    long rounds = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        ++rounds;
        for (int32_t key = 0; key < keys; ++key) {
            int32_t *value = nullptr;
            size_t len = 0;
            if (int rc = netshm_find(table, key, &value, &len); rc != NETSHM_OK)
                s.fail("netshm_find of key " + std::to_string(key) + ": " + netshm_strerror(rc));
            else
                s.check("netshm_find", key, value, len);
            netshm_free(value);

            if (int rc = netshm_find_into(table, key, buffer.data(), buffer.size(), &len); rc != NETSHM_OK)
                s.fail("netshm_find_into of key " + std::to_string(key) + ": " + netshm_strerror(rc));
            else
                s.check("netshm_find_into", key, buffer.data(), len);

            callback_context c{&s, key, 0, {}};
            if (int rc = netshm_find_all(table, key, find_all_callback, &c); rc != NETSHM_OK || c.bindings != 1)
                s.fail("netshm_find_all of key " + std::to_string(key) + ": " + netshm_strerror(rc) + ", " +
                       std::to_string(c.bindings) + " bindings");

            c.bindings = 0;
            if (int rc = netshm_find_blocks(table, key, find_blocks_callback, &c); rc != NETSHM_OK || c.bindings != 1)
                s.fail("netshm_find_blocks of key " + std::to_string(key) + ": " + netshm_strerror(rc) + ", " +
                       std::to_string(c.bindings) + " bindings");

            if (int rc = netshm_mem(table, key); rc != 1)
                s.fail("netshm_mem of key " + std::to_string(key) + " answered " + std::to_string(rc));
        }
        if (int rc = netshm_find_many(table, batch_keys.data(), batch_keys.size(), found.data(), batch.data(),
                                      batch.size(), nullptr);
            rc != NETSHM_OK)
            s.fail(std::string("netshm_find_many: ") + netshm_strerror(rc));
        else
            for (size_t i = 0; i < batch_keys.size(); ++i)
                if (found[i].rc != NETSHM_OK)
                    s.fail("netshm_find_many of key " + std::to_string(batch_keys[i]) + ": unbound");
                else
                    s.check("netshm_find_many", batch_keys[i], batch.data() + found[i].offset, found[i].len);
        callback_context all{&s, 0, 0, {}};
        if (int rc = netshm_iter(table, iter_callback, &all);
            rc != NETSHM_OK || all.bindings != keys || all.key != (1 << keys) - 1)
            s.fail(std::string("netshm_iter: ") + netshm_strerror(rc) + ", " + std::to_string(all.bindings) +
                   " bindings, key mask " + std::to_string(all.key));
        size_t length = 0;
        if (int rc = netshm_length(table, &length); rc != NETSHM_OK || length != keys)
            s.fail("netshm_length: " + std::to_string(length));
    }
    netshm_table_close(table);
    netshm_close(descr);
    return std::to_string(s.values_checked) + " " + std::to_string(rounds) + " " + std::to_string(s.errors) + " " +
           s.first_error;
}

// Rewrites a binding in place, fragment by fragment: every word w becomes
// w + 300, which keeps the length right.
int rewrite_callback(int32_t *frag, size_t len, void *ctx)
{
    if (frag == nullptr)
        return NETSHM_BREAK;
    auto &w = *static_cast<int32_t *>(ctx);
    if (w == 0)
        w = frag[0] + 300;
    for (size_t i = 0; i < len; ++i)
        frag[i] = w;
    return NETSHM_CONTINUE;
}

struct group_pair {
    int32_t key;
    int32_t w;
};

// Two replaces of one key in a write group: the first value is malformed (its
// last word differs), the second well formed; readers must only ever see the
// second.
int replace_twice(netshm_table *table, void *ctx)
{
    auto &p = *static_cast<group_pair *>(ctx);
    std::vector<int32_t> malformed = pattern(p.w);
    malformed.push_back(p.w + 1);
    int rc = netshm_replace(table, p.key, malformed.data(), malformed.size());
    if (rc != NETSHM_OK)
        return rc;
    std::vector<int32_t> second = pattern(p.w + 300);
    return netshm_replace(table, p.key, second.data(), second.size());
}

std::string writer(const std::string &name, int writer_id, netshm_locking locking)
{
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
        netshm_manage(descr, locking, 0, -1, &table) != NETSHM_OK)
        return std::string("open/manage: ") + netshm_last_error();
    const auto deadline = std::chrono::steady_clock::now() + run_time;
    long writes = 0;
    std::string failure;
    // Per-write numbers: writer 0 uses 1, 3, 5, ...; writer 1 uses 2, 4, ...
    int32_t seq = 0;
    while (failure.empty() && std::chrono::steady_clock::now() < deadline) {
        ++seq;
        const int32_t w = 2 * static_cast<int32_t>(int64_t{seq} * 7919 % 1000000) + 1 + writer_id;
        const int32_t key = (seq + writer_id * 3) % keys;
        int rc;
        switch (seq % 4) {
        case 0: {
            int32_t rewritten = 0;
            rc = netshm_write_blocks(table, 0, key, rewrite_callback, &rewritten);
            break;
        }
        case 1: {
            group_pair p{key, w};
            rc = netshm_group_write(table, replace_twice, &p);
            break;
        }
        default: {
            std::vector<int32_t> value = pattern(w);
            rc = netshm_replace(table, key, value.data(), value.size());
        }
        }
        if (rc != NETSHM_OK)
            failure = "write " + std::to_string(seq) + ": " + netshm_strerror(rc) + ": " + netshm_last_error();
        ++writes;
    }
    netshm_table_close(table);
    netshm_close(descr);
    return std::to_string(writes) + " " + failure;
}

TEST_CASE("torn reads: readers in other processes never see a half-written value", "[concurrency]")
{
    // With mutex locking, find, find_into, find_many, mem and length read
    // optimistically; readers opened read-only read everything so.
    const std::pair<netshm_locking, int> mode = GENERATE(std::pair{NETSHM_RECORD_LOCKING, O_RDONLY},
                                                         std::pair{NETSHM_MUTEX_LOCKING, O_RDWR},
                                                         std::pair{NETSHM_MUTEX_LOCKING, O_RDONLY});
    const netshm_locking locking = mode.first;
    const int reader_oflags = mode.second;
    CAPTURE(locking, reader_oflags);
    bound_test_time(60);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    {
        auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
        auto table = manage_ok(descr.get(), 256, 16);
        for (int32_t key = 0; key < keys; ++key) {
            std::vector<int32_t> value = pattern(1000 + key);
            REQUIRE_NETSHM_OK(netshm_replace(table.get(), key, value.data(), value.size()));
        }
    }
    // A reader opened read-only joins only a lock area set up already: this
    // process keeps one set up while the children run.
    auto live_descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR);
    table_ptr live =
        locking == NETSHM_MUTEX_LOCKING ? manage_ok(live_descr.get(), 0, -1, NETSHM_MUTEX_LOCKING) : nullptr;
    child writer0(30, [&] { return writer(name, 0, locking); });
    child writer1(30, [&] { return writer(name, 1, locking); });
    child reader0(30, [&] { return reader(name, locking, reader_oflags); });
    child reader1(30, [&] { return reader(name, locking, reader_oflags); });

    for (child *w : {&writer0, &writer1}) {
        std::string report = w->finish();
        long writes = 0;
        int consumed = 0;
        REQUIRE(std::sscanf(report.c_str(), "%ld %n", &writes, &consumed) == 1);
        INFO("writer report: " << report);
        CHECK(report.substr(static_cast<size_t>(consumed)).empty());
        CHECK(writes >= 100);
        std::printf("torn reads: writer made %ld writes\n", writes);
    }
    for (child *r : {&reader0, &reader1}) {
        std::string report = r->finish();
        long checked = 0, rounds = 0, errors = 0;
        int consumed = 0;
        REQUIRE(std::sscanf(report.c_str(), "%ld %ld %ld %n", &checked, &rounds, &errors, &consumed) == 3);
        INFO("reader report: " << report);
        CHECK(errors == 0);
        CHECK(rounds >= 20);
        std::printf("torn reads: reader checked %ld values in %ld rounds\n", checked, rounds);
    }

    live.reset();
    // Afterwards every key holds one well-formed binding.
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDONLY);
    auto table = manage_ok(descr.get());
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(table.get(), &length));
    CHECK(length == keys);
    for (int32_t key = 0; key < keys; ++key) {
        int32_t *value = nullptr;
        size_t len = 0;
        REQUIRE_NETSHM_OK(netshm_find(table.get(), key, &value, &len));
        CHECK(check_pattern(value, len).empty());
        netshm_free(value);
    }
}

} // namespace
