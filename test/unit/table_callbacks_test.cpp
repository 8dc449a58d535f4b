// The C API's table functions that call back: find_all, iter and iter_keys,
// find_blocks and write_blocks fragment by fragment with every answer, and what
// a callback may do to its own table (not close it) and through another handle
// of the object.
#include "table_api_support.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace table_api;
using netshm_test::descr_ptr;
using netshm_test::open_ok;

// The calls of a block callback, as "len" per fragment and "end" per end marker.
using block_trace = std::vector<std::string>;

} // namespace

TEST_CASE("table: find_all, iter and iter_keys present every binding once", "[table][ops]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(160, 3, locking);
    netshm_table *t = st.get();
    std::map<int32_t, std::vector<value_t>> expected;
    for (int32_t k = -20; k < 20; ++k)
        for (int32_t b = 0; b < (k & 3); ++b) {
            value_t v = make_value(k * 10 + b, static_cast<size_t>((k + 20) * 3 + b));
            add_ok(t, k, v);
            expected[k].insert(expected[k].begin(), v);
        }
    CHECK(iter_all(t) == expected);
    std::multiset<int32_t> keys;
    for (const auto &[k, bindings] : expected)
        keys.insert(k);
    CHECK(iter_keys_all(t) == keys);
    for (int32_t k = -20; k < 20; ++k)
        CHECK(find_all_values(t, k) == (expected.count(k) ? expected[k] : std::vector<value_t>{}));

    SECTION("a key's bindings come newest first, one after the other")
    {
        std::vector<int32_t> order;
        REQUIRE_NETSHM_OK(iter_with(t, [&](int32_t k, const int32_t *, size_t) -> int {
            order.push_back(k);
            return 0;
        }));
        std::vector<int32_t> runs;
        for (int32_t k : order)
            if (runs.empty() || runs.back() != k)
                runs.push_back(k);
        CHECK(runs.size() == keys.size());
    }

    SECTION("a negative answer stops and is returned unchanged")
    {
        const int answer = GENERATE(-100, -12345, INT_MIN);
        int calls = 0;
        CHECK_NETSHM_ERR(answer, find_all_with(t, 3, [&](const int32_t *, size_t) -> int {
            ++calls;
            return answer;
        }));
        CHECK(calls == 1);
        calls = 0;
        CHECK_NETSHM_ERR(answer, iter_with(t, [&](int32_t, const int32_t *, size_t) -> int {
            ++calls;
            return answer;
        }));
        CHECK(calls == 1);
        calls = 0;
        CHECK_NETSHM_ERR(answer, iter_keys_with(t, [&](int32_t) -> int { return ++calls == 2 ? answer : 0; }));
        CHECK(calls == 2);
        // Every lock was released: modifying works.
        add_ok(t, 100, {1});
        CHECK(length_of(t) == 61);
    }

    SECTION("an unbound key and an empty table call nothing")
    {
        int calls = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, find_all_with(t, 1000, [&](const int32_t *, size_t) -> int { return ++calls, 0; }));
        scratch_table empty;
        CHECK_NETSHM_ERR(NETSHM_OK, iter_with(empty.get(), [&](int32_t, const int32_t *, size_t) -> int { return ++calls, 0; }));
        CHECK_NETSHM_ERR(NETSHM_OK, iter_keys_with(empty.get(), [&](int32_t) -> int { return ++calls, 0; }));
        CHECK(calls == 0);
    }
}

