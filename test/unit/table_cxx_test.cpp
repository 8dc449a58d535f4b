// The C++ table wrapper (cxx/include/netshm.hpp): every method with exact
// results, callables that modify or throw, and proof that no lock survives.
#include "child_process.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using value_t = std::vector<int32_t>;
using netshm::flow;

static_assert(!std::is_copy_constructible_v<netshm::table>);
static_assert(!std::is_copy_assignable_v<netshm::table>);
static_assert(std::is_nothrow_move_constructible_v<netshm::table>);
static_assert(std::is_nothrow_move_assignable_v<netshm::table>);
static_assert(std::is_nothrow_destructible_v<netshm::table>);
static_assert(std::is_nothrow_default_constructible_v<netshm::table>);

// Page size 160 (40 words): a binding's first page holds 34 words of value,
// each follow-up page 36.
constexpr unsigned small_pages = 160;
constexpr std::size_t first_page_words = 34;
constexpr std::size_t follow_up_words = 36;

// A value whose words tell which key and which binding they belong to.
value_t make_value(int32_t key, int32_t binding, std::size_t len)
{
    value_t v(len);
    const auto base = static_cast<uint32_t>(key) * 7919u + static_cast<uint32_t>(binding) * 104729u;
    for (std::size_t i = 0; i < len; ++i)
        v[i] = static_cast<int32_t>(base + static_cast<uint32_t>(i));
    return v;
}

// The fragment lengths find_blocks presents for a value of `len` words.
std::vector<std::size_t> fragment_lengths(std::size_t len)
{
    std::vector<std::size_t> lengths{std::min(len, first_page_words)};
    for (std::size_t done = lengths[0]; done < len; done += lengths.back())
        lengths.push_back(std::min(len - done, follow_up_words));
    return lengths;
}

// A POSIX object under a unique name, removed at the end of the test.
struct scratch_table {
    netshm_test::scratch_names names;
    std::string name = names.fresh(NETSHM_TYPE_POSIX);
    netshm::descriptor descr =
        netshm::descriptor::open(netshm::shm_type::posix, name, O_RDWR | O_CREAT | O_EXCL);

    netshm::table manage(unsigned pagesize = small_pages,
                         netshm::locking lock = netshm::locking::record)
    {
        return netshm::table::manage(descr, lock, pagesize);
    }
};

// The exception a test callable throws; compared by value.
struct boom {
    int value;
};

// What `f` threw as E, or nothing if it threw nothing (other types propagate).
template <class E, class F>
std::optional<E> thrown(F &&f)
{
    try {
        f();
    } catch (const E &e) {
        return e;
    }
    return std::nullopt;
}

// "ok" when another process can open the object, manage it with record
// locking, read every binding and write: write-lock every binding of every
// key, add and remove a key.  Nothing when it hangs on a lock for `seconds`.
std::optional<std::string> other_process_writes(const std::string &name, unsigned seconds = 10)
{
    return netshm_test::child(seconds, [&]() -> std::string {
        auto descr = netshm::descriptor::open(netshm::shm_type::posix, name, O_RDWR);
        auto t = netshm::table::manage(descr, netshm::locking::record);
        std::vector<int32_t> keys;
        t.iter_keys([&](int32_t key) { keys.push_back(key); });
        std::size_t bindings = 0;
        t.iter([&](int32_t, std::span<const int32_t>) { ++bindings; });
        for (int32_t key : keys)
            t.write_blocks(key, [](std::optional<std::span<int32_t>>) { return flow::proceed; });
        t.add(-424242, std::vector<int32_t>{1, 2, 3});
        t.remove(-424242);
        return bindings == t.length() ? "ok" : "length differs from iter";
    }).finish_unless_hung();
}

// The pages on which this process holds a record lock, seen by another
// process through F_GETLK (the lock of page p is the byte at p * words_per_page).
std::vector<std::size_t> pages_locked_by_us(const std::string &name, const netshm::memory_view &memory)
{
    const std::string path = netshm_test::scratch_names::path_of(NETSHM_TYPE_POSIX, name);
    auto report = netshm_test::child(10, [&]() -> std::string {
        int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return "cannot open " + path;
        std::string locked;
        for (std::size_t page = 0; page < memory.pages; ++page) {
            struct flock probe {};
            probe.l_type = F_WRLCK;
            probe.l_whence = SEEK_SET;
            probe.l_start = static_cast<off_t>(page * memory.words_per_page);
            probe.l_len = 1;
            if (::fcntl(fd, F_GETLK, &probe) != 0)
                return "F_GETLK failed";
            if (probe.l_type != F_UNLCK)
                locked += std::to_string(page) + " ";
        }
        return locked;
    }).finish_unless_hung();
    REQUIRE(report);
    std::vector<std::size_t> pages;
    std::size_t pos = 0;
    for (std::size_t end; (end = report->find(' ', pos)) != std::string::npos; pos = end + 1)
        pages.push_back(std::stoul(report->substr(pos, end - pos)));
    INFO("the child reported: " << *report);
    REQUIRE(pos == report->size());
    return pages;
}

