// netshm_check and netshm_stat: valid tables of every shape are sound with
// exact statistics, and each kind of damage, written into the object, is
// reported with its kind and the page it is on.
#include "damaged_table.hpp"
#include "netshm_test_helpers.hpp"
#include "table_image.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using corruption::damaged_table;
using corruption::table_image;
using corruption::value_of;
using corruption::value_t;

enum descriptor_word { d_total_pages = 1, d_hash_size = 2, d_claimed = 3, d_bindings = 4, d_free_head = 5,
                       d_free_count = 6, d_extents = 8 };

struct reported {
    netshm_problem_kind kind;
    int32_t page;
    std::string message;
};

// Every problem netshm_check reports; requires its result to be their number.
std::vector<reported> check_table(netshm_table *t)
{
    std::vector<reported> found;
    const int rc = netshm_check(
        t,
        [](const netshm_problem *p, void *ctx) -> int {
            static_cast<std::vector<reported> *>(ctx)->push_back({p->kind, p->page, p->message});
            return 0;
        },
        &found);
    INFO("netshm_check returned " << rc << ": " << netshm_last_error());
    REQUIRE(rc == static_cast<int>(found.size()));
    return found;
}

std::string listing(const std::vector<reported> &problems)
{
    std::ostringstream text;
    text << problems.size() << " problem(s):";
    for (const reported &p : problems)
        text << "\n  kind " << p.kind << ", page " << p.page << ": " << p.message;
    return text.str();
}

// Whether a problem of `kind` is reported at `page`, with a message naming it.
bool finds(const std::vector<reported> &problems, netshm_problem_kind kind, int32_t page)
{
    const std::string named = "page " + std::to_string(page);
    const std::string run = "pages " + std::to_string(page) + "-";
    return std::any_of(problems.begin(), problems.end(), [&](const reported &p) {
        return p.kind == kind && p.page == page &&
               (page < 0 || p.message.rfind(named + ":", 0) == 0 || p.message.rfind(run, 0) == 0);
    });
}

#define CHECK_FINDS(problems, kind, page)                                                                     \
    do {                                                                                                     \
        INFO("expected kind " << (kind) << " at page " << (page) << "; " << listing(problems));               \
        CHECK(finds(problems, kind, page));                                                                  \
    } while (false)

#define CHECK_FINDS_ONLY(problems, kind, page)                                                                \
    do {                                                                                                     \
        CHECK_FINDS(problems, kind, page);                                                                   \
        INFO(listing(problems));                                                                             \
        CHECK(problems.size() == 1);                                                                         \
    } while (false)

netshm_stats stats_of(netshm_table *t)
{
    netshm_stats s;
    std::memset(&s, 0xAB, sizeof s);
    s.struct_size = sizeof s;
    REQUIRE_NETSHM_OK(netshm_stat(t, &s));
    REQUIRE(s.struct_size == sizeof s);
    return s;
}

// ------------------------------------------------------------ what a table holds

// The bindings put into a table, each key's newest last.
using model_t = std::map<int32_t, std::vector<value_t>>;

struct words_view {
    explicit words_view(netshm_table *t) { REQUIRE_NETSHM_OK(netshm_memory(t, &base, &pages, &wpp)); }
    int32_t at(int64_t page, size_t word) const { return base[static_cast<size_t>(page) * wpp + word]; }
    int32_t d(size_t word) const { return at(1, word); }
    std::vector<std::pair<int32_t, int32_t>> extents() const
    {
        std::vector<std::pair<int32_t, int32_t>> used;
        for (size_t i = 0; i < 16 && d(d_extents + 2 * i) != 0; ++i)
            used.emplace_back(d(d_extents + 2 * i), d(d_extents + 2 * i + 1));
        return used;
    }
    // (key, ptr) of hash cell `index`.
    std::pair<int32_t, int32_t> cell(int64_t index) const
    {
        const int64_t cells_per_page = static_cast<int64_t>(wpp / 4 - 1);
        for (auto [first, count] : extents()) {
            if (index < count * cells_per_page) {
                const int64_t page = first + index / cells_per_page;
                const size_t word = 4 + 4 * static_cast<size_t>(index % cells_per_page);
                return {at(page, word), at(page, word + 1)};
            }
            index -= count * cells_per_page;
        }
        FAIL("cell beyond the extents");
        return {};
    }
    // Cells probing for a bound key visits, one attempt at a time (DESIGN §5).
    uint64_t probes_for(int32_t key) const
    {
        const int64_t size = d(d_hash_size);
        for (int64_t attempt = 0; attempt <= size + 10; ++attempt) {
            const int64_t offset = attempt <= 9 ? attempt * attempt : 72 + attempt;
            const auto sum = static_cast<int32_t>(static_cast<uint32_t>(key) + static_cast<uint32_t>(offset));
            const int64_t index = ((sum % size) + size) % size;
            auto [k, ptr] = cell(index);
            if (ptr == 0)
                break;
            if (k == key)
                return static_cast<uint64_t>(attempt + 1);
        }
        FAIL("key " << key << " is not found by probing");
        return 0;
    }