TEST_CASE("table: find_blocks presents each binding fragment by fragment", "[table][blocks]")
{
    const unsigned pagesize = GENERATE(160u, 256u);
    CAPTURE(pagesize);
    scratch_table st(pagesize, 10);
    netshm_table *t = st.get();
    const geometry &geo = st.geo;
    const std::vector<size_t> lengths{0, 1, geo.first_page_words(), geo.first_page_words() + 1,
                                      geo.first_page_words() + geo.follow_up_words(), 300};
    // Key 1 gets every length, the last one newest.
    for (size_t n : lengths)
        add_ok(t, 1, make_value(static_cast<int32_t>(n), n));

    auto record = [&](block_trace &trace, std::vector<value_t> &values) {
        return [&trace, &values, in_binding = false](const int32_t *frag, size_t n) mutable -> int {
            if (frag == nullptr) {
                trace.push_back(n == 0 ? "end" : "end with length");
                in_binding = false;
                return NETSHM_CONTINUE;
            }
            if (!in_binding)
                values.emplace_back();
            in_binding = true;
            values.back().insert(values.back().end(), frag, frag + n);
            trace.push_back(std::to_string(n));
            return NETSHM_CONTINUE;
        };
    };

    block_trace expected;
    std::vector<value_t> expected_values;
    for (auto n = lengths.rbegin(); n != lengths.rend(); ++n) {
        for (size_t f : geo.fragments(*n))
            expected.push_back(std::to_string(f));
        expected.push_back("end");
        expected_values.push_back(make_value(static_cast<int32_t>(*n), *n));
    }
    block_trace trace;
    std::vector<value_t> values;
    CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 1, record(trace, values)));
    CHECK(trace == expected);
    CHECK(values == expected_values);

    SECTION("an empty value is one zero-length non-NULL fragment, then the end marker")
    {
        add_ok(t, 2, {});
        std::vector<std::pair<bool, size_t>> calls;
        CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 2, [&](const int32_t *frag, size_t n) -> int {
            calls.emplace_back(frag != nullptr, n);
            return NETSHM_CONTINUE;
        }));
        CHECK(calls == std::vector<std::pair<bool, size_t>>{{true, 0}, {false, 0}});
    }

    SECTION("fragments point into the table's memory")
    {
        table_memory mem(t);
        const int32_t *begin = mem.base;
        const int32_t *end = mem.base + mem.pages * mem.words_per_page;
        bool inside = true;
        CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 1, [&](const int32_t *frag, size_t n) -> int {
            if (frag != nullptr && (frag < begin || frag + n > end))
                inside = false;
            return NETSHM_CONTINUE;
        }));
        CHECK(inside);
    }

    SECTION("NEXT skips to the next binding, without its end marker")
    {
        block_trace got;
        CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 1, [&](const int32_t *frag, size_t n) -> int {
            got.push_back(frag == nullptr ? "end" : std::to_string(n));
            return NETSHM_NEXT;
        }));
        block_trace want;
        for (auto n = lengths.rbegin(); n != lengths.rend(); ++n)
            want.push_back(std::to_string(geo.fragments(*n).front()));
        CHECK(got == want);

        // NEXT at an end marker is the same as going on.
        got.clear();
        CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 1, [&](const int32_t *frag, size_t n) -> int {
            got.push_back(frag == nullptr ? "end" : std::to_string(n));
            return frag == nullptr ? NETSHM_NEXT : NETSHM_CONTINUE;
        }));
        CHECK(got == expected);
    }

    SECTION("BREAK stops at once and succeeds")
    {
        const size_t stop_at = GENERATE(0u, 1u, 2u, 5u);
        block_trace got;
        CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 1, [&](const int32_t *frag, size_t n) -> int {
            got.push_back(frag == nullptr ? "end" : std::to_string(n));
            return got.size() == stop_at + 1 ? NETSHM_BREAK : NETSHM_CONTINUE;
        }));
        CHECK(got == block_trace(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(stop_at + 1)));
    }

    SECTION("a negative answer stops and is returned unchanged")
    {
        const int answer = GENERATE(-100, -1000000, INT_MIN);
        int calls = 0;
        CHECK_NETSHM_ERR(answer, find_blocks_with(t, 1, [&](const int32_t *, size_t) -> int {
            return ++calls == 3 ? answer : NETSHM_CONTINUE;
        }));
        CHECK(calls == 3);
        add_ok(t, 1, {});
    }

    SECTION("an unbound key calls nothing")
    {
        int calls = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 99, [&](const int32_t *, size_t) -> int { return ++calls, 0; }));
        CHECK(calls == 0);
    }
}