// The table holds no lock and works for this process and for another one.
void require_usable_and_unlocked(const std::string &name, netshm::table &t)
{
    CHECK(pages_locked_by_us(name, t.memory()).empty());
    CHECK(other_process_writes(name) == "ok");
    t.add(99, value_t{9, 9});
    CHECK(t.find(99) == value_t{9, 9});
    t.remove(99);
    CHECK_FALSE(t.mem(99));
}

// Every binding as iter presents them: per key, the values in the order seen.
std::map<int32_t, std::vector<value_t>> all_bindings(netshm::table &t)
{
    std::map<int32_t, std::vector<value_t>> seen;
    t.iter([&](int32_t key, std::span<const int32_t> value) {
        seen[key].emplace_back(value.begin(), value.end());
    });
    return seen;
}

} // namespace

TEST_CASE("table: move-only handle", "[table][cxx]")
{
    scratch_table s;
    netshm::table a = s.manage();
    REQUIRE(a);
    netshm_table *handle = a.handle();
    REQUIRE(handle != nullptr);
    a.add(1, value_t{1});

    netshm::table b(std::move(a));
    CHECK_FALSE(a);
    CHECK(a.handle() == nullptr);
    CHECK(b.handle() == handle);
    CHECK(b.find(1) == value_t{1});
    auto closed = thrown<netshm::error>([&] { a.add(2, value_t{}); });
    REQUIRE(closed);
    CHECK(closed->code() == NETSHM_ECLOSED);
    CHECK_THROWS_AS(a.length(), netshm::error);

    netshm::table c = s.manage();
    c = std::move(b);
    CHECK(c.handle() == handle);
    CHECK_FALSE(b);
    CHECK(c.find(1) == value_t{1});

    c.close();
    CHECK_FALSE(c);
    c.close();
    netshm::table empty;
    CHECK_FALSE(empty);
}

TEST_CASE("table: manage keeps, re-initialises and checks the page size", "[table][cxx]")
{
    scratch_table s;
    {
        netshm::table t = s.manage(small_pages);
        t.add(5, value_t{50});
    }
    SECTION("an existing table is kept, page size 0 detects it")
    {
        netshm::table t = netshm::table::manage(s.descr, netshm::locking::record);
        CHECK(t.find(5) == value_t{50});
        CHECK(t.memory().words_per_page == small_pages / 4);
    }
    SECTION("init re-initialises")
    {
        netshm::table t = netshm::table::manage(s.descr, netshm::locking::record, 0, 10);
        CHECK_FALSE(t.mem(5));
        CHECK(t.length() == 0);
    }
    SECTION("another page size is refused")
    {
        auto e = thrown<netshm::invalid_argument>(
            [&] { (void)netshm::table::manage(s.descr, netshm::locking::record, 256); });
        REQUIRE(e);
        CHECK(e->code() == NETSHM_EINVAL);
        CHECK_THAT(e->what(), Catch::Contains("160"));
    }
    SECTION("a negative init is refused")
    {
        CHECK_THROWS_AS(netshm::table::manage(s.descr, netshm::locking::record, 0, -1),
                        netshm::invalid_argument);
    }
    SECTION("no locking works too")
    {
        netshm::table t = netshm::table::manage(s.descr, netshm::locking::none);
        t.add(6, value_t{60});
        CHECK(t.find(5) == value_t{50});
        CHECK(t.find(6) == value_t{60});
    }
    SECTION("a closed descriptor is refused")
    {
        netshm::descriptor closed;
        auto e = thrown<netshm::error>(
            [&] { (void)netshm::table::manage(closed, netshm::locking::record); });
        REQUIRE(e);
        CHECK(e->code() == NETSHM_ECLOSED);
    }
}