    int32_t *base = nullptr;
    size_t pages = 0;
    size_t wpp = 0;
};

uint64_t pages_for(size_t len, unsigned pagesize)
{
    const size_t w = pagesize / 4;
    return (len + 1) / (w - 4) + 1;
}

// Requires the table sound, with exactly the statistics of what `model` put in.
void require_sound(netshm_table *t, const model_t &model, unsigned pagesize, const std::string &path)
{
    const std::vector<reported> problems = check_table(t);
    INFO(listing(problems));
    REQUIRE(problems.empty());

    const netshm_stats s = stats_of(t);
    const words_view mem(t);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    uint64_t bindings = 0, keys = 0, content = 0, bytes = 0, longest = 0, hash_pages = 0;
    for (const auto &[key, values] : model) {
        keys += values.empty() ? 0 : 1;
        for (const value_t &v : values) {
            ++bindings;
            content += pages_for(v.size(), pagesize);
            bytes += 4 * v.size();
        }
        if (!values.empty())
            longest = std::max(longest, mem.probes_for(key));
    }
    for (auto [first, count] : mem.extents())
        hash_pages += static_cast<uint64_t>(count);
    CHECK(s.pagesize == pagesize);
    CHECK(s.object_bytes == static_cast<uint64_t>(st.st_size));
    CHECK(s.total_pages == static_cast<uint64_t>(mem.d(d_total_pages)));
    CHECK(s.free_pages == static_cast<uint64_t>(mem.d(d_free_count)));
    CHECK(s.hash_pages == hash_pages);
    CHECK(s.content_pages == content);
    CHECK(s.extents == mem.extents().size());
    CHECK(s.hash_cells == static_cast<uint64_t>(mem.d(d_hash_size)));
    CHECK(s.claimed_cells == static_cast<uint64_t>(mem.d(d_claimed)));
    CHECK(s.bindings == bindings);
    CHECK(s.distinct_keys == keys);
    CHECK(s.value_bytes == bytes);
    CHECK(s.longest_probe == longest);
    CHECK(s.total_pages == 2 + s.hash_pages + s.content_pages + s.free_pages);
}

void add_to(netshm_table *t, model_t &model, int32_t key, const value_t &v)
{
    REQUIRE_NETSHM_OK(netshm_add(t, key, v.data(), v.size()));
    model[key].push_back(v);
}

void remove_from(netshm_table *t, model_t &model, int32_t key)
{
    REQUIRE_NETSHM_OK(netshm_remove(t, key));
    if (!model[key].empty())
        model[key].pop_back();
}

} // namespace

// ============================================================ sound tables