TEST_CASE("table: write_blocks writes in place and removes bindings", "[table][blocks]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    // Key 1: bindings c (newest, 3 fragments), b (1 fragment), a (2 fragments).
    const value_t a = make_value(1, 40), b = make_value(2, 5), c = make_value(3, 100);
    add_ok(t, 1, a);
    add_ok(t, 1, b);
    add_ok(t, 1, c);
    add_ok(t, 2, {7});
    const std::vector<value_t> all{c, b, a};
    const unsigned remove_op = NETSHM_OP_REMOVE_BINDING;

    SECTION("writes through the fragments are visible afterwards")
    {
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, 0, 1, [](int32_t *frag, size_t n) -> int {
            for (size_t i = 0; frag != nullptr && i < n; ++i)
                frag[i] = ~frag[i];
            return NETSHM_CONTINUE;
        }));
        std::vector<value_t> negated = all;
        for (value_t &v : negated)
            for (int32_t &w : v)
                w = ~w;
        CHECK(find_all_values(t, 1) == negated);
        CHECK(find_value(t, 2) == value_t{7});
    }

    SECTION("REMOVE_BINDING removes the binding when it ends")
    {
        // Answer REMOVE_BINDING on the first fragment of b, CONTINUE afterwards:
        // b still gets its end marker, then a is visited.
        block_trace got;
        int binding = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, remove_op, 1, [&](int32_t *frag, size_t n) -> int {
            got.push_back(frag == nullptr ? "end" : std::to_string(n));
            if (frag == nullptr) {
                ++binding;
                return NETSHM_CONTINUE;
            }
            return binding == 1 ? NETSHM_REMOVE_BINDING : NETSHM_CONTINUE;
        }));
        CHECK(got == block_trace{"34", "36", "30", "end", "5", "end", "34", "6", "end"});
        CHECK(find_all_values(t, 1) == std::vector<value_t>{c, a});
        CHECK(length_of(t) == 3);
    }

    SECTION("REMOVE_BINDING at the end marker")
    {
        int binding = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, remove_op, 1, [&](int32_t *frag, size_t) -> int {
            if (frag != nullptr)
                return NETSHM_CONTINUE;
            return binding++ != 1 ? NETSHM_REMOVE_BINDING : NETSHM_CONTINUE;
        }));
        CHECK(find_all_values(t, 1) == std::vector<value_t>{b});
        CHECK(length_of(t) == 2);
        CHECK(find_value(t, 1) == b);
    }

    SECTION("REMOVE_BINDING then NEXT removes and goes on")
    {
        block_trace got;
        int calls = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, remove_op, 1, [&](int32_t *frag, size_t n) -> int {
            got.push_back(frag == nullptr ? "end" : std::to_string(n));
            ++calls;
            if (calls == 1)
                return NETSHM_REMOVE_BINDING;
            if (calls == 2)
                return NETSHM_NEXT;
            return NETSHM_CONTINUE;
        }));
        CHECK(got == block_trace{"34", "36", "5", "end", "34", "6", "end"});
        CHECK(find_all_values(t, 1) == std::vector<value_t>{b, a});
    }

    SECTION("REMOVE_BINDING then BREAK removes and stops")
    {
        int calls = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, remove_op, 1, [&](int32_t *, size_t) -> int {
            ++calls;
            return calls == 1 ? NETSHM_REMOVE_BINDING : NETSHM_BREAK;
        }));
        CHECK(calls == 2);
        CHECK(find_all_values(t, 1) == std::vector<value_t>{b, a});
    }

    SECTION("removing every binding unbinds the key")
    {
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, remove_op, 1, [](int32_t *, size_t) -> int {
            return NETSHM_REMOVE_BINDING;
        }));
        CHECK_NETSHM_ERR(0, netshm_mem(t, 1));
        CHECK(length_of(t) == 1);
        CHECK(iter_keys_all(t) == std::multiset<int32_t>{2});
        add_ok(t, 1, {9});
        CHECK(find_all_values(t, 1) == std::vector<value_t>{{9}});
    }

    SECTION("removing the oldest binding after kept ones")
    {
        int binding = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, remove_op, 1, [&](int32_t *frag, size_t) -> int {
            if (frag == nullptr)
                return binding++ == 2 ? NETSHM_REMOVE_BINDING : NETSHM_CONTINUE;
            return NETSHM_CONTINUE;
        }));
        CHECK(find_all_values(t, 1) == std::vector<value_t>{c, b});
        REQUIRE_NETSHM_OK(netshm_remove(t, 1));
        REQUIRE_NETSHM_OK(netshm_remove(t, 1));
        CHECK_NETSHM_ERR(0, netshm_mem(t, 1));
    }

    SECTION("a negative answer after REMOVE_BINDING cancels that binding's removal only")
    {
        // c: removed (ends normally); b: REMOVE_BINDING then -100.
        int calls = 0;
        CHECK_NETSHM_ERR(-100, write_blocks_with(t, remove_op, 1, [&](int32_t *, size_t) -> int {
            ++calls;
            if (calls == 1 || calls == 5)
                return NETSHM_REMOVE_BINDING;
            if (calls == 6)
                return -100;
            return NETSHM_CONTINUE;
        }));
        CHECK(calls == 6);
        CHECK(find_all_values(t, 1) == std::vector<value_t>{b, a});
        CHECK(length_of(t) == 3);
        // Every lock was released.
        add_ok(t, 1, {0});
    }

    SECTION("in-place writes stay when a negative answer ends the call")
    {
        CHECK_NETSHM_ERR(-200, write_blocks_with(t, remove_op, 1, [&](int32_t *frag, size_t n) -> int {
            if (frag == nullptr)
                return -200;
            for (size_t i = 0; i < n; ++i)
                frag[i] = 0;
            return NETSHM_REMOVE_BINDING;
        }));
        CHECK(find_all_values(t, 1) == std::vector<value_t>{value_t(100, 0), b, a});
    }

    SECTION("an unannounced REMOVE_BINDING is refused")
    {
        CHECK_NETSHM_ERR(NETSHM_EINVAL, write_blocks_with(t, 0, 1, [](int32_t *, size_t) -> int {
            return NETSHM_REMOVE_BINDING;
        }));
        CHECK(find_all_values(t, 1) == all);
        // Unknown operations are refused before anything is visited.
        int calls = 0;
        CHECK_NETSHM_ERR(NETSHM_EINVAL, write_blocks_with(t, 2u, 1, [&](int32_t *, size_t) -> int { return ++calls, 0; }));
        CHECK_NETSHM_ERR(NETSHM_EINVAL, write_blocks_with(t, remove_op | 4u, 1, [&](int32_t *, size_t) -> int { return ++calls, 0; }));
        CHECK(calls == 0);
        CHECK(length_of(t) == 4);
        add_ok(t, 1, {0});
    }

    SECTION("NEXT, BREAK and an unbound key")
    {
        block_trace got;
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, 0, 1, [&](int32_t *frag, size_t n) -> int {
            got.push_back(frag == nullptr ? "end" : std::to_string(n));
            return got.size() == 1 ? NETSHM_NEXT : got.size() == 3 ? NETSHM_BREAK : NETSHM_CONTINUE;
        }));
        CHECK(got == block_trace{"34", "5", "end"});
        int calls = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, write_blocks_with(t, remove_op, 77, [&](int32_t *, size_t) -> int { return ++calls, 0; }));
        CHECK(calls == 0);
        CHECK(find_all_values(t, 1) == all);
    }
}

