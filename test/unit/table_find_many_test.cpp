// netshm_find_many (DESIGN.md §3b): its semantics one behaviour at a time
// (order, repeated and unbound keys, a buffer too small, NULL rules, batches
// crossing chunks, a corrupt binding), and a property test against
// netshm_find_into on random tables, in every locking mode.
#include "table_api_support.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

using namespace table_api;

namespace {

struct batch {
    std::vector<netshm_found> found;
    value_t values;
    size_t needed = 0;
    int rc = 0;
};

batch find_many(netshm_table *t, const std::vector<int32_t> &keys, size_t cap)
{
    batch b;
    b.found.assign(keys.size(), netshm_found{99, 99, 99});
    b.values.assign(cap, -7);
    b.needed = 12345;
    b.rc = netshm_find_many(t, keys.data(), keys.size(), b.found.data(), b.values.data(), cap, &b.needed);
    return b;
}

// The value of key as netshm_find_into sees it, nullopt when unbound.
std::optional<value_t> find_one(netshm_table *t, int32_t key)
{
    size_t len = 0;
    int rc = netshm_find_into(t, key, nullptr, 0, &len);
    if (rc == NETSHM_ENOTFOUND)
        return std::nullopt;
    REQUIRE(rc == (len == 0 ? NETSHM_OK : NETSHM_ETOOBIG));
    value_t v(len);
    REQUIRE_NETSHM_OK(netshm_find_into(t, key, v.data(), v.size(), &len));
    return v;
}

value_t slice(const batch &b, size_t i)
{
    return value_t(b.values.begin() + static_cast<std::ptrdiff_t>(b.found[i].offset),
                   b.values.begin() + static_cast<std::ptrdiff_t>(b.found[i].offset + b.found[i].len));
}

// Every key of a whole batch (cap unlimited) agrees with the single find.
void check_against_find(netshm_table *t, const std::vector<int32_t> &keys)
{
    batch b = find_many(t, keys, 0);
    REQUIRE(b.rc == (b.needed == 0 ? NETSHM_OK : NETSHM_ETOOBIG));
    batch full = find_many(t, keys, b.needed);
    REQUIRE_NETSHM_OK(full.rc);
    REQUIRE(full.needed == b.needed);
    size_t offset = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
        std::optional<value_t> expected = find_one(t, keys[i]);
        INFO("key " << keys[i] << " at " << i);
        CHECK(b.found[i].len == full.found[i].len);
        if (!expected) {
            CHECK(full.found[i].rc == NETSHM_ENOTFOUND);
            CHECK(full.found[i].len == 0);
            CHECK(full.found[i].offset == 0);
            continue;
        }
        CHECK(full.found[i].rc == NETSHM_OK);
        CHECK(full.found[i].offset == offset);
        CHECK(slice(full, i) == *expected);
        offset += expected->size();
    }
    CHECK(offset == full.needed);
}

} // namespace

TEST_CASE("find_many: values in key order, repeated keys copied twice, unbound keys reported", "[table][find_many]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    add_ok(t, 1, {10, 11});
    add_ok(t, 2, {});
    add_ok(t, 3, {30, 31, 32});
    add_ok(t, 3, {33});

    batch b = find_many(t, {3, 9, 1, 2, 3}, 16);
    REQUIRE_NETSHM_OK(b.rc);
    CHECK(b.needed == 4);
    CHECK(b.found[0].rc == NETSHM_OK);
    CHECK(b.found[0].offset == 0);
    CHECK(b.found[0].len == 1);
    CHECK(b.found[1].rc == NETSHM_ENOTFOUND);
    CHECK(b.found[1].offset == 0);
    CHECK(b.found[1].len == 0);
    CHECK(b.found[2].rc == NETSHM_OK);
    CHECK(b.found[2].offset == 1);
    CHECK(slice(b, 2) == value_t{10, 11});
    CHECK(b.found[3].rc == NETSHM_OK);
    CHECK(b.found[3].len == 0);
    CHECK(b.found[3].offset == 3);
    CHECK(b.found[4].offset == 3);
    CHECK(value_t(b.values.begin(), b.values.begin() + 4) == value_t{33, 10, 11, 33});
    CHECK(b.values[4] == -7);
}

TEST_CASE("find_many: a buffer too small gives ETOOBIG, every found[] entry and the values that fit",
          "[table][find_many]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    add_ok(t, 1, {1, 1});
    add_ok(t, 2, {2, 2, 2});
    add_ok(t, 3, {3});

    batch b = find_many(t, {1, 2, 3, 4, 1}, 4);
    CHECK(b.rc == NETSHM_ETOOBIG);
    CHECK(b.needed == 8);
    CHECK(b.found[1].offset == 2);
    CHECK(b.found[1].len == 3);
    CHECK(b.found[2].offset == 5);
    CHECK(b.found[3].rc == NETSHM_ENOTFOUND);
    CHECK(b.found[4].offset == 6);
    CHECK(b.found[4].len == 2);
    // {1, 1} fits; {2, 2, 2} would end at 5 > 4: not copied, nor anything after.
    CHECK(b.values == value_t{1, 1, -7, -7});

    batch none = find_many(t, {2, 3}, 0);
    CHECK(none.rc == NETSHM_ETOOBIG);
    CHECK(none.needed == 4);
    CHECK(none.found[1].offset == 3);
}