TEST_CASE("check: valid tables are sound, with exact statistics", "[check]")
{
    const unsigned pagesize = GENERATE(160u, 256u, 1024u);
    CAPTURE(pagesize);
    damaged_table d(pagesize, 100);
    model_t model;

    SECTION("a new table")
    {
        require_sound(d.get(), model, pagesize, d.path);
        CHECK(stats_of(d.get()).longest_probe == 0);
    }
    SECTION("multi-page values, several bindings per key, growth to several extents, removes")
    {
        std::mt19937 rng(pagesize);
        const size_t words = pagesize / 4;
        for (int32_t key = 0; key < 400; ++key) {
            add_to(d.get(), model, key * 7 - 1000, value_of(key, rng() % (3 * words)));
            if (key % 5 == 0)
                add_to(d.get(), model, key * 7 - 1000, value_of(key + 1, rng() % (2 * words)));
        }
        for (int32_t key = 0; key < 400; key += 3)
            remove_from(d.get(), model, key * 7 - 1000);
        // An empty value, a removed key added again, a replaced binding.
        add_to(d.get(), model, 123456, {});
        add_to(d.get(), model, -1000, value_of(9, 5 * words));
        REQUIRE(model[1].size() == 1);
        REQUIRE_NETSHM_OK(netshm_replace(d.get(), 1, value_of(1, 3).data(), 3));
        model[1].back() = value_of(1, 3);
        REQUIRE(words_view(d.get()).extents().size() >= 3);
        REQUIRE(words_view(d.get()).d(d_free_count) > 0);
        require_sound(d.get(), model, pagesize, d.path);
    }
    SECTION("keys that collide: long probe sequences")
    {
        const int32_t size = words_view(d.get()).d(d_hash_size);
        for (int32_t i = 0; i < size / 2; ++i)
            add_to(d.get(), model, 5 + i * size, value_of(i, 1));
        REQUIRE(words_view(d.get()).d(d_hash_size) == size);
        require_sound(d.get(), model, pagesize, d.path);
        CHECK(stats_of(d.get()).longest_probe > 10);
    }
    SECTION("after re-initialisation")
    {
        for (int32_t key = 0; key < 200; ++key)
            add_to(d.get(), model, key, value_of(key, static_cast<size_t>(key)));
        d.table.reset();
        netshm_table *t = nullptr;
        REQUIRE_NETSHM_OK(netshm_manage(d.descr.get(), NETSHM_RECORD_LOCKING, pagesize, 3, &t));
        d.table.reset(t);
        model.clear();
        require_sound(d.get(), model, pagesize, d.path);
        add_to(d.get(), model, 77, value_of(77, 100));
        require_sound(d.get(), model, pagesize, d.path);
    }
}

TEST_CASE("check: read-only tables, tables without locking and groups are checked too", "[check]")
{
    damaged_table d;
    d.add(1, value_of(1, 50));
    model_t model{{1, {value_of(1, 50)}}};
    SECTION("read-only")
    {
        netshm_test::descr_ptr ro = netshm_test::open_ok(NETSHM_TYPE_POSIX, d.name, O_RDONLY);
        netshm_table *t = nullptr;
        REQUIRE_NETSHM_OK(netshm_manage(ro.get(), NETSHM_RECORD_LOCKING, 0, -1, &t));
        corruption::table_ptr table(t);
        require_sound(t, model, 160, d.path);
    }
    SECTION("no locking")
    {
        netshm_table *t = nullptr;
        REQUIRE_NETSHM_OK(netshm_manage(d.descr.get(), NETSHM_NO_LOCKING, 0, -1, &t));
        corruption::table_ptr table(t);
        require_sound(t, model, 160, d.path);
    }
    SECTION("inside a group")
    {
        REQUIRE_NETSHM_OK(netshm_group_begin(d.get()));
        require_sound(d.get(), model, 160, d.path);
        REQUIRE_NETSHM_OK(netshm_group_end(d.get()));
    }
}

// ============================================================ the C API