namespace {

enum class callback_kind { iter, iter_keys, find_all, find_blocks, write_blocks };

// Runs `body` once, from the first callback of an operation of `kind` on key 1.
template <class Body>
int from_callback(netshm_table *t, callback_kind kind, Body body)
{
    bool done = false;
    auto once = [&] {
        if (!done) {
            done = true;
            body();
        }
        return 0;
    };
    switch (kind) {
    case callback_kind::iter:
        return iter_with(t, [&](int32_t, const int32_t *, size_t) -> int { return once(); });
    case callback_kind::iter_keys:
        return iter_keys_with(t, [&](int32_t) -> int { return once(); });
    case callback_kind::find_all:
        return find_all_with(t, 1, [&](const int32_t *, size_t) -> int { return once(); });
    case callback_kind::find_blocks:
        return find_blocks_with(t, 1, [&](const int32_t *, size_t) -> int { return once(); });
    case callback_kind::write_blocks:
        return write_blocks_with(t, NETSHM_OP_REMOVE_BINDING, 1, [&](int32_t *, size_t) -> int { return once(); });
    }
    return NETSHM_EINVAL;
}

} // namespace

TEST_CASE("table: callbacks cannot modify their table, but can read it", "[table][callbacks]")
{
    const callback_kind kind = GENERATE(callback_kind::iter, callback_kind::iter_keys, callback_kind::find_all,
                                        callback_kind::find_blocks, callback_kind::write_blocks);
    const bool in_group = GENERATE(false, true);
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(static_cast<int>(kind), in_group, locking);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    add_ok(t, 1, make_value(1, 50));
    add_ok(t, 2, {2});
    const auto before = iter_all(t);

    auto body = [&] {
        const value_t v{5};
        CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, netshm_add(t, 3, v.data(), v.size()));
        CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, netshm_add(t, 1, v.data(), v.size()));
        CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, netshm_replace(t, 1, v.data(), v.size()));
        CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, netshm_replace(t, 4, v.data(), v.size()));
        CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, netshm_remove(t, 2));
        CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, netshm_remove(t, 4));
        int calls = 0;
        CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, write_blocks_with(t, NETSHM_OP_REMOVE_BINDING, 2, [&](int32_t *, size_t) -> int {
            ++calls;
            return NETSHM_REMOVE_BINDING;
        }));
        CHECK(calls == 0);
        // Reads are allowed.
        CHECK_NETSHM_ERR(1, netshm_mem(t, 2));
        CHECK_NETSHM_ERR(0, netshm_mem(t, 3));
        int32_t *value = nullptr;
        size_t len = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_find(t, 2, &value, &len));
        CHECK((len == 1 && value != nullptr && value[0] == 2));
        netshm_free(value);
        int32_t buf[60];
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_into(t, 1, buf, 60, &len));
        CHECK(len == 50);
        size_t n = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_length(t, &n));
        CHECK(n == 2);
        int nested = 0;
        CHECK_NETSHM_ERR(NETSHM_OK, find_all_with(t, 2, [&](const int32_t *, size_t) -> int { return ++nested, 0; }));
        CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 2, [&](const int32_t *, size_t) -> int { return ++nested, 0; }));
        CHECK_NETSHM_ERR(NETSHM_OK, iter_keys_with(t, [&](int32_t) -> int { return ++nested, 0; }));
        CHECK(nested == 1 + 2 + 2);
    };
    if (in_group)
        REQUIRE_NETSHM_OK(netshm_group_begin(t));
    CHECK_NETSHM_ERR(NETSHM_OK, from_callback(t, kind, body));
    if (in_group) {
        // The group's own body may modify freely.
        add_ok(t, 8, {8});
        REQUIRE_NETSHM_OK(netshm_remove(t, 8));
        REQUIRE_NETSHM_OK(netshm_group_end(t));
    }
    CHECK(iter_all(t) == before);
    // Once the callback is over, modifications work again.
    add_ok(t, 3, {3});
    CHECK(length_of(t) == 3);
}

