// Corruption, one constructed damage at a time, with the exact result of every
// operation: loops in binding chains, follow-up chains and the free list,
// hash cells pointing at the wrong pages, a hash table without a free cell,
// impossible counters, truncated, zeroed and oversized files.
#include "damaged_table.hpp"
#include "netshm_test_helpers.hpp"
#include "table_image.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <random>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using corruption::damaged_table;
using corruption::table_image;
using corruption::value_of;
using corruption::value_t;
using netshm_test::descr_ptr;
using netshm_test::open_ok;
using netshm_test::scratch_names;

// The result of an operation, and for ECORRUPT whether its message names a page.
struct outcome {
    int rc;
    std::string message;
    bool names_page() const { return message.find("page") != std::string::npos; }
};

outcome run(int rc) { return {rc, rc == NETSHM_OK ? std::string() : std::string(netshm_last_error())}; }

int count_calls_find_all(netshm_table *t, int32_t key, int &calls)
{
    return netshm_find_all(
        t, key, [](const int32_t *, size_t, void *ctx) -> int { return ++*static_cast<int *>(ctx), 0; }, &calls);
}
int count_calls_blocks(netshm_table *t, int32_t key, int &calls)
{
    return netshm_find_blocks(
        t, key, [](const int32_t *, size_t, void *ctx) -> int { return ++*static_cast<int *>(ctx), 0; }, &calls);
}
int count_calls_write_blocks(netshm_table *t, int32_t key, int &calls)
{
    return netshm_write_blocks(
        t, 0, key, [](int32_t *, size_t, void *ctx) -> int { return ++*static_cast<int *>(ctx), 0; }, &calls);
}
int count_calls_iter(netshm_table *t, int &calls)
{
    return netshm_iter(
        t, [](int32_t, const int32_t *, size_t, void *ctx) -> int { return ++*static_cast<int *>(ctx), 0; }, &calls);
}
int count_calls_iter_keys(netshm_table *t, int &calls)
{
    return netshm_iter_keys(t, [](int32_t, void *ctx) -> int { return ++*static_cast<int *>(ctx), 0; }, &calls);
}

#define CHECK_CORRUPT_NAMING_PAGE(expr)                                                                      \
    do {                                                                                                     \
        const outcome corrupt_outcome = run(expr);                                                           \
        INFO(#expr " gave " << corrupt_outcome.rc << ": " << corrupt_outcome.message);                       \
        CHECK(corrupt_outcome.rc == NETSHM_ECORRUPT);                                                         \
        CHECK(corrupt_outcome.names_page());                                                                  \
    } while (false)

size_t length_of(netshm_table *t)
{
    size_t n = 0;
    REQUIRE_NETSHM_OK(netshm_length(t, &n));
    return n;
}

value_t find_value(netshm_table *t, int32_t key)
{
    int32_t *value = nullptr;
    size_t len = 0;
    REQUIRE_NETSHM_OK(netshm_find(t, key, &value, &len));
    value_t copy(value, value + len);
    netshm_free(value);
    return copy;
}

void write_file(const std::string &path, const std::string &bytes)
{
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(fd);
}

std::string read_file(const std::string &path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    std::string bytes(static_cast<size_t>(st.st_size), '\0');
    REQUIRE(::pread(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    ::close(fd);
    return bytes;
}

} // namespace

TEST_CASE("corruption: a binding chain that loops", "[corruption]")
{
    damaged_table d;
    d.add(5, {1});
    d.add(5, {2});
    d.add(6, {3});
    const std::vector<int32_t> chain = d.chain_of(5);
    REQUIRE(chain.size() == 2);
    d.set_word(chain[0], 3, chain[0]);  // the newest binding's older binding: itself
    netshm_table *t = d.get();

    // What only needs the newest binding still works.
    CHECK(find_value(t, 5) == value_t{2});
    CHECK_NETSHM_ERR(1, netshm_mem(t, 5));
    CHECK(length_of(t) == 3);
    // What follows the chain stops at its bound.
    int calls = 0;
    CHECK_CORRUPT_NAMING_PAGE(count_calls_find_all(t, 5, calls));
    CHECK(calls >= 1);
    CHECK_CORRUPT_NAMING_PAGE(count_calls_blocks(t, 5, calls));
    CHECK_CORRUPT_NAMING_PAGE(count_calls_write_blocks(t, 5, calls));
    CHECK_CORRUPT_NAMING_PAGE(count_calls_iter(t, calls));
    CHECK_CORRUPT_NAMING_PAGE(netshm_dump(t, STDERR_FILENO));
    // iter_keys reads no binding.
    calls = 0;
    CHECK_NETSHM_ERR(NETSHM_OK, count_calls_iter_keys(t, calls));
    CHECK(calls == 2);
    // Other keys are untouched.
    CHECK(find_value(t, 6) == value_t{3});
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(t, 7, nullptr, 0));
    // Removing the newest binding makes the hash cell point at it again,
    // now a free page: from then on key 5 is corrupt.
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_remove(t, 5));
    CHECK_CORRUPT_NAMING_PAGE(netshm_mem(t, 5));
    int32_t buf[4];
    size_t len = 0;
    CHECK_CORRUPT_NAMING_PAGE(netshm_find_into(t, 5, buf, 4, &len));
}