TEST_CASE("check: the callback may call the library, and a negative answer stops the report", "[check]")
{
    damaged_table d;
    d.add(1, {1});
    d.add(2, {2});
    d.set_word(1, d_bindings, 7);
    d.set_word(1, d_free_count, 9);
    REQUIRE(check_table(d.get()).size() == 2);

    struct state {
        netshm_table *table;
        int calls = 0;
        int nested = 0;
        int added = 0;
    } st{d.get()};
    auto calls_the_library = [](const netshm_problem *, void *ctx) -> int {
        auto &s = *static_cast<state *>(ctx);
        ++s.calls;
        // No lock is held: modifying is allowed, and so is checking again.
        s.added = netshm_add(s.table, 100 + s.calls, nullptr, 0);
        s.nested = netshm_check(s.table, nullptr, nullptr);
        return 0;
    };
    CHECK(netshm_check(d.get(), calls_the_library, &st) == 2);
    CHECK(st.calls == 2);
    CHECK(st.added == NETSHM_OK);
    CHECK(st.nested == 2);

    int calls = 0;
    auto stops = [](const netshm_problem *, void *ctx) -> int { return ++*static_cast<int *>(ctx), -1234; };
    CHECK(netshm_check(d.get(), stops, &calls) == -1234);
    CHECK(calls == 1);
    CHECK(netshm_check(d.get(), nullptr, nullptr) == 2);
    CHECK_NETSHM_ERR(NETSHM_EINVAL,
                     netshm_check(d.get(), [](const netshm_problem *, void *) -> int { return 1; }, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_check(nullptr, nullptr, nullptr));
}

TEST_CASE("check: check and stat may run from another operation's callback", "[check]")
{
    damaged_table d;
    d.add(1, {1});
    struct results {
        netshm_table *table;
        int check = -1, stat = -1;
    } r{d.get()};
    REQUIRE_NETSHM_OK(netshm_iter(
        d.get(),
        [](int32_t, const int32_t *, size_t, void *ctx) -> int {
            auto &res = *static_cast<results *>(ctx);
            netshm_stats s{};
            s.struct_size = sizeof s;
            res.check = netshm_check(res.table, nullptr, nullptr);
            res.stat = netshm_stat(res.table, &s);
            return 0;
        },
        &r));
    CHECK(r.check == 0);
    CHECK(r.stat == NETSHM_OK);
}

TEST_CASE("check: a closed descriptor and a handle inherited across fork are refused", "[check]")
{
    damaged_table d;
    netshm_stats s{};
    s.struct_size = sizeof s;
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0)
        ::_exit(netshm_check(d.get(), nullptr, nullptr) == NETSHM_EFORKED && netshm_stat(d.get(), &s) == NETSHM_EFORKED
                    ? 0
                    : 1);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));

    REQUIRE_NETSHM_OK(netshm_close(d.descr.release()));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_check(d.get(), nullptr, nullptr));
    CHECK_NETSHM_ERR(NETSHM_ECLOSED, netshm_stat(d.get(), &s));
}

TEST_CASE("check: problems come in page order, the object as a whole first", "[check]")
{
    damaged_table d;
    for (int32_t key = 0; key < 6; ++key)
        d.add(key, value_of(key, 60));
    const table_image img = d.image();
    d.set_word(img.bindings[4].pages[1], 3, 9);  // a follow-up sequence number
    d.set_word(img.bindings[1].pages[0], 1, 99);  // a first page's key
    d.set_word(1, d_bindings, 1);
    const std::vector<reported> problems = check_table(d.get());
    INFO(listing(problems));
    REQUIRE(problems.size() == 3);
    CHECK(std::is_sorted(problems.begin(), problems.end(),
                         [](const reported &a, const reported &b) { return a.page < b.page; }));
}

TEST_CASE("stat: struct_size decides how much is filled", "[check][stat]")
{
    damaged_table d;
    d.add(1, value_of(1, 3));
    const netshm_stats full = stats_of(d.get());
    CHECK(full.bindings == 1);

    netshm_stats s;
    std::memset(&s, 0xAB, sizeof s);
    s.struct_size = 8;
    REQUIRE_NETSHM_OK(netshm_stat(d.get(), &s));
    CHECK(s.struct_size == 8);
    CHECK(s.pagesize == 160);
    CHECK(s.object_bytes == 0xABABABABABABABABull);

    std::memset(&s, 0xAB, sizeof s);
    s.struct_size = 8 + 8 + 4;  // a whole field and half of one
    REQUIRE_NETSHM_OK(netshm_stat(d.get(), &s));
    CHECK(s.struct_size == 16);
    CHECK(s.object_bytes == full.object_bytes);
    CHECK(s.total_pages == 0xABABABABABABABABull);

    std::memset(&s, 0xAB, sizeof s);
    s.struct_size = sizeof s + 100;  // a caller built against a later, larger struct
    REQUIRE_NETSHM_OK(netshm_stat(d.get(), &s));
    CHECK(s.struct_size == sizeof s);
    CHECK(s.longest_probe == full.longest_probe);

    s.struct_size = 7;
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_stat(d.get(), &s));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_stat(d.get(), nullptr));
    s.struct_size = sizeof s;
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_stat(nullptr, &s));
}