TEST_CASE("table: another handle of the object cannot modify it from a callback", "[table][callbacks]")
{
    scratch_table st(160, 10, NETSHM_NO_LOCKING);
    descr_ptr other_descr = open_ok(NETSHM_TYPE_POSIX, st.name, O_RDWR);
    table_ptr other = manage_ok(other_descr.get(), 0, -1, NETSHM_NO_LOCKING);
    add_ok(st.get(), 1, {1});
    const int rc = find_blocks_with(st.get(), 1, [&](const int32_t *frag, size_t) -> int {
        if (frag != nullptr) {
            const int32_t one = 1;
            CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, netshm_add(other.get(), 2, &one, 1));
            CHECK(netshm_mem(other.get(), 1) == 1);
        }
        return NETSHM_CONTINUE;
    });
    CHECK_NETSHM_ERR(NETSHM_OK, rc);
    CHECK(length_of(other.get()) == 1);
}

TEST_CASE("table: closing a table from its own callback is refused and the table stays usable",
          "[table][callbacks]")
{
    const callback_kind kind = GENERATE(callback_kind::iter, callback_kind::iter_keys, callback_kind::find_all,
                                        callback_kind::find_blocks, callback_kind::write_blocks);
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(static_cast<int>(kind), locking);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    add_ok(t, 1, make_value(1, 50));
    add_ok(t, 2, {2});
    const auto before = iter_all(t);

    const int rc = from_callback(t, kind, [&] {
        CHECK_NETSHM_ERR(NETSHM_EBUSY, netshm_table_close(t));
        CHECK_NETSHM_ERR(1, netshm_mem(t, 2));
    });
    CHECK_NETSHM_ERR(NETSHM_OK, rc);
    CHECK(iter_all(t) == before);
    add_ok(t, 3, {3});
    CHECK(length_of(t) == 3);

    SECTION("also from a callback of another handle nested in one of its own")
    {
        descr_ptr other_descr = open_ok(NETSHM_TYPE_POSIX, st.name, O_RDWR);
        table_ptr other = manage_ok(other_descr.get(), 0, -1, locking);
        const int nested_rc = from_callback(t, kind, [&] {
            CHECK_NETSHM_ERR(NETSHM_OK, iter_keys_with(other.get(), [&](int32_t) -> int {
                return netshm_table_close(t) == NETSHM_EBUSY ? 0 : -1;
            }));
        });
        CHECK_NETSHM_ERR(NETSHM_OK, nested_rc);
        CHECK(length_of(t) == 3);
    }

    SECTION("another handle of the object not in a callback closes")
    {
        descr_ptr other_descr = open_ok(NETSHM_TYPE_POSIX, st.name, O_RDWR);
        table_ptr other = manage_ok(other_descr.get(), 0, -1, locking);
        const int other_rc = from_callback(t, kind, [&] {
            CHECK_NETSHM_ERR(NETSHM_OK, netshm_table_close(other.release()));
        });
        CHECK_NETSHM_ERR(NETSHM_OK, other_rc);
        add_ok(t, 4, {4});
        CHECK(length_of(t) == 4);
    }

    SECTION("the table's descriptor closes: the operation ends, later ones fail")
    {
        const int closed_rc = from_callback(t, kind, [&] { CHECK_NETSHM_ERR(NETSHM_OK, netshm_close(st.descr.release())); });
        CHECK((closed_rc == NETSHM_OK || closed_rc == NETSHM_ECLOSED));
        CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_mem(t, 2));
    }
}