TEST_CASE("corruption: a binding chain into another key's bindings", "[corruption]")
{
    damaged_table d;
    d.add(5, {1});
    d.add(5, {2});
    d.add(6, {3});
    d.set_word(d.chain_of(5)[0], 3, d.chain_of(6)[0]);
    netshm_table *t = d.get();
    int calls = 0;
    CHECK_CORRUPT_NAMING_PAGE(count_calls_find_all(t, 5, calls));
    CHECK(calls == 1);
    calls = 0;
    CHECK_CORRUPT_NAMING_PAGE(count_calls_iter(t, calls));
    CHECK(find_value(t, 6) == value_t{3});
}

TEST_CASE("corruption: a follow-up chain that loops or ends wrong", "[corruption]")
{
    // Page size 160: 100 words take a first page and two follow-up pages.
    damaged_table d;
    d.add(7, value_of(7, 100));
    d.add(8, {8});
    const std::vector<int32_t> pages = d.pages_of_newest(7);
    REQUIRE(pages.size() == 3);
    const int damage = GENERATE(0, 1, 2, 3, 4, 5, 6);
    CAPTURE(damage);
    switch (damage) {
    case 0: d.set_word(pages[2], 2, pages[1]); break;  // the last page continues into the middle one
    case 1: d.set_word(pages[1], 2, pages[1]); break;  // a follow-up page continues into itself
    case 2: d.set_word(pages[0], 2, pages[0]); break;  // the first page continues into itself
    case 3: d.set_word(pages[1], 2, 0); break;         // the chain ends early
    case 4: d.set_word(pages[2], 3, 7); break;         // a wrong sequence number
    case 5: d.set_word(pages[0], 5, 70); break;        // a length two pages hold
    default: d.set_word(pages[0], 5, 107); break;      // a length three pages cannot hold
    }
    netshm_table *t = d.get();
    const int32_t free_count = d.get_word(1, 6);
    int32_t *value = nullptr;
    size_t len = 0;
    int32_t buf[200];
    int calls = 0;
    CHECK_CORRUPT_NAMING_PAGE(netshm_find(t, 7, &value, &len));
    CHECK(value == nullptr);
    CHECK_CORRUPT_NAMING_PAGE(netshm_find_into(t, 7, buf, 200, &len));
    CHECK_CORRUPT_NAMING_PAGE(netshm_mem(t, 7));
    CHECK_CORRUPT_NAMING_PAGE(count_calls_find_all(t, 7, calls));
    CHECK_CORRUPT_NAMING_PAGE(count_calls_blocks(t, 7, calls));
    CHECK_CORRUPT_NAMING_PAGE(count_calls_write_blocks(t, 7, calls));
    // The whole chain is checked before the first fragment is handed out.
    CHECK(calls == 0);
    const value_t v{1};
    CHECK_CORRUPT_NAMING_PAGE(netshm_replace(t, 7, v.data(), v.size()));
    CHECK_CORRUPT_NAMING_PAGE(netshm_remove(t, 7));
    // Nothing was freed or changed by the refused writes.
    CHECK(d.get_word(1, 6) == free_count);
    CHECK(length_of(t) == 2);
    CHECK(find_value(t, 8) == value_t{8});
}