TEST_CASE("stat: a damaged table is NETSHM_ECORRUPT with the first problem's message", "[check][stat]")
{
    damaged_table d;
    d.add(1, value_of(1, 3));
    d.set_word(1, d_bindings, 5);
    const std::vector<reported> problems = check_table(d.get());
    REQUIRE(problems.size() == 1);
    netshm_stats s{};
    s.struct_size = sizeof s;
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_stat(d.get(), &s));
    CHECK(std::string(netshm_last_error()) == d.name + ": " + problems[0].message);
}

// ============================================================ damage

namespace {

// A table of 160-byte pages (40 words: a first page holds 34 words of value, a
// follow-up page 36; 9 cells per hash page), grown to two hash extents, with
// key 7 bound to a value of three pages, key 3 bound three times, free pages,
// and a key `collided` that probing finds only after key 5's cell.
struct sample_table : damaged_table {
    sample_table()
    {
        for (int32_t key = 1; key <= 20; ++key)
            add(key, value_of(key, key == 7 ? 100 : static_cast<size_t>(key) * 4));
        add(3, value_of(30, 10));
        add(3, value_of(31, 80));
        for (int32_t key : {10, 11, 12})
            REQUIRE_NETSHM_OK(netshm_remove(get(), key));
        hash_size = get_word(1, d_hash_size);
        collided = 5 + hash_size;
        add(collided, {1, 2});
        REQUIRE(get_word(1, d_hash_size) == hash_size);
        img = image();
        base = words();
        total = get_word(1, d_total_pages);
        REQUIRE(words_view(get()).extents().size() == 2);
        REQUIRE(img.free_list.size() >= 3);
        const std::vector<reported> problems = check_table(get());
        INFO(listing(problems));
        REQUIRE(problems.empty());
    }
    int32_t page_of(size_t word) const { return static_cast<int32_t>(word / wpp()); }
    // Writes through the mapping as it was while the table was sound: once it
    // is damaged, netshm_memory refuses it (netshm_check maps the object itself).
    void set(int32_t page, size_t word, int32_t value) { set_at(static_cast<size_t>(page) * wpp() + word, value); }
    void set_at(size_t word, int32_t value) { base[word] = value; }
    int32_t sound_word(int32_t page, size_t word) const { return img.words.at(static_cast<size_t>(page) * wpp() + word); }