TEST_CASE("table: add, find, remove and replace", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage();

    SECTION("several bindings per key, the newest first; remove restores the previous")
    {
        t.add(7, value_t{1});
        t.add(7, value_t{2, 2});
        t.add(7, value_t{3, 3, 3});
        CHECK(t.find(7) == value_t{3, 3, 3});
        CHECK(t.find_all(7) == std::vector<value_t>{{3, 3, 3}, {2, 2}, {1}});
        CHECK(t.length() == 3);
        t.remove(7);
        CHECK(t.find(7) == value_t{2, 2});
        t.remove(7);
        CHECK(t.find(7) == value_t{1});
        t.remove(7);
        CHECK_FALSE(t.mem(7));
        CHECK(t.length() == 0);
        t.remove(7); // unbound: nothing happens
        CHECK(t.length() == 0);
    }
    SECTION("replace changes only the newest binding, or adds one")
    {
        t.replace(8, value_t{1});
        CHECK(t.find_all(8) == std::vector<value_t>{{1}});
        t.add(8, value_t{2});
        t.replace(8, value_t{3, 4});
        CHECK(t.find_all(8) == std::vector<value_t>{{3, 4}, {1}});
        CHECK(t.length() == 2);
    }
    SECTION("a missing key: find throws not_found, try_find is empty")
    {
        t.add(1, value_t{1});
        auto e = thrown<netshm::not_found>([&] { (void)t.find(2); });
        REQUIRE(e);
        CHECK(e->code() == NETSHM_ENOTFOUND);
        CHECK_FALSE(t.try_find(2).has_value());
        CHECK_FALSE(t.mem(2));
        CHECK(t.find_all(2).empty());
        value_t out{4, 5};
        CHECK_FALSE(t.find_into(2, out));
        CHECK(out.empty());
        CHECK(t.try_find(1) == value_t{1});
    }
    SECTION("extreme keys, empty and multi-page values")
    {
        const std::vector<int32_t> keys{INT32_MIN, -1, 0, 1, INT32_MAX};
        const std::vector<std::size_t> lengths{0, 1, 34, 35, 255, 256, 257, 1000};
        for (int32_t key : keys)
            for (std::size_t i = 0; i < lengths.size(); ++i)
                t.add(key, make_value(key, static_cast<int32_t>(i), lengths[i]));
        CHECK(t.length() == keys.size() * lengths.size());
        for (int32_t key : keys) {
            INFO("key " << key);
            CHECK(t.find(key) == make_value(key, 7, 1000));
            std::vector<value_t> expected;
            for (std::size_t i = lengths.size(); i-- > 0;)
                expected.push_back(make_value(key, static_cast<int32_t>(i), lengths[i]));
            CHECK(t.find_all(key) == expected);
            value_t reused;
            reused.reserve(1000);
            const int32_t *storage = reused.data();
            for (std::size_t i = lengths.size(); i-- > 0;) {
                value_t out{42};
                REQUIRE(t.find_into(key, out));
                CHECK(out == expected[lengths.size() - 1 - i]);
                REQUIRE(t.find_into(key, reused));
                CHECK(reused == expected[lengths.size() - 1 - i]);
                CHECK(reused.data() == storage); // no reallocation
                CHECK(t.try_find(key) == expected[lengths.size() - 1 - i]);
                t.remove(key);
            }
            CHECK_FALSE(t.mem(key));
        }
        CHECK(t.length() == 0);
    }
    SECTION("values are spans")
    {
        const int32_t raw[] = {10, 20, 30, 40};
        t.add(3, std::span<const int32_t>(raw).subspan(1, 2));
        CHECK(t.find(3) == value_t{20, 30});
        t.add(4, {});
        CHECK(t.find(4).empty());
        CHECK(t.mem(4));
    }
}

TEST_CASE("table: iter, iter_keys, fold and length", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage();
    std::map<int32_t, std::vector<value_t>> expected; // newest first
    const std::vector<int32_t> keys{INT32_MIN, -5, 0, 3, 4, 1000, INT32_MAX};
    for (int32_t key : keys) {
        const int32_t bindings = key == 3 ? 1 : 1 + (key & 3);
        for (int32_t b = 0; b < bindings; ++b) {
            value_t v = make_value(key, b, static_cast<std::size_t>(b) * 40);
            t.add(key, v);
            expected[key].insert(expected[key].begin(), v);
        }
    }
    std::size_t total = 0;
    for (const auto &[key, values] : expected)
        total += values.size();

    CHECK(t.length() == total);
    CHECK(all_bindings(t) == expected);

    std::size_t calls = 0;
    t.iter([&](int32_t, std::span<const int32_t>) { ++calls; });
    CHECK(calls == total);

    std::multiset<int32_t> seen_keys;
    t.iter_keys([&](int32_t key) { seen_keys.insert(key); });
    CHECK(seen_keys == std::multiset<int32_t>(keys.begin(), keys.end()));

    const std::size_t words = t.fold(
        [](int32_t, std::span<const int32_t> value, std::size_t acc) { return acc + value.size(); },
        std::size_t{0});
    std::size_t expected_words = 0;
    for (const auto &[key, values] : expected)
        for (const auto &v : values)
            expected_words += v.size();
    CHECK(words == expected_words);

    // The accumulator is passed along by value: fold collects every binding.
    auto collected = t.fold(
        [](int32_t key, std::span<const int32_t> value, std::map<int32_t, std::vector<value_t>> acc) {
            acc[key].emplace_back(value.begin(), value.end());
            return acc;
        },
        std::map<int32_t, std::vector<value_t>>{});
    CHECK(collected == expected);

    t.remove(INT32_MAX);
    expected[INT32_MAX].erase(expected[INT32_MAX].begin());
    CHECK(t.length() == total - 1);
    CHECK(all_bindings(t) == expected);

    SECTION("an empty table")
    {
        netshm::table fresh = netshm::table::manage(s.descr, netshm::locking::record, 0, 1);
        CHECK(fresh.length() == 0);
        CHECK(fresh.fold([](int32_t, std::span<const int32_t>, int acc) { return acc + 1; }, 0) == 0);
        bool called = false;
        fresh.iter_keys([&](int32_t) { called = true; });
        fresh.iter([&](int32_t, std::span<const int32_t>) { called = true; });
        CHECK_FALSE(called);
    }
}

