// The single-key operations of the C API's tables, one behaviour at a time with
// exact results: add, replace, remove, find, find_into, mem and length, and every
// table function on a closed descriptor and on NULL arguments.
#include "table_api_support.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

using namespace table_api;

TEST_CASE("table: add, find and remove keep several bindings per key, newest first", "[table][ops]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();

    add_ok(t, 7, {1, 2, 3});
    CHECK(find_value(t, 7) == value_t{1, 2, 3});
    add_ok(t, 7, {4});
    CHECK(find_value(t, 7) == value_t{4});
    CHECK(find_all_values(t, 7) == std::vector<value_t>{{4}, {1, 2, 3}});
    CHECK(length_of(t) == 2);
    CHECK_NETSHM_ERR(1, netshm_mem(t, 7));

    REQUIRE_NETSHM_OK(netshm_remove(t, 7));
    CHECK(find_value(t, 7) == value_t{1, 2, 3});
    CHECK(length_of(t) == 1);
    REQUIRE_NETSHM_OK(netshm_remove(t, 7));
    CHECK_NETSHM_ERR(0, netshm_mem(t, 7));
    CHECK(length_of(t) == 0);
    // Removing an unbound key does nothing and succeeds.
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_remove(t, 7));
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_remove(t, 8));
    CHECK(length_of(t) == 0);

    int32_t *value = reinterpret_cast<int32_t *>(&st);
    size_t len = 99;
    CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_find(t, 7, &value, &len));
    CHECK(value == nullptr);
    CHECK(len == 0);

    SECTION("extreme keys")
    {
        const std::vector<int32_t> keys{INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX};
        for (int32_t k : keys)
            add_ok(t, k, make_value(k, static_cast<size_t>(k & 63)));
        CHECK(length_of(t) == keys.size());
        for (int32_t k : keys) {
            CHECK(find_value(t, k) == make_value(k, static_cast<size_t>(k & 63)));
            CHECK_NETSHM_ERR(1, netshm_mem(t, k));
        }
        CHECK(iter_keys_all(t) == std::multiset<int32_t>(keys.begin(), keys.end()));
        REQUIRE_NETSHM_OK(netshm_remove(t, INT32_MIN));
        CHECK_NETSHM_ERR(0, netshm_mem(t, INT32_MIN));
        CHECK_NETSHM_ERR(1, netshm_mem(t, INT32_MAX));
        int32_t buf[1];
        size_t needed = 9;
        CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_find_into(t, INT32_MIN, buf, 1, &needed));
        CHECK(std::string(netshm_last_error()) == "key -2147483648 is not bound");
        CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_find(t, INT32_MIN, &value, &len));
        CHECK(std::string(netshm_last_error()) == "key -2147483648 is not bound");
    }

    SECTION("empty values")
    {
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(t, 3, nullptr, 0));
        const value_t some{5};
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(t, 3, some.data(), 0));
        int32_t *empty = nullptr;
        size_t n = 7;
        REQUIRE_NETSHM_OK(netshm_find(t, 3, &empty, &n));
        CHECK(empty != nullptr);
        CHECK(n == 0);
        netshm_free(empty);
        CHECK(find_all_values(t, 3) == std::vector<value_t>{{}, {}});
    }

    SECTION("multi-page values")
    {
        for (size_t n : {33u, 34u, 35u, 69u, 70u, 71u, 72u, 300u, 1000u}) {
            add_ok(t, static_cast<int32_t>(n), make_value(static_cast<int32_t>(n), n));
            CHECK(find_value(t, static_cast<int32_t>(n)) == make_value(static_cast<int32_t>(n), n));
        }
    }

    SECTION("NULL with a length, and lengths beyond int32, are refused without change")
    {
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_add(t, 1, nullptr, 1));
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_replace(t, 1, nullptr, 3));
        const value_t small{1};
        const size_t huge = static_cast<size_t>(INT32_MAX) + 1;
        CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_add(t, 1, small.data(), huge));
        CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_replace(t, 1, small.data(), huge));
        CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_add(t, 1, small.data(), SIZE_MAX));
        CHECK(length_of(t) == 0);
        CHECK_NETSHM_ERR(0, netshm_mem(t, 1));
    }
}