    int32_t *base = nullptr;
    table_image img;
    int32_t hash_size = 0;
    int32_t collided = 0;
    int32_t total = 0;
};

// One word of a sample table, overwritten, and the one problem it makes.
struct word_damage {
    std::string what;
    int32_t page;
    size_t word;
    int32_t value;
    netshm_problem_kind kind;
    int32_t problem_page;
    std::string message;  // empty: any message naming problem_page
};

std::vector<word_damage> single_word_damages(sample_table &t)
{
    const int32_t d = 1;
    const std::vector<int32_t> seven = t.pages_of_newest(7);
    REQUIRE(seven.size() == 3);
    const std::vector<int32_t> threes = t.chain_of(3);
    REQUIRE(threes.size() == 3);
    const std::vector<int32_t> &free_list = t.img.free_list;
    const size_t cell4 = t.cell_of(4);
    int32_t in_use = 0;
    for (size_t cell : t.img.cells)
        in_use += t.img.words[cell + 1] != 0 ? 1 : 0;
    const std::string sequence_message =
        "page " + std::to_string(seven[2]) + ": follow-up page has sequence number 3, expected 2";
    const std::string length_message =
        "page " + std::to_string(seven[0]) + ": value length 136 needs 4 pages, but its chain has 3";
    const std::string claimed_message = "page 1: claimed cell count " + std::to_string(in_use - 1) + ", but " +
                                        std::to_string(in_use) + " cells are in use";
    return {
        {"master magic", 0, 1, 0x1234, NETSHM_PROBLEM_MASTER, 0, ""},
        {"master descriptor pointer", 0, 4, 5, NETSHM_PROBLEM_MASTER, 0, ""},
        {"descriptor magic (nothing more can be walked)", d, 0, 0, NETSHM_PROBLEM_DESCRIPTOR, d, ""},
        {"claimed count beyond the hash table", d, d_claimed, t.hash_size + 1, NETSHM_PROBLEM_DESCRIPTOR, d, ""},
        {"nonzero spare word", t.page_of(cell4), cell4 % t.wpp() + 3, 9, NETSHM_PROBLEM_HASH_CELL, t.page_of(cell4),
         ""},
        {"first content page magic", seven[0], 0, 0x1234567, NETSHM_PROBLEM_CONTENT_PAGE, seven[0], ""},
        {"first content page key", seven[0], 1, 8, NETSHM_PROBLEM_CONTENT_PAGE, seven[0], ""},
        {"value offset", seven[0], 4, 1, NETSHM_PROBLEM_CONTENT_PAGE, seven[0], ""},
        {"value length longer than the chain", seven[0], 5, 136, NETSHM_PROBLEM_CONTENT_PAGE, seven[0],
         length_message},
        {"negative value length", seven[0], 5, -3, NETSHM_PROBLEM_CONTENT_PAGE, seven[0], ""},
        {"follow-up page magic", seven[1], 0, 0x1234, NETSHM_PROBLEM_FOLLOW_UP, seven[1], ""},
        {"follow-up page key", seven[2], 1, 8, NETSHM_PROBLEM_FOLLOW_UP, seven[2], ""},
        {"follow-up sequence number", seven[2], 3, 3, NETSHM_PROBLEM_FOLLOW_UP, seven[2], sequence_message},
        {"follow-up chain that loops", seven[2], 2, seven[1], NETSHM_PROBLEM_FOLLOW_UP, seven[2], ""},
        {"older-binding chain that loops", threes[2], 3, threes[0], NETSHM_PROBLEM_BINDING_CHAIN, threes[2], ""},
        {"free list that loops", free_list.back(), 1, free_list.front(), NETSHM_PROBLEM_FREE_LIST, free_list.back(),
         ""},
        {"free page magic", free_list[1], 0, 7, NETSHM_PROBLEM_FREE_LIST, free_list[1], ""},
        {"free list entering a page in use", free_list.back(), 1, seven[0], NETSHM_PROBLEM_FREE_LIST,
         free_list.back(), ""},
        {"free page count", d, d_free_count, t.sound_word(d, d_free_count) + 1, NETSHM_PROBLEM_COUNT, d, ""},
        {"binding count", d, d_bindings, t.sound_word(d, d_bindings) - 1, NETSHM_PROBLEM_COUNT, d, ""},
        {"claimed count smaller than the cells in use", d, d_claimed, in_use - 1, NETSHM_PROBLEM_COUNT, d,
         claimed_message},
    };
}

} // namespace

TEST_CASE("check: one damaged word is one problem, of its kind, at its page", "[check][damage]")
{
    const size_t count = [] {
        sample_table t;
        return single_word_damages(t).size();
    }();
    for (size_t i = 0; i < count; ++i) {
        sample_table t;
        const word_damage damage = single_word_damages(t)[i];
        INFO("damage: " << damage.what);
        t.set(damage.page, damage.word, damage.value);
        const std::vector<reported> problems = check_table(t.get());
        CHECK_FINDS_ONLY(problems, damage.kind, damage.problem_page);
        if (!damage.message.empty() && !problems.empty())
            CHECK(problems[0].message == damage.message);
    }
}