TEST_CASE("table: group returns what its callable returns and nests", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage();
    t.add(1, value_t{41});

    SECTION("int")
    {
        int r = t.group([&] {
            value_t v = t.find(1);
            t.replace(1, value_t{v[0] + 1});
            return v[0] + 1;
        });
        CHECK(r == 42);
        CHECK(t.find(1) == value_t{42});
    }
    SECTION("std::string")
    {
        std::string r = t.group([&] { return std::string("length ") + std::to_string(t.length()); });
        CHECK(r == "length 1");
    }
    SECTION("void")
    {
        static_assert(std::is_void_v<decltype(t.group([] {}))>);
        t.group([&] { t.add(2, value_t{2}); });
        CHECK(t.find(2) == value_t{2});
    }
    SECTION("a reference")
    {
        int target = 0;
        int &r = t.group([&]() -> int & { return target; });
        CHECK(&r == &target);
    }
    SECTION("a move-only value")
    {
        auto r = t.group([&] { return std::make_unique<value_t>(t.find(1)); });
        REQUIRE(r);
        CHECK(*r == value_t{41});
    }
    SECTION("nested groups")
    {
        std::string r = t.group([&] {
            int inner = t.group([&] {
                t.add(2, value_t{2});
                return t.group([&] { return static_cast<int>(t.length()); });
            });
            t.group([&] { t.remove(1); });
            return std::to_string(inner) + "/" + std::to_string(t.length());
        });
        CHECK(r == "2/1");
        CHECK_FALSE(t.mem(1));
    }
    require_usable_and_unlocked(s.name, t);
}

TEST_CASE("table: find_blocks fragments follow the pages", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage(small_pages);
    const std::size_t len = GENERATE(0u, 1u, 33u, 34u, 35u, 69u, 70u, 71u, 106u, 107u, 300u);
    INFO("value of " << len << " words");
    const value_t v = make_value(5, 0, len);
    t.add(5, v);
    std::vector<std::size_t> lengths;
    value_t joined;
    int ends = 0;
    t.find_blocks(5, [&](std::optional<std::span<const int32_t>> frag) {
        if (!frag) {
            ++ends;
            return flow::proceed;
        }
        CHECK(ends == 0);
        CHECK(frag->data() != nullptr);
        lengths.push_back(frag->size());
        joined.insert(joined.end(), frag->begin(), frag->end());
        return flow::proceed;
    });
    CHECK(ends == 1);
    CHECK(lengths == fragment_lengths(len));
    CHECK(joined == v);
}