TEST_CASE("corruption: a free list that loops", "[corruption]")
{
    damaged_table d;
    for (int32_t k = 0; k < 6; ++k)
        d.add(k, value_of(k, 50));
    for (int32_t k = 0; k < 6; k += 2)
        REQUIRE_NETSHM_OK(netshm_remove(d.get(), k));
    const table_image img = d.image();
    const std::vector<int32_t> &list = img.free_list;
    REQUIRE(list.size() >= 4);
    const int32_t real = static_cast<int32_t>(list.size());
    const bool self_loop = GENERATE(false, true);
    CAPTURE(self_loop);
    if (self_loop)
        d.set_word(list[1], 1, list[1]);
    else
        d.set_word(list.back(), 1, list.front());
    // The count asks for more pages than the loop holds.
    d.set_word(1, 6, real + 3);
    netshm_table *t = d.get();
    // A value needing every counted page: no growth, the walk meets the loop.
    const value_t big = value_of(9, 34 + 36 * static_cast<size_t>(real + 2));
    CHECK_CORRUPT_NAMING_PAGE(netshm_add(t, 9, big.data(), big.size()));
    CHECK_CORRUPT_NAMING_PAGE(netshm_replace(t, 1, big.data(), big.size()));
    // Nothing was taken from the list.
    CHECK(d.get_word(1, 5) == list.front());
    CHECK(d.get_word(1, 6) == real + 3);
    CHECK(length_of(t) == 3);
    CHECK(find_value(t, 1) == value_of(1, 50));
    CHECK_NETSHM_ERR(0, netshm_mem(t, 9));
}

TEST_CASE("corruption: a free list entering a page in use", "[corruption]")
{
    damaged_table d;
    d.add(1, value_of(1, 20));
    d.add(2, value_of(2, 20));
    REQUIRE_NETSHM_OK(netshm_remove(d.get(), 2));
    d.set_word(1, 5, d.chain_of(1)[0]);  // the free list's head: key 1's binding
    netshm_table *t = d.get();
    const value_t v{5};
    CHECK_CORRUPT_NAMING_PAGE(netshm_add(t, 3, v.data(), v.size()));
    CHECK(find_value(t, 1) == value_of(1, 20));
}

TEST_CASE("corruption: a hash cell pointing at the wrong page", "[corruption]")
{
    damaged_table d;
    d.add(9, value_of(9, 100));
    d.add(10, {10});
    REQUIRE_NETSHM_OK(netshm_remove(d.get(), 10));
    const table_image img = d.image();
    const std::vector<int32_t> pages = d.pages_of_newest(9);
    REQUIRE(!img.free_list.empty());
    const int32_t total = d.get_word(1, 1);
    const int32_t target = GENERATE_COPY(1, img.hash_pages.front(), pages[1], img.free_list.front(), total,
                                         total + 100, INT32_MAX, -2, INT32_MIN);
    CAPTURE(target);
    // A follow-up or free page is a content page by its number: only
    // reading it shows the damage.
    const bool content_page = target == pages[1] || target == img.free_list.front();
    const size_t cell = d.cell_of(9);
    d.words()[cell + 1] = target;
    netshm_table *t = d.get();
    int32_t *value = nullptr;
    size_t len = 0;
    int calls = 0;
    CHECK_CORRUPT_NAMING_PAGE(netshm_find(t, 9, &value, &len));
    CHECK_CORRUPT_NAMING_PAGE(netshm_mem(t, 9));
    CHECK_CORRUPT_NAMING_PAGE(count_calls_find_all(t, 9, calls));
    CHECK_CORRUPT_NAMING_PAGE(count_calls_iter(t, calls));
    CHECK_CORRUPT_NAMING_PAGE(netshm_remove(t, 9));
    CHECK(calls == 0);
    CHECK(length_of(t) == 1);
    // add does not read the older binding it hides: it refuses only a
    // pointer that cannot be a content page.
    const value_t v{1};
    if (content_page) {
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(t, 9, v.data(), v.size()));
    } else {
        CHECK_CORRUPT_NAMING_PAGE(netshm_add(t, 9, v.data(), v.size()));
    }
}

TEST_CASE("corruption: a hash table without a free cell", "[corruption]")
{
    // Page size 160, init 0: one hash page of 9 cells.  Key 0 in its cell,
    // every other cell claimed by keys nobody asks for.
    damaged_table d(160, 0);
    d.add(0, {1});
    const table_image img = d.image();
    REQUIRE(img.cells.size() == 9);
    int32_t key = 1000;
    for (size_t cell : img.cells)
        if (d.words()[cell + 1] == 0) {
            d.words()[cell] = key++;
            d.words()[cell + 1] = -1;
        }
    netshm_table *t = d.get();
    CHECK(find_value(t, 0) == value_t{1});
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_mem(t, 50));
    int32_t *value = nullptr;
    size_t len = 0;
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_find(t, 50, &value, &len));
    const value_t v{1};
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_add(t, 50, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_remove(t, 50));
    CHECK(length_of(t) == 1);
}