TEST_CASE("find_many: a batch of one key (find's path) keeps the batch's rules", "[table][find_many]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    add_ok(t, 1, {1, 1});
    add_ok(t, 2, make_value(2, 100));  // several pages
    add_ok(t, 3, {});
    for (int32_t key : {1, 2, 3, 4})
        check_against_find(t, {key});

    batch small = find_many(t, {2}, 10);
    CHECK(small.rc == NETSHM_ETOOBIG);
    CHECK(small.needed == 100);
    CHECK(small.found[0].rc == NETSHM_OK);
    CHECK(small.found[0].offset == 0);
    CHECK(small.found[0].len == 100);
    CHECK(small.values == value_t(10, -7));  // what does not fit is not copied

    batch unbound = find_many(t, {4}, 0);
    CHECK(unbound.rc == NETSHM_OK);
    CHECK(unbound.needed == 0);
    CHECK(unbound.found[0].rc == NETSHM_ENOTFOUND);
    CHECK(unbound.found[0].len == 0);

    size_t needed = 0;
    netshm_found found{};
    const int32_t key = 1;
    CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_find_many(t, &key, 1, &found, nullptr, 0, &needed));
    CHECK(needed == 2);
    CHECK(found.len == 2);
}

TEST_CASE("find_many: NULL rules and n = 0", "[table][find_many]")
{
    scratch_table st(160, 10);
    netshm_table *t = st.get();
    add_ok(t, 5, {50});
    size_t needed = 99;
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_many(t, nullptr, 0, nullptr, nullptr, 0, &needed));
    CHECK(needed == 0);
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_many(t, nullptr, 0, nullptr, nullptr, 0, nullptr));
    const int32_t key = 5;
    netshm_found found{};
    int32_t value = 0;
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_many(t, &key, 1, &found, &value, 1, nullptr));
    CHECK(value == 50);
    CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_find_many(t, &key, 1, &found, nullptr, 0, nullptr));
    CHECK(found.len == 1);
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_many(t, nullptr, 1, &found, &value, 1, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_many(t, &key, 1, nullptr, &value, 1, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_many(t, &key, 1, &found, nullptr, 1, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_many(nullptr, &key, 1, &found, &value, 1, nullptr));
}

TEST_CASE("find_many: batches much larger than a chunk, with and without room", "[table][find_many]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(256, 300, locking);
    netshm_table *t = st.get();
    for (int32_t k = 0; k < 300; ++k)
        add_ok(t, k, make_value(k, static_cast<size_t>(k % 7)));
    std::vector<int32_t> keys;
    for (int32_t i = 0; i < 1000; ++i)
        keys.push_back((i * 37) % 400);
    check_against_find(t, keys);
    batch half = find_many(t, keys, 600);
    CHECK(half.rc == NETSHM_ETOOBIG);
    for (size_t i = 0; i < keys.size(); ++i)
        if (half.found[i].rc == NETSHM_OK && half.found[i].offset + half.found[i].len <= 600)
            CHECK(slice(half, i) == make_value(keys[i], static_cast<size_t>(keys[i] % 7)));
}

TEST_CASE("find_many: a corrupt binding fails the call with ECORRUPT, as find does", "[table][find_many]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    add_ok(t, 1, {1});
    add_ok(t, 2, make_value(2, 100));
    table_memory m(t);
    const int which = GENERATE(0, 1);
    const int32_t damaged_key = which == 0 ? 1 : 2;
    // The binding's first page, or a follow-up page of the long value.
    bool damaged = false;
    for (size_t page = 2; page < m.pages && !damaged; ++page) {
        int32_t *words = m.base + page * m.words_per_page;
        bool first = static_cast<uint32_t>(words[0]) == content_magic && words[1] == damaged_key;
        bool follow_up = static_cast<uint32_t>(words[0]) == 0xDE9F6712u && words[1] == damaged_key && words[3] == 1;
        if (which == 0 ? first : follow_up) {
            words[0] = 0x5a5a5a5a;
            damaged = true;
        }
    }
    REQUIRE(damaged);
    size_t len = 0;
    value_t buf(200);
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_find_into(t, damaged_key, buf.data(), buf.size(), &len));
    const std::vector<int32_t> keys{1, 3, 2};
    CHECK(find_many(t, keys, 200).rc == NETSHM_ECORRUPT);
    CHECK(find_many(t, keys, 0).rc == NETSHM_ECORRUPT);
    CHECK(std::string(netshm_last_error()).find("page") != std::string::npos);
}

TEST_CASE("find_many agrees with find on random tables: collisions, long and empty values, growth",
          "[table][find_many]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    const unsigned seed = GENERATE(1u, 2u, 3u);
    std::mt19937 rng(seed);
    // Small pages and a small initial hash: values of several pages, probing
    // past other keys' cells, resizes between batches.
    scratch_table st(160, 4, locking);
    netshm_table *t = st.get();
    auto random_key = [&] { return static_cast<int32_t>(rng() % 97) * (rng() % 2 ? 37 : -41); };
    for (int round = 0; round < 8; ++round) {
        for (int i = 0; i < 30; ++i) {
            int32_t key = random_key();
            size_t len = rng() % 5 == 0 ? rng() % 120 : rng() % 8;
            value_t v = make_value(static_cast<int32_t>(rng()), len);
            switch (rng() % 4) {
            case 0:
                REQUIRE_NETSHM_OK(netshm_remove(t, key));
                break;
            case 1:
                REQUIRE_NETSHM_OK(netshm_replace(t, key, v.data(), v.size()));
                break;
            default:
                add_ok(t, key, v);
            }
        }
        std::vector<int32_t> keys(rng() % 150 + 1);
        for (int32_t &k : keys)
            k = random_key();
        check_against_find(t, keys);
    }
}