TEST_CASE("table: find_blocks presents fragments page by page", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage(small_pages);

    // Three bindings, newest first: 80 words (34+36+10), 3 words, 40 (34+6).
    t.add(9, make_value(9, 0, 40));
    t.add(9, make_value(9, 1, 3));
    t.add(9, make_value(9, 2, 80));
    // The events seen: a fragment's first word and length, or "end".
    std::vector<std::string> events;
    auto note = [&](const std::optional<std::span<const int32_t>> &frag) {
        events.push_back(frag ? std::to_string((*frag)[0]) + ":" + std::to_string(frag->size()) : "end");
    };
    auto first = [](int32_t binding, std::size_t offset) {
        return std::to_string(make_value(9, binding, 100)[offset]);
    };

    SECTION("every fragment, then the end of each binding")
    {
        t.find_blocks(9, [&](auto frag) { note(frag); });
        CHECK(events == std::vector<std::string>{
                            first(2, 0) + ":34", first(2, 34) + ":36", first(2, 70) + ":10", "end",
                            first(1, 0) + ":3", "end",
                            first(0, 0) + ":34", first(0, 34) + ":6", "end"});
    }
    SECTION("next skips the rest of a binding, its end included")
    {
        t.find_blocks(9, [&](std::optional<std::span<const int32_t>> frag) {
            note(frag);
            return events.size() == 1 ? flow::next : flow::proceed;
        });
        CHECK(events == std::vector<std::string>{first(2, 0) + ":34", first(1, 0) + ":3", "end",
                                                 first(0, 0) + ":34", first(0, 34) + ":6", "end"});
    }
    SECTION("next at the end of a binding goes on")
    {
        t.find_blocks(9, [&](std::optional<std::span<const int32_t>> frag) {
            note(frag);
            return frag ? flow::proceed : flow::next;
        });
        CHECK(events.size() == 9);
    }
    SECTION("stop ends everything")
    {
        t.find_blocks(9, [&](std::optional<std::span<const int32_t>> frag) {
            note(frag);
            return events.size() == 5 ? flow::stop : flow::proceed;
        });
        CHECK(events == std::vector<std::string>{first(2, 0) + ":34", first(2, 34) + ":36",
                                                 first(2, 70) + ":10", "end", first(1, 0) + ":3"});
    }
    SECTION("remove_binding is refused")
    {
        auto e = thrown<netshm::invalid_argument>([&] {
            t.find_blocks(9, [](std::optional<std::span<const int32_t>>) { return flow::remove_binding; });
        });
        REQUIRE(e);
        CHECK(e->code() == NETSHM_EINVAL);
        CHECK(t.length() == 3);
    }
    SECTION("an unbound key calls nothing")
    {
        t.find_blocks(10, [&](auto frag) { note(frag); });
        CHECK(events.empty());
    }
    SECTION("reading from the callable is allowed")
    {
        t.find_blocks(9, [&](std::optional<std::span<const int32_t>>) {
            CHECK(t.find(9).size() == 80);
            CHECK(t.mem(9));
            CHECK(t.length() == 3);
            return flow::stop;
        });
    }
    require_usable_and_unlocked(s.name, t);
}