TEST_CASE("check: damage that leads to several problems is found, at its page", "[check][damage]")
{
    sample_table t;
    const int32_t d = 1;
    const std::vector<int32_t> seven = t.pages_of_newest(7);
    const std::vector<int32_t> threes = t.chain_of(3);
    const std::vector<int32_t> &free_list = t.img.free_list;
    const int32_t hash_page = t.img.hash_pages.back();
    const size_t cell4 = t.cell_of(4);
    const int32_t cell4_page = t.page_of(cell4);

    SECTION("object smaller than its page count: the rest is not read")
    {
        REQUIRE(::truncate(t.path.c_str(), static_cast<off_t>(t.total - 1) * 160) == 0);
        CHECK_FINDS_ONLY(check_table(t.get()), NETSHM_PROBLEM_OBJECT_SIZE, -1);
        netshm_test::descr_ptr again = netshm_test::open_ok(NETSHM_TYPE_POSIX, t.name, O_RDWR);
        netshm_table *other = nullptr;
        CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_manage(again.get(), NETSHM_RECORD_LOCKING, 0, -1, &other));
        CHECK(other == nullptr);
    }
    SECTION("hash extents overlapping")
    {
        t.set(d, d_extents + 4, t.sound_word(d, d_extents));
        t.set(d, d_extents + 5, 1);
        CHECK_FINDS_ONLY(check_table(t.get()), NETSHM_PROBLEM_EXTENT, d);
    }
    SECTION("hash cell: pointer to a hash page")
    {
        t.set_at(cell4 + 1, hash_page);
        CHECK_FINDS(check_table(t.get()), NETSHM_PROBLEM_HASH_CELL, cell4_page);
    }
    SECTION("hash cell: pointer to a free page")
    {
        t.set_at(cell4 + 1, free_list[1]);
        CHECK_FINDS(check_table(t.get()), NETSHM_PROBLEM_HASH_CELL, cell4_page);
    }
    SECTION("hash cell: pointer below -1")
    {
        t.set_at(cell4 + 1, -5);
        CHECK_FINDS(check_table(t.get()), NETSHM_PROBLEM_HASH_CELL, cell4_page);
    }
    SECTION("probing: a key bound in two cells")
    {
        const size_t cell = t.cell_of(t.collided);
        const int32_t binding = t.chain_of(t.collided).front();
        t.set_at(cell, 5);
        const std::vector<reported> problems = check_table(t.get());
        CHECK_FINDS(problems, NETSHM_PROBLEM_PROBE, t.page_of(cell));
        CHECK_FINDS(problems, NETSHM_PROBLEM_CONTENT_PAGE, binding);
    }
    SECTION("probing: a key not reachable from its hash")
    {
        size_t to = 0;
        for (size_t cell : t.img.cells)
            if (t.img.words[cell + 1] == 0)
                to = cell;
        REQUIRE(to > cell4);
        t.set_at(to, 4);
        t.set_at(to + 1, t.img.words[cell4 + 1]);
        t.set_at(cell4, 0);
        t.set_at(cell4 + 1, 0);
        CHECK_FINDS(check_table(t.get()), NETSHM_PROBLEM_PROBE, t.page_of(to));
    }
    SECTION("probing: no free cell left")
    {
        for (size_t cell : t.img.cells)
            if (t.img.words[cell + 1] == 0)
                t.set_at(cell + 1, -1);
        CHECK_FINDS(check_table(t.get()), NETSHM_PROBLEM_PROBE, t.img.hash_pages.front());
    }
    SECTION("follow-up page: next pointer to a hash page")
    {
        t.set(seven[1], 2, hash_page);
        const std::vector<reported> problems = check_table(t.get());
        CHECK_FINDS(problems, NETSHM_PROBLEM_FOLLOW_UP, seven[1]);
        CHECK_FINDS(problems, NETSHM_PROBLEM_PAGE_LOST, seven[2]);
    }
    SECTION("older bindings: pointer to a free page")
    {
        t.set(threes[0], 3, free_list[0]);
        CHECK_FINDS(check_table(t.get()), NETSHM_PROBLEM_BINDING_CHAIN, threes[0]);
    }
    SECTION("a page shared by two chains")
    {
        const int32_t six = t.chain_of(6).front();
        const int32_t four = t.chain_of(4).front();
        t.set_at(cell4 + 1, six);
        const std::vector<reported> problems = check_table(t.get());
        CHECK_FINDS(problems, NETSHM_PROBLEM_PAGE_SHARED, six);
        CHECK_FINDS(problems, NETSHM_PROBLEM_PAGE_LOST, four);
    }
    SECTION("free list: head on a hash page")
    {
        t.set(d, d_free_head, hash_page);
        CHECK_FINDS(check_table(t.get()), NETSHM_PROBLEM_FREE_LIST, d);
    }
    SECTION("a page nobody owns")
    {
        t.set(d, d_free_head, free_list[1]);
        t.set(d, d_free_count, t.sound_word(d, d_free_count) - 1);
        CHECK_FINDS_ONLY(check_table(t.get()), NETSHM_PROBLEM_PAGE_LOST, free_list[0]);
    }
    SECTION("nonzero bytes after the last page")
    {
        const off_t end = static_cast<off_t>(t.total) * 160;
        REQUIRE(::truncate(t.path.c_str(), end + 160) == 0);
        const int fd = ::open(t.path.c_str(), O_RDWR | O_CLOEXEC);
        REQUIRE(fd >= 0);
        const char byte = 0x5A;
        CHECK(::pwrite(fd, &byte, 1, end + 17) == 1);
        ::close(fd);
        CHECK_FINDS_ONLY(check_table(t.get()), NETSHM_PROBLEM_TAIL, t.total);
    }
}