TEST_CASE("table: replace changes the newest binding only, or adds", "[table][ops]")
{
    scratch_table st(160, 10);
    netshm_table *t = st.get();
    const value_t a{1}, b{2, 2}, c = make_value(3, 200), d{};
    REQUIRE_NETSHM_OK(netshm_replace(t, 4, a.data(), a.size()));
    CHECK(find_all_values(t, 4) == std::vector<value_t>{a});
    CHECK(length_of(t) == 1);
    add_ok(t, 4, b);
    REQUIRE_NETSHM_OK(netshm_replace(t, 4, c.data(), c.size()));
    CHECK(find_all_values(t, 4) == std::vector<value_t>{c, a});
    REQUIRE_NETSHM_OK(netshm_replace(t, 4, d.data(), d.size()));
    CHECK(find_all_values(t, 4) == std::vector<value_t>{d, a});
    CHECK(length_of(t) == 2);
    REQUIRE_NETSHM_OK(netshm_remove(t, 4));
    CHECK(find_all_values(t, 4) == std::vector<value_t>{a});

    SECTION("pages of replaced and removed values are reused")
    {
        // Once the free list holds what one round needs, rounds take no new page.
        int32_t total = 0;
        for (int i = 0; i < 100; ++i) {
            const value_t v = make_value(i, 300);
            REQUIRE_NETSHM_OK(netshm_replace(t, 8, v.data(), v.size()));
            REQUIRE_NETSHM_OK(netshm_add(t, 9, v.data(), v.size()));
            REQUIRE_NETSHM_OK(netshm_remove(t, 9));
            if (i == 1)
                total = table_memory(t).descriptor(d_total_pages);
        }
        CHECK(table_memory(t).descriptor(d_total_pages) == total);
        CHECK(find_value(t, 8) == make_value(99, 300));
    }

    SECTION("freed pages go on the free list")
    {
        const int32_t value_pages = static_cast<int32_t>(st.geo.pages_for(300));
        const int32_t free_before = table_memory(t).descriptor(d_free_count);
        const int32_t total_before = table_memory(t).descriptor(d_total_pages);
        const value_t v = make_value(1, 300);
        REQUIRE_NETSHM_OK(netshm_add(t, 10, v.data(), v.size()));
        const int32_t added = table_memory(t).descriptor(d_total_pages) - total_before;
        const int32_t free_middle = table_memory(t).descriptor(d_free_count);
        CHECK(free_middle == free_before + added - value_pages);
        REQUIRE_NETSHM_OK(netshm_remove(t, 10));
        table_memory after(t);
        CHECK(after.descriptor(d_free_count) == free_middle + value_pages);
        CHECK(static_cast<uint32_t>(after.word(static_cast<size_t>(after.descriptor(d_free_head)), 0)) == free_magic);
    }
}

TEST_CASE("table: mem, find_into and length", "[table][ops]")
{
    scratch_table st(160, 10);
    netshm_table *t = st.get();
    const value_t v = make_value(5, 100);
    add_ok(t, 5, v);
    add_ok(t, 6, {});
    CHECK_NETSHM_ERR(1, netshm_mem(t, 5));
    CHECK_NETSHM_ERR(1, netshm_mem(t, 6));
    CHECK_NETSHM_ERR(0, netshm_mem(t, 4));
    CHECK(length_of(t) == 2);

    std::vector<int32_t> buf(200, -77);
    size_t len = 0;
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_into(t, 5, buf.data(), 100, &len));
    CHECK(len == 100);
    CHECK(value_t(buf.begin(), buf.begin() + 100) == v);
    CHECK(buf[100] == -77);

    std::fill(buf.begin(), buf.end(), -77);
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_into(t, 5, buf.data(), 200, &len));
    CHECK(len == 100);
    CHECK(value_t(buf.begin(), buf.begin() + 100) == v);
    CHECK(std::all_of(buf.begin() + 100, buf.end(), [](int32_t w) { return w == -77; }));

    std::fill(buf.begin(), buf.end(), -77);
    len = 0;
    CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_find_into(t, 5, buf.data(), 99, &len));
    CHECK(len == 100);
    CHECK(std::all_of(buf.begin(), buf.end(), [](int32_t w) { return w == -77; }));
    CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_find_into(t, 5, nullptr, 0, &len));
    CHECK(len == 100);

    len = 5;
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_into(t, 6, nullptr, 0, &len));
    CHECK(len == 0);
    len = 5;
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_into(t, 6, buf.data(), 3, &len));
    CHECK(len == 0);
    CHECK(buf[0] == -77);

    len = 5;
    CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_find_into(t, 4, buf.data(), 200, &len));
    CHECK(len == 0);
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_into(t, 5, nullptr, 3, &len));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_into(t, 5, buf.data(), 200, nullptr));
}