TEST_CASE("table: write_blocks modifies in place and removes bindings", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage(small_pages);
    // Key 3, newest first: 100 words (34+36+30), an empty value, 35 words (34+1).
    const value_t newest = make_value(3, 2, 100), middle = make_value(3, 1, 0),
                  oldest = make_value(3, 0, 35);
    t.add(3, oldest);
    t.add(3, middle);
    t.add(3, newest);
    t.add(4, value_t{4});

    // Runs write_blocks on key 3, answering answer(binding, call, fragment)
    // where binding 0 is the newest and call counts within the binding;
    // returns the (binding, call) pairs seen.
    using seen_t = std::vector<std::pair<int, int>>;
    auto run = [&t](auto answer, netshm::ops announced = netshm::ops::remove_binding) {
        seen_t seen;
        int binding = 0, call = 0;
        t.write_blocks(
            3,
            [&](std::optional<std::span<int32_t>> frag) {
                seen.emplace_back(binding, call);
                flow a = answer(binding, call, frag);
                if (!frag || a == flow::next) {
                    ++binding;
                    call = 0;
                } else {
                    ++call;
                }
                return a;
            },
            announced);
        return seen;
    };
    const seen_t every_call{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 1}, {2, 0}, {2, 1}, {2, 2}};

    SECTION("fragments are writable in place")
    {
        std::vector<std::size_t> lengths;
        auto seen = run([&](int, int, std::optional<std::span<int32_t>> frag) {
            if (frag) {
                lengths.push_back(frag->size());
                for (int32_t &w : *frag)
                    w = -w;
            }
            return flow::proceed;
        });
        CHECK(seen == every_call);
        CHECK(lengths == std::vector<std::size_t>{34, 36, 30, 0, 34, 1});
        auto negated = [](value_t v) {
            for (int32_t &w : v)
                w = -w;
            return v;
        };
        CHECK(t.find_all(3) == std::vector<value_t>{negated(newest), middle, negated(oldest)});
        CHECK(t.find(4) == value_t{4});
    }
    SECTION("remove_binding at a first fragment or at an end removes the binding")
    {
        auto seen = run([](int binding, int call, std::optional<std::span<int32_t>> frag) {
            bool remove = (binding == 0 && call == 0) || (binding == 2 && !frag);
            return remove ? flow::remove_binding : flow::proceed;
        });
        CHECK(seen == every_call);
        CHECK(t.find_all(3) == std::vector<value_t>{middle});
        CHECK(t.length() == 2);
        CHECK(t.find(4) == value_t{4});
    }
    SECTION("remove_binding then next still removes")
    {
        auto seen = run([](int binding, int call, std::optional<std::span<int32_t>>) {
            if (binding == 0)
                return call == 0 ? flow::remove_binding : flow::next;
            return flow::proceed;
        });
        CHECK(seen == seen_t{{0, 0}, {0, 1}, {1, 0}, {1, 1}, {2, 0}, {2, 1}, {2, 2}});
        CHECK(t.find_all(3) == std::vector<value_t>{middle, oldest});
    }
    SECTION("remove_binding then stop removes that binding only")
    {
        auto seen = run([](int binding, int call, std::optional<std::span<int32_t>>) {
            if (binding == 1)
                return call == 0 ? flow::remove_binding : flow::stop;
            return flow::proceed;
        });
        CHECK(seen == seen_t{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 1}});
        CHECK(t.find_all(3) == std::vector<value_t>{newest, oldest});
    }
    SECTION("every binding removed")
    {
        auto seen = run([](int, int, std::optional<std::span<int32_t>>) { return flow::remove_binding; });
        CHECK(seen == every_call);
        CHECK_FALSE(t.mem(3));
        CHECK(t.length() == 1);
    }
    SECTION("an unannounced remove_binding is refused")
    {
        auto e = thrown<netshm::invalid_argument>([&] {
            run([](int, int, std::optional<std::span<int32_t>>) { return flow::remove_binding; },
                netshm::ops::none);
        });
        REQUIRE(e);
        CHECK(e->code() == NETSHM_EINVAL);
        CHECK(t.find_all(3) == std::vector<value_t>{newest, middle, oldest});
    }
    SECTION("next and stop without removal")
    {
        auto seen = run([](int binding, int, std::optional<std::span<int32_t>>) {
            return binding == 0 ? flow::next : binding == 1 ? flow::proceed : flow::stop;
        });
        CHECK(seen == seen_t{{0, 0}, {1, 0}, {1, 1}, {2, 0}});
        CHECK(t.find_all(3) == std::vector<value_t>{newest, middle, oldest});
    }
    SECTION("an exception after remove_binding cancels that binding's removal only")
    {
        seen_t seen;
        auto e = thrown<boom>([&] {
            seen = run([](int binding, int, std::optional<std::span<int32_t>> frag) {
                if (binding == 0)
                    return frag ? flow::proceed : flow::remove_binding;
                if (frag)
                    return flow::remove_binding;
                throw boom{7};
            });
        });
        REQUIRE(e);
        CHECK(e->value == 7);
        CHECK(t.find_all(3) == std::vector<value_t>{middle, oldest});
    }
    require_usable_and_unlocked(s.name, t);
}

TEST_CASE("table: modifying from a callable that holds the table locked is refused", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage(small_pages);
    t.add(1, make_value(1, 0, 50)); // fragments of 34 and 16 words, then the end
    t.add(2, value_t{2});
    const std::map<int32_t, std::vector<value_t>> before = all_bindings(t);

    // Every kind of modification, tried from inside the callable.
    auto modify = [&](int which) {
        switch (which) {
        case 0: t.add(3, value_t{3}); break;
        case 1: t.replace(1, value_t{}); break;
        case 2: t.remove(2); break;
        default:
            t.write_blocks(1, [](std::optional<std::span<int32_t>>) { return flow::proceed; });
        }
    };
    const int which = GENERATE(0, 1, 2, 3);
    INFO("modification " << which);
    int refused = 0;
    auto try_modify = [&] {
        auto e = thrown<netshm::self_locked>([&] { modify(which); });
        if (e && e->code() == NETSHM_ESELFLOCKED)
            ++refused;
    };

    SECTION("iter")
    {
        t.iter([&](int32_t, std::span<const int32_t>) { try_modify(); });
        CHECK(refused == 2);
    }
    SECTION("iter_keys")
    {
        t.iter_keys([&](int32_t) { try_modify(); });
        CHECK(refused == 2);
    }
    SECTION("fold")
    {
        CHECK(t.fold([&](int32_t, std::span<const int32_t>, int acc) { try_modify(); return acc + 1; }, 0) == 2);
        CHECK(refused == 2);
    }
    SECTION("find_blocks")
    {
        t.find_blocks(1, [&](std::optional<std::span<const int32_t>>) { try_modify(); return flow::proceed; });
        CHECK(refused == 3);
    }
    SECTION("write_blocks")
    {
        t.write_blocks(1, [&](std::optional<std::span<int32_t>>) { try_modify(); return flow::proceed; });
        CHECK(refused == 3);
    }
    SECTION("iter inside a group")
    {
        t.group([&] {
            t.iter([&](int32_t, std::span<const int32_t>) { try_modify(); });
            t.add(5, value_t{5});
            t.remove(5);
        });
        CHECK(refused == 2);
    }
    SECTION("the refusal propagates out of the callable")
    {
        auto e = thrown<netshm::self_locked>([&] {
            t.iter([&](int32_t, std::span<const int32_t>) { modify(which); });
        });
        REQUIRE(e);
        CHECK(e->code() == NETSHM_ESELFLOCKED);
    }
    CHECK(all_bindings(t) == before);
    require_usable_and_unlocked(s.name, t);
}