TEST_CASE("corruption: probing without a free cell names the hash table's pages", "[corruption]")
{
    damaged_table d(160, 0);
    const table_image img = d.image();
    int32_t key = 1000;
    for (size_t cell : img.cells) {
        d.words()[cell] = key++;
        d.words()[cell + 1] = -1;
    }
    CHECK_CORRUPT_NAMING_PAGE(netshm_mem(d.get(), 50));
}

// A binding count no table can have (more bindings than pages) is corruption,
// not a size limit.
TEST_CASE("corruption: a binding count larger than the table is corrupt", "[corruption]")
{
    damaged_table d;
    d.add(1, {1});
    d.set_word(1, 4, INT32_MAX);
    const value_t v{2};
    CHECK_CORRUPT_NAMING_PAGE(netshm_add(d.get(), 2, v.data(), v.size()));
    size_t n = 0;
    CHECK_CORRUPT_NAMING_PAGE(netshm_length(d.get(), &n));
}

namespace {

// Key 1 bound, and the pages of key 2's binding on the free list: every
// descriptor word in use.
void bind_one_free_some(damaged_table &d)
{
    d.add(1, {1});
    d.add(2, value_of(2, 80));
    REQUIRE_NETSHM_OK(netshm_remove(d.get(), 2));
}

} // namespace

TEST_CASE("corruption: impossible descriptor words are refused by manage", "[corruption]")
{
    const int word = GENERATE(0, 1, 2, 3, 5, 6, 8, 9, 10, 11, 39);
    const int32_t value = GENERATE(-1, INT32_MIN, INT32_MAX, 1000000);
    CAPTURE(word, value);
    damaged_table d;
    bind_one_free_some(d);
    d.table.reset();
    std::string bytes = read_file(d.path);
    const size_t offset = 160 + static_cast<size_t>(word) * 4;
    std::memcpy(bytes.data() + offset, &value, 4);
    write_file(d.path, bytes);
    netshm_table *t = nullptr;
    for (unsigned pagesize : {0u, 160u}) {
        const outcome o = run(netshm_manage(d.descr.get(), NETSHM_RECORD_LOCKING, pagesize, -1, &t));
        INFO("manage gave " << o.rc << ": " << o.message);
        CHECK(o.rc == NETSHM_ECORRUPT);
        CHECK(o.names_page());
        CHECK(t == nullptr);
    }
    // Nothing was written.
    CHECK(read_file(d.path) == bytes);
}

// A table in use remembers the descriptor words it validated: a word damaged
// afterwards must be noticed by the next operation, and mended, forgotten.
TEST_CASE("corruption: descriptor words damaged while the table is in use", "[corruption]")
{
    const int word = GENERATE(0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 39);
    const int32_t value = GENERATE(-1, INT32_MIN, INT32_MAX, 1000000);
    CAPTURE(word, value);
    damaged_table d;
    bind_one_free_some(d);
    int32_t buf[4];
    size_t len = 0;
    REQUIRE_NETSHM_OK(netshm_find_into(d.get(), 1, buf, 4, &len));
    // Through a pointer taken now: netshm_memory fails on a corrupt table.
    int32_t &damaged = d.words()[d.wpp() + static_cast<size_t>(word)];
    const int32_t sound = damaged;
    damaged = value;
    CHECK_CORRUPT_NAMING_PAGE(netshm_find_into(d.get(), 1, buf, 4, &len));
    CHECK_CORRUPT_NAMING_PAGE(netshm_find_into(d.get(), 1, buf, 4, &len));
    damaged = sound;
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_into(d.get(), 1, buf, 4, &len));
}