TEST_CASE("check: probing is verified exactly, keys near both ends of int32 included", "[check][damage]")
{
    damaged_table t(160, 30);
    const int32_t size = t.get_word(1, d_hash_size);
    // Colliding keys, and keys whose probe sums wrap around int32 (after
    // INT32_MAX comes INT32_MIN, whose cell is not the next one).
    std::vector<int32_t> keys;
    for (int32_t i = 0; i < 8; ++i) {
        keys.push_back(3 + i * size);
        keys.push_back(INT32_MAX - 60 - i * size);
        keys.push_back(INT32_MIN + 5 + i * size);
    }
    for (int32_t key : keys)
        t.add(key, {key});
    for (size_t i = 0; i < keys.size(); i += 5)
        REQUIRE_NETSHM_OK(netshm_remove(t.get(), keys[i]));
    REQUIRE(t.get_word(1, d_hash_size) == size);
    const table_image img = t.image();
    int32_t *words = t.words();

    auto naive_unreachable = [&] {
        std::vector<size_t> unreachable;
        for (size_t n = 0; n < img.cells.size(); ++n) {
            const int32_t key = words[img.cells[n]], ptr = words[img.cells[n] + 1];
            if (ptr == 0 || ptr == -1)
                continue;
            size_t reached = img.cells.size();
            for (int64_t attempt = 0; attempt <= size + 10; ++attempt) {
                const int64_t offset = attempt <= 9 ? attempt * attempt : 72 + attempt;
                const auto sum = static_cast<int32_t>(static_cast<uint32_t>(key) + static_cast<uint32_t>(offset));
                const auto cell = static_cast<size_t>(((sum % size) + size) % size);
                if (words[img.cells[cell] + 1] == 0)
                    break;
                if (words[img.cells[cell]] == key) {
                    reached = cell;
                    break;
                }
            }
            if (reached != n)
                unreachable.push_back(n);
        }
        return unreachable;
    };
    auto reported_unreachable = [&] {
        std::vector<size_t> cells;
        for (const reported &p : check_table(t.get())) {
            INFO(p.message);
            REQUIRE(p.kind == NETSHM_PROBLEM_PROBE);
            const size_t at = p.message.find(" in cell ");
            REQUIRE(at != std::string::npos);
            cells.push_back(std::stoul(p.message.substr(at + 9)));
        }
        std::sort(cells.begin(), cells.end());
        return cells;
    };

    REQUIRE(naive_unreachable().empty());
    std::mt19937 rng(11);
    size_t seen_unreachable = 0;
    for (int round = 0; round < 300; ++round) {
        // Two cells trade places: every chain stays whole, only probing changes.
        const size_t a = img.cells[rng() % img.cells.size()], b = img.cells[rng() % img.cells.size()];
        std::swap(words[a], words[b]);
        std::swap(words[a + 1], words[b + 1]);
        const std::vector<size_t> expected = naive_unreachable();
        CAPTURE(round);
        CHECK(reported_unreachable() == expected);
        seen_unreachable += expected.size();
    }
    CHECK(seen_unreachable > 100);
}