TEST_CASE("table: an exception thrown by a callable comes out unchanged, every lock released",
          "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage(small_pages);
    for (int32_t key = 0; key < 6; ++key) {
        t.add(key, make_value(key, 0, 80));
        t.add(key, make_value(key, 1, 5));
    }
    const std::map<int32_t, std::vector<value_t>> before = all_bindings(t);

    // Throws on the `at`-th call.
    int calls = 0;
    const int at = GENERATE(1, 4);
    INFO("throwing at call " << at);
    auto maybe_throw = [&] {
        if (++calls == at)
            throw boom{at * 10};
    };
    std::optional<boom> e;

    SECTION("iter")
    {
        e = thrown<boom>([&] { t.iter([&](int32_t, std::span<const int32_t>) { maybe_throw(); }); });
    }
    SECTION("iter_keys")
    {
        e = thrown<boom>([&] { t.iter_keys([&](int32_t) { maybe_throw(); }); });
    }
    SECTION("fold")
    {
        e = thrown<boom>([&] {
            (void)t.fold([&](int32_t, std::span<const int32_t>, int acc) { maybe_throw(); return acc; }, 0);
        });
    }
    SECTION("find_blocks")
    {
        e = thrown<boom>([&] {
            t.find_blocks(2, [&](std::optional<std::span<const int32_t>>) { maybe_throw(); return flow::proceed; });
        });
    }
    SECTION("write_blocks")
    {
        e = thrown<boom>([&] {
            t.write_blocks(2, [&](std::optional<std::span<int32_t>>) { maybe_throw(); return flow::proceed; },
                           netshm::ops::remove_binding);
        });
    }
    SECTION("group, after a write")
    {
        e = thrown<boom>([&] {
            t.group([&] {
                t.add(77, value_t{7});
                t.remove(77);
                calls = at - 1;
                maybe_throw();
            });
        });
    }
    SECTION("nested groups")
    {
        e = thrown<boom>([&] {
            (void)t.group([&] {
                t.group([&] {
                    (void)t.find(1);
                    calls = at - 1;
                    maybe_throw();
                });
                return 1;
            });
        });
    }
    SECTION("a group catching an inner group's exception goes on")
    {
        int r = t.group([&] {
            auto inner = thrown<boom>([&] { t.group([&] { calls = at - 1; maybe_throw(); }); });
            t.add(78, value_t{8});
            t.remove(78);
            return inner ? inner->value : -1;
        });
        CHECK(r == at * 10);
        e = boom{r};
    }
    SECTION("a group passing a library error through")
    {
        auto missing = thrown<netshm::not_found>([&] { t.group([&] { return t.find(12345); }); });
        REQUIRE(missing);
        CHECK(missing->code() == NETSHM_ENOTFOUND);
        e = boom{at * 10};
    }
    SECTION("a standard exception")
    {
        auto r = thrown<std::runtime_error>(
            [&] { t.iter_keys([&](int32_t) { throw std::runtime_error("from a callable"); }); });
        REQUIRE(r);
        CHECK(std::string(r->what()) == "from a callable");
        e = boom{at * 10};
    }
    REQUIRE(e);
    CHECK(e->value == at * 10);
    CHECK(all_bindings(t) == before);
    require_usable_and_unlocked(s.name, t);
}

TEST_CASE("table: the lock checks see locks that are held", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage(small_pages);
    t.add(1, make_value(1, 0, 50));

    SECTION("a group after a write holds the descriptor page")
    {
        t.group([&] {
            t.add(2, value_t{2});
            std::vector<std::size_t> locked = pages_locked_by_us(s.name, t.memory());
            CHECK(std::find(locked.begin(), locked.end(), 1u) != locked.end());
            CHECK_FALSE(other_process_writes(s.name, 1));
        });
    }
    SECTION("find_blocks holds the binding's first page")
    {
        const netshm::memory_view memory = t.memory();
        t.find_blocks(1, [&](std::optional<std::span<const int32_t>> frag) {
            const auto page =
                static_cast<std::size_t>(frag->data() - memory.words.data()) / memory.words_per_page;
            std::vector<std::size_t> locked = pages_locked_by_us(s.name, memory);
            CHECK(std::find(locked.begin(), locked.end(), page) != locked.end());
            return flow::stop;
        });
    }
    CHECK(pages_locked_by_us(s.name, t.memory()).empty());
}