TEST_CASE("table: every operation fails with NETSHM_ECLOSED once the descriptor is closed", "[table]")
{
    scratch_table st;
    netshm_table *t = st.get();
    add_ok(t, 1, {1});
    REQUIRE_NETSHM_OK(netshm_close(st.descr.release()));

    const value_t v{1};
    int32_t *value = nullptr;
    int32_t buf[4];
    size_t len = 0;
    int32_t *base = nullptr;
    size_t pages = 0, wpp = 0;
    int calls = 0;
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_add(t, 1, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_replace(t, 1, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_remove(t, 1));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_mem(t, 1));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_find(t, 1, &value, &len));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_find_into(t, 1, buf, 4, &len));
    const int32_t key = 1;
    netshm_found found{};
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_find_many(t, &key, 1, &found, buf, 4, nullptr));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_length(t, &len));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, find_all_with(t, 1, [&](const int32_t *, size_t) -> int { return ++calls, 0; }));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, iter_with(t, [&](int32_t, const int32_t *, size_t) -> int { return ++calls, 0; }));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, iter_keys_with(t, [&](int32_t) -> int { return ++calls, 0; }));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, find_blocks_with(t, 1, [&](const int32_t *, size_t) -> int { return ++calls, 0; }));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, write_blocks_with(t, 0, 1, [&](int32_t *, size_t) -> int { return ++calls, 0; }));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, group_with(t, [&](netshm_table *) -> int { return ++calls, 0; }));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_group_begin(t));
    // Ending a group needs no descriptor (a group outlives its closing): here none is open.
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_end(t));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_dump(t, STDERR_FILENO));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_memory(t, &base, &pages, &wpp));
    CHECK(calls == 0);
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_table_close(st.table.release()));
}

TEST_CASE("table: NULL arguments give NETSHM_EINVAL", "[table]")
{
    scratch_table st;
    netshm_table *t = st.get();
    add_ok(t, 1, {1});
    const value_t v{1};
    int32_t *value = nullptr;
    int32_t buf[4];
    size_t len = 0;
    int32_t *base = nullptr;
    size_t pages = 0, wpp = 0;
    auto read_fn = [](const int32_t *, size_t, void *) { return 0; };
    auto iter_fn = [](int32_t, const int32_t *, size_t, void *) { return 0; };
    auto key_fn = [](int32_t, void *) { return 0; };
    auto write_fn = [](int32_t *, size_t, void *) { return 0; };

    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_add(nullptr, 1, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_replace(nullptr, 1, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_remove(nullptr, 1));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_mem(nullptr, 1));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find(nullptr, 1, &value, &len));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find(t, 1, nullptr, &len));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find(t, 1, &value, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_into(nullptr, 1, buf, 4, &len));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_into(t, 1, buf, 4, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_into(t, 1, nullptr, 4, &len));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_length(nullptr, &len));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_length(t, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_all(nullptr, 1, read_fn, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_all(t, 1, nullptr, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_iter(nullptr, iter_fn, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_iter(t, nullptr, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_iter_keys(nullptr, key_fn, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_iter_keys(t, nullptr, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_blocks(nullptr, 1, read_fn, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_find_blocks(t, 1, nullptr, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_write_blocks(nullptr, 0, 1, write_fn, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_write_blocks(t, 0, 1, nullptr, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_dump(nullptr, STDERR_FILENO));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_memory(nullptr, &base, &pages, &wpp));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_memory(t, nullptr, &pages, &wpp));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_memory(t, &base, nullptr, &wpp));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_memory(t, &base, &pages, nullptr));
    netshm_free(nullptr);
    // Nothing changed.
    CHECK(iter_all(t) == (std::map<int32_t, std::vector<value_t>>{{1, {{1}}}}));
}