TEST_CASE("corruption: truncated, zeroed and random files", "[corruption]")
{
    damaged_table d(256, 5);
    for (int32_t k = 0; k < 10; ++k)
        d.add(k, value_of(k, 100));
    d.table.reset();
    const std::string sound = read_file(d.path);
    const size_t total_bytes = sound.size();
    REQUIRE(total_bytes % 256 == 0);

    std::string bytes;
    // What the message says; with the page size given, it may say more.
    std::string expected_text;
    std::string expected_with_pagesize;
    SECTION("a page short")
    {
        bytes = sound.substr(0, total_bytes - 256);
        expected_text = "page";
        expected_with_pagesize = "total page count";
    }
    SECTION("a byte short")
    {
        bytes = sound.substr(0, total_bytes - 1);
        expected_text = "page";
        expected_with_pagesize = "total page count";
    }
    SECTION("the master page and part of the descriptor page")
    {
        bytes = sound.substr(0, 300);
        expected_text = "page";
    }
    SECTION("the master page's magic alone")
    {
        bytes = sound.substr(0, 100);
        expected_text = "page";
    }
    SECTION("zeros")
    {
        bytes.assign(total_bytes, '\0');
        // Not a table, or a creation killed before its first store: told apart
        // from foreign bytes, and never written without init >= 0.
        expected_text = "bytes are zero";
    }
    SECTION("a few bytes")
    {
        bytes = sound.substr(0, 7);
        expected_text = "7 bytes";
    }
    SECTION("random bytes")
    {
        std::mt19937 rng(42);
        bytes.resize(total_bytes);
        for (char &c : bytes)
            c = static_cast<char>(rng());
        expected_text = "page 0: bad file magic";
    }
    write_file(d.path, bytes);
    for (int access : {O_RDONLY, O_RDWR})
        for (unsigned pagesize : {0u, 256u}) {
            CAPTURE(access, pagesize);
            descr_ptr descr = open_ok(NETSHM_TYPE_POSIX, d.name, access);
            netshm_table *t = nullptr;
            const outcome o = run(netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, pagesize, -1, &t));
            INFO("manage gave " << o.rc << ": " << o.message);
            CHECK(o.rc == NETSHM_ECORRUPT);
            CHECK(o.message.find(expected_text) != std::string::npos);
            if (pagesize != 0 && !expected_with_pagesize.empty())
                CHECK(o.message.find(expected_with_pagesize) != std::string::npos);
            CHECK(t == nullptr);
        }
    // Nothing was written.
    CHECK(read_file(d.path) == bytes);
}

TEST_CASE("corruption: bytes past the table are no part of it, and growth clears them", "[corruption]")
{
    damaged_table d(160, 1);
    for (int32_t k = 0; k < 4; ++k)
        d.add(k, value_of(k, 30));
    d.table.reset();
    const std::string sound = read_file(d.path);
    const bool garbage = GENERATE(false, true);
    const size_t extra = GENERATE(1u, 159u, 160u, 3 * 160u + 7);
    CAPTURE(garbage, extra);
    std::string bytes = sound;
    for (size_t i = 0; i < extra; ++i)
        bytes.push_back(garbage ? static_cast<char>(0xA5 + i) : '\0');
    write_file(d.path, bytes);

    netshm_table *raw = nullptr;
    REQUIRE_NETSHM_OK(netshm_manage(d.descr.get(), NETSHM_RECORD_LOCKING, 0, -1, &raw));
    d.table.reset(raw);
    netshm_table *t = d.get();
    CHECK(length_of(t) == 4);
    for (int32_t k = 0; k < 4; ++k)
        CHECK(find_value(t, k) == value_of(k, 30));
    // Growing takes the tail into the table: every page then holds only
    // what the table wrote.
    for (int32_t k = 4; k < 40; ++k)
        d.add(k, value_of(k, 30));
    const table_image img = d.image();
    for (int32_t page : img.free_list)
        for (size_t w = 2; w < d.wpp(); ++w)
            if (img.words[img.at(page, w)] != 0)
                FAIL("free page " << page << " word " << w << " holds " << img.words[img.at(page, w)]);
    // The words of content pages past their value are zero too.
    for (const auto &binding : img.bindings) {
        const size_t length = static_cast<size_t>(img.words[img.at(binding.pages.front(), 5)]);
        const size_t first = d.wpp() - 6, follow = d.wpp() - 4;
        const size_t in_last = binding.pages.size() == 1 ? length : (length - first - 1) % follow + 1;
        const size_t start = (binding.pages.size() == 1 ? 6 : 4) + in_last;
        for (size_t w = start; w < d.wpp(); ++w)
            if (img.words[img.at(binding.pages.back(), w)] != 0)
                FAIL("content page " << binding.pages.back() << " word " << w << " holds "
                                      << img.words[img.at(binding.pages.back(), w)]);
    }
    for (int32_t k = 0; k < 40; ++k)
        CHECK(find_value(t, k) == value_of(k, 30));
    // What lies past the table is zero or the untouched tail.
    const std::string now = read_file(d.path);
    const size_t table_end = static_cast<size_t>(img.total_pages()) * 160;
    REQUIRE(now.size() >= table_end);
    for (size_t i = table_end; i < now.size(); ++i)
        if (now[i] != 0)
            FAIL("byte " << i << " past the table is " << int(now[i]));
}