TEST_CASE("table: dump and memory", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage(small_pages);
    t.add(12345, value_t{678, 9});

    const netshm::memory_view memory = t.memory();
    CHECK(memory.words_per_page == 40);
    REQUIRE(memory.pages >= 3);
    REQUIRE(memory.words.size() == memory.pages * memory.words_per_page);
    CHECK(static_cast<uint32_t>(memory.words[0]) == 0xDE871209u);
    CHECK(static_cast<uint32_t>(memory.words[1]) == 0xDE881209u);
    CHECK(static_cast<uint32_t>(memory.words[2]) == 0xDE871309u);
    CHECK(static_cast<uint32_t>(memory.words[3]) == 0xDE87120Au);
    CHECK(memory.words[4] == 1);
    CHECK(static_cast<uint32_t>(memory.words[40]) == 0x6712DE9Fu);
    CHECK(static_cast<std::size_t>(memory.words[41]) == memory.pages);
    CHECK(memory.words[44] == 1); // one binding

    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    t.dump(fds[1]);
    ::close(fds[1]);
    std::string text;
    char buffer[256];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<std::size_t>(n));
    ::close(fds[0]);
    CHECK_THAT(text, Catch::Contains("12345"));
    CHECK_THAT(text, Catch::Contains("678"));

    CHECK_THROWS_AS(t.dump(-1), netshm::error);
}

static_assert(static_cast<int>(netshm::problem_kind::master) == NETSHM_PROBLEM_MASTER);
static_assert(static_cast<int>(netshm::problem_kind::tail) == NETSHM_PROBLEM_TAIL);

TEST_CASE("table: check and stat", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage();
    t.add(1, make_value(1, 0, 100));
    t.add(1, make_value(1, 1, 3));
    CHECK(t.check().empty());
    const netshm::stats st = t.stat();
    CHECK(st.struct_size == sizeof(netshm::stats));
    CHECK(st.pagesize == small_pages);
    CHECK(st.bindings == 2);
    CHECK(st.distinct_keys == 1);
    CHECK(st.content_pages == fragment_lengths(100).size() + 1);
    CHECK(st.value_bytes == 4 * 103);
    CHECK(st.longest_probe == 1);

    // The descriptor page's binding count, made wrong.
    netshm::memory_view mem = t.memory();
    mem.words[mem.words_per_page + 4] = 5;
    const std::vector<netshm::problem> problems = t.check();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].kind == netshm::problem_kind::count);
    CHECK(problems[0].page == 1);
    CHECK(problems[0].message == "page 1: binding count 5, but the hash table leads to 2 bindings");
    CHECK_THROWS_AS(t.stat(), netshm::corrupt_file);

    netshm::table closed;
    CHECK_THROWS_AS(closed.check(), netshm::error);
    CHECK_THROWS_AS(closed.stat(), netshm::error);
}

TEST_CASE("table: find_many returns every value in key order, in buffers it reuses", "[table][cxx]")
{
    scratch_table s;
    netshm::table t = s.manage();
    t.add(1, value_t{10});
    t.add(2, make_value(2, 0, 3 * first_page_words));
    t.add(3, value_t{});

    const std::vector<int32_t> keys{2, 9, 1, 3, 1};
    netshm::found_values found = t.find_many(keys);
    REQUIRE(found.size() == keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        std::optional<value_t> expected = t.try_find(keys[i]);
        REQUIRE(found[i].has_value() == expected.has_value());
        if (expected)
            CHECK(value_t(found[i]->begin(), found[i]->end()) == *expected);
    }
    std::size_t visited = 0;
    for (std::optional<std::span<const int32_t>> value : found)
        visited += value ? 1 : 0;
    CHECK(visited == 4);
    CHECK(t.find_many(std::span<const int32_t>{}).empty());

    // Refilled with a batch no larger, the result allocates nothing: its
    // views keep pointing into the same buffers.
    t.find_many(keys, found);
    const int32_t *values_before = found[0]->data();
    for (int round = 0; round < 3; ++round) {
        t.find_many(std::span<const int32_t>(keys).first(3), found);
        CHECK(found.size() == 3);
        CHECK(found[2]->data() == values_before + 3 * first_page_words);
        t.find_many(keys, found);
        CHECK(found[0]->data() == values_before);
    }
    CHECK(value_t(found[4]->begin(), found[4]->end()) == value_t{10});
}
