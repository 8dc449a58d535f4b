// The table functions of the C API (capi/include/netshm.h), one behaviour at a
// time with exact results: manage, every operation, callbacks, groups, dump,
// memory, growth to the 16-extent limit, remapping and a full file system.
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using netshm_test::descr_ptr;
using netshm_test::open_ok;
using netshm_test::scratch_names;
using value_t = std::vector<int32_t>;

// ------------------------------------------------------------------ format

constexpr uint32_t file_magic[4] = {0xDE871209u, 0xDE881209u, 0xDE871309u, 0xDE87120Au};
constexpr uint32_t descriptor_magic = 0x6712DE9Fu;
constexpr uint32_t content_magic = 0x12DE9F67u;
constexpr uint32_t free_magic = 0xF3EEF3EEu;

enum descriptor_word { d_total_pages = 1, d_hash_size = 2, d_claimed = 3, d_bindings = 4,
                       d_free_head = 5, d_free_count = 6, d_extents = 8 };
constexpr int max_extents = 16;

// The page geometry of a page size.
struct geometry {
    explicit geometry(unsigned bytes) : pagesize(bytes) {}
    unsigned pagesize;
    size_t words() const { return pagesize / 4; }
    size_t cells() const { return words() / 4 - 1; }
    size_t first_page_words() const { return words() - 6; }
    size_t follow_up_words() const { return words() - 4; }
    // Hash pages of a new table for an init hint (default 1000).
    int64_t initial_hash_pages(long long init) const
    {
        long long hint = init < 0 ? 1000 : init;
        return (2 * hint - 1) / static_cast<long long>(cells()) + 1;
    }
    // The fragments find_blocks presents for a value of `len` words.
    std::vector<size_t> fragments(size_t len) const
    {
        std::vector<size_t> lengths{std::min(len, first_page_words())};
        for (size_t done = lengths[0]; done < len; done += lengths.back())
            lengths.push_back(std::min(len - done, follow_up_words()));
        return lengths;
    }
    size_t pages_for(size_t len) const { return fragments(len).size(); }
};

// ------------------------------------------------------------------ handles

struct table_closer {
    void operator()(netshm_table *table) const noexcept { netshm_table_close(table); }
};
using table_ptr = std::unique_ptr<netshm_table, table_closer>;

table_ptr manage_ok(netshm_descr *descr, unsigned pagesize, long long init,
                    netshm_locking locking = NETSHM_RECORD_LOCKING)
{
    netshm_table *table = nullptr;
    REQUIRE_NETSHM_OK(netshm_manage(descr, locking, pagesize, init, &table));
    REQUIRE(table != nullptr);
    return table_ptr(table);
}

// A fresh object holding a new table.
struct scratch_table {
    explicit scratch_table(unsigned pagesize = 160, long long init = 10,
                           netshm_locking locking = NETSHM_RECORD_LOCKING,
                           netshm_type kind = NETSHM_TYPE_POSIX)
        : type(kind), name(names.fresh(kind)), geo(pagesize ? pagesize : 256)
    {
        descr = open_ok(kind, name, O_RDWR | O_CREAT | O_EXCL);
        table = manage_ok(descr.get(), pagesize, init, locking);
    }
    std::string path() const { return scratch_names::path_of(type, name); }
    netshm_table *get() const { return table.get(); }

    scratch_names names;
    netshm_type type;
    std::string name;
    geometry geo;
    descr_ptr descr;
    table_ptr table;
};

// ------------------------------------------------------------------ values

value_t make_value(int32_t seed, size_t len)
{
    value_t v(len);
    for (size_t i = 0; i < len; ++i)
        v[i] = static_cast<int32_t>(static_cast<uint32_t>(seed) * 2654435761u + static_cast<uint32_t>(i) * 40503u);
    return v;
}

void add_ok(netshm_table *t, int32_t key, const value_t &v)
{
    REQUIRE_NETSHM_OK(netshm_add(t, key, v.data(), v.size()));
}

value_t find_value(netshm_table *t, int32_t key)
{
    int32_t *value = nullptr;
    size_t len = 12345;
    REQUIRE_NETSHM_OK(netshm_find(t, key, &value, &len));
    REQUIRE(value != nullptr);
    value_t copy(value, value + len);
    netshm_free(value);
    return copy;
}

size_t length_of(netshm_table *t)
{
    size_t n = 0;
    REQUIRE_NETSHM_OK(netshm_length(t, &n));
    return n;
}

// Calls the C functions with a lambda as callback (its address as ctx).
template <class F>
int find_all_with(netshm_table *t, int32_t key, F &&f)
{
    using L = std::remove_reference_t<F>;
    return netshm_find_all(
        t, key, [](const int32_t *v, size_t n, void *ctx) -> int { return (*static_cast<L *>(ctx))(v, n); },
        static_cast<void *>(&f));
}

template <class F>
int iter_with(netshm_table *t, F &&f)
{
    using L = std::remove_reference_t<F>;
    return netshm_iter(
        t,
        [](int32_t k, const int32_t *v, size_t n, void *ctx) -> int { return (*static_cast<L *>(ctx))(k, v, n); },
        static_cast<void *>(&f));
}

template <class F>
int iter_keys_with(netshm_table *t, F &&f)
{
    using L = std::remove_reference_t<F>;
    return netshm_iter_keys(
        t, [](int32_t k, void *ctx) -> int { return (*static_cast<L *>(ctx))(k); }, static_cast<void *>(&f));
}

template <class F>
int find_blocks_with(netshm_table *t, int32_t key, F &&f)
{
    using L = std::remove_reference_t<F>;
    return netshm_find_blocks(
        t, key, [](const int32_t *frag, size_t n, void *ctx) -> int { return (*static_cast<L *>(ctx))(frag, n); },
        static_cast<void *>(&f));
}

template <class F>
int write_blocks_with(netshm_table *t, unsigned ops, int32_t key, F &&f)
{
    using L = std::remove_reference_t<F>;
    return netshm_write_blocks(
        t, ops, key, [](int32_t *frag, size_t n, void *ctx) -> int { return (*static_cast<L *>(ctx))(frag, n); },
        static_cast<void *>(&f));
}

template <class F>
int group_with(netshm_table *t, F &&f)
{
    using L = std::remove_reference_t<F>;
    return netshm_group(
        t, [](netshm_table *table, void *ctx) -> int { return (*static_cast<L *>(ctx))(table); },
        static_cast<void *>(&f));
}

std::vector<value_t> find_all_values(netshm_table *t, int32_t key)
{
    std::vector<value_t> all;
    REQUIRE_NETSHM_OK(find_all_with(t, key, [&](const int32_t *v, size_t n) -> int {
        all.emplace_back(v, v + n);
        return 0;
    }));
    return all;
}

// Every binding by key, each key's newest first.
std::map<int32_t, std::vector<value_t>> iter_all(netshm_table *t)
{
    std::map<int32_t, std::vector<value_t>> all;
    REQUIRE_NETSHM_OK(iter_with(t, [&](int32_t k, const int32_t *v, size_t n) -> int {
        all[k].emplace_back(v, v + n);
        return 0;
    }));
    return all;
}

std::multiset<int32_t> iter_keys_all(netshm_table *t)
{
    std::multiset<int32_t> keys;
    REQUIRE_NETSHM_OK(iter_keys_with(t, [&](int32_t k) -> int {
        keys.insert(k);
        return 0;
    }));
    return keys;
}

// The calls of a block callback, as "len" per fragment and "end" per end marker.
using block_trace = std::vector<std::string>;

// ------------------------------------------------------------------ memory

// The mapped pages of a table, as netshm_memory gives them.
struct table_memory {
    explicit table_memory(netshm_table *t)
    {
        REQUIRE_NETSHM_OK(netshm_memory(t, &base, &pages, &words_per_page));
        REQUIRE(base != nullptr);
    }
    int32_t word(size_t page, size_t w) const { return base[page * words_per_page + w]; }
    int32_t descriptor(size_t w) const { return word(static_cast<size_t>(base[4]), w); }
    // (first page, page count) of each used hash extent.
    std::vector<std::pair<int32_t, int32_t>> extents() const
    {
        std::vector<std::pair<int32_t, int32_t>> used;
        for (int i = 0; i < max_extents && descriptor(d_extents + 2 * i) != 0; ++i)
            used.emplace_back(descriptor(d_extents + 2 * i), descriptor(d_extents + 2 * i + 1));
        return used;
    }

    int32_t *base = nullptr;
    size_t pages = 0;
    size_t words_per_page = 0;
};

// ------------------------------------------------------------------ files

off_t file_size(const std::string &path)
{
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_size;
}

std::string file_bytes(const std::string &path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::string bytes(static_cast<size_t>(file_size(path)), '\0');
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        REQUIRE(n > 0);
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    return bytes;
}

std::string dump_text(netshm_table *t)
{
    int fd = ::memfd_create("netshm-dump", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE_NETSHM_OK(netshm_dump(t, fd));
    off_t size = ::lseek(fd, 0, SEEK_END);
    std::string text(static_cast<size_t>(size), '\0');
    REQUIRE(::pread(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    return text;
}

} // namespace

// =================================================================== manage

TEST_CASE("table: manage creates a table in an empty object", "[table][manage]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_POSIX, NETSHM_TYPE_FILE);
    const unsigned pagesize = GENERATE(160u, 256u, 1024u);
    const long long init = GENERATE(0LL, 1LL, 7LL, 1000LL, -1LL);
    CAPTURE(type, pagesize, init);
    scratch_names names;
    const std::string name = names.fresh(type);
    descr_ptr descr = open_ok(type, name, O_RDWR | O_CREAT | O_EXCL);
    table_ptr table = manage_ok(descr.get(), pagesize, init);

    const geometry geo(pagesize);
    const int64_t hash_pages = geo.initial_hash_pages(init);
    const int64_t total = 2 + hash_pages;
    CHECK(file_size(scratch_names::path_of(type, name)) == total * pagesize);

    table_memory mem(table.get());
    REQUIRE(mem.words_per_page == pagesize / 4);
    REQUIRE(mem.pages == static_cast<size_t>(total));
    for (int i = 0; i < 4; ++i)
        CHECK(static_cast<uint32_t>(mem.word(0, i)) == file_magic[i]);
    CHECK(mem.word(0, 4) == 1);
    CHECK(static_cast<uint32_t>(mem.word(1, 0)) == descriptor_magic);
    CHECK(mem.word(1, d_total_pages) == total);
    CHECK(mem.word(1, d_hash_size) == hash_pages * static_cast<int64_t>(geo.cells()));
    CHECK(mem.word(1, d_extents) == 2);
    CHECK(mem.word(1, d_extents + 1) == hash_pages);
    // Every other word of the table is zero: unused master and descriptor
    // words, counters, the free list, and the hash pages (headers included).
    size_t nonzero_elsewhere = 0;
    for (size_t page = 0; page < mem.pages; ++page)
        for (size_t w = 0; w < mem.words_per_page; ++w) {
            bool known = (page == 0 && w < 5) ||
                         (page == 1 && (w <= d_hash_size || w == d_extents || w == d_extents + 1));
            if (!known && mem.word(page, w) != 0)
                ++nonzero_elsewhere;
        }
    CHECK(nonzero_elsewhere == 0);
    CHECK(length_of(table.get()) == 0);
    CHECK(iter_all(table.get()).empty());
}

TEST_CASE("table: manage opens an existing table unchanged", "[table][manage]")
{
    const unsigned pagesize = GENERATE(160u, 164u, 256u, 1024u, 4096u);
    const unsigned requested = GENERATE_COPY(0u, pagesize);
    CAPTURE(pagesize, requested);
    scratch_table st(pagesize, 20);
    add_ok(st.get(), 1, make_value(1, 3));
    add_ok(st.get(), 1, make_value(2, 300));
    add_ok(st.get(), -5, {});
    const auto before = iter_all(st.get());
    st.table.reset();
    const std::string bytes = file_bytes(st.path());

    table_ptr reopened = manage_ok(st.descr.get(), requested, -1);
    CHECK(table_memory(reopened.get()).words_per_page == pagesize / 4);
    CHECK(iter_all(reopened.get()) == before);
    CHECK(length_of(reopened.get()) == 3);
    CHECK(file_bytes(st.path()) == bytes);
}

TEST_CASE("table: manage refuses a page size other than the table's", "[table][manage]")
{
    const unsigned real = GENERATE(160u, 256u, 1024u);
    const unsigned asked = GENERATE(160u, 256u, 1024u, 2048u);
    if (real == asked)
        return;
    CAPTURE(real, asked);
    scratch_table st(real, 10);
    add_ok(st.get(), 3, make_value(3, 40));
    st.table.reset();
    const std::string bytes = file_bytes(st.path());
    netshm_table *table = reinterpret_cast<netshm_table *>(&st);
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_manage(st.descr.get(), NETSHM_RECORD_LOCKING, asked, -1, &table));
    CHECK(table == nullptr);
    const std::string message = netshm_last_error();
    CAPTURE(message);
    CHECK(message.find("page size " + std::to_string(real)) != std::string::npos);
    CHECK(file_bytes(st.path()) == bytes);
}

// OCamlnet re-initialising a table with a larger page size leaves the old
// descriptor inside the new page 0: with two valid page sizes, detection must
// not guess.
TEST_CASE("table: manage refuses to guess between two valid page sizes", "[table][manage]")
{
    scratch_table old_table(160, 10);
    add_ok(old_table.get(), 1, {1, 2, 3});
    old_table.table.reset();
    scratch_table live(1024, 5);
    add_ok(live.get(), 7, {70});
    live.table.reset();
    // The old table's descriptor page (page 1 at 160 bytes) into the unused
    // words of the live table's page 0.
    const std::string old_bytes = file_bytes(old_table.path());
    {
        int fd = ::open(live.path().c_str(), O_RDWR);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, old_bytes.data() + 160, 160, 160) == 160);
        ::close(fd);
    }
    netshm_table *table = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_manage(live.descr.get(), NETSHM_RECORD_LOCKING, 0, -1, &table));
    const std::string message = netshm_last_error();
    CAPTURE(message);
    CHECK(message.find("page sizes 160 and 1024") != std::string::npos);
    table_ptr given = manage_ok(live.descr.get(), 1024, -1);
    CHECK(find_value(given.get(), 7) == value_t{70});
    CHECK(length_of(given.get()) == 1);
}

TEST_CASE("table: manage refuses invalid page sizes", "[table][manage]")
{
    const unsigned pagesize = GENERATE(1u, 4u, 100u, 156u, 157u, 159u, 161u, 162u, 163u, 258u, 1023u);
    const bool existing = GENERATE(false, true);
    CAPTURE(pagesize, existing);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_POSIX);
    descr_ptr descr = open_ok(NETSHM_TYPE_POSIX, name, O_RDWR | O_CREAT | O_EXCL);
    if (existing)
        manage_ok(descr.get(), 160, 3);
    const std::string bytes = file_bytes(scratch_names::path_of(NETSHM_TYPE_POSIX, name));
    for (long long init : {-1LL, 0LL, 10LL}) {
        netshm_table *table = reinterpret_cast<netshm_table *>(&names);
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_manage(descr.get(), NETSHM_NO_LOCKING, pagesize, init, &table));
        CHECK(table == nullptr);
        CHECK(std::string(netshm_last_error()).find(std::to_string(pagesize)) != std::string::npos);
    }
    // Nothing was written.
    CHECK(file_bytes(scratch_names::path_of(NETSHM_TYPE_POSIX, name)) == bytes);
}

TEST_CASE("table: manage refuses bad arguments and objects without a table", "[table][manage]")
{
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_POSIX);
    descr_ptr descr = open_ok(NETSHM_TYPE_POSIX, name, O_RDWR | O_CREAT | O_EXCL);
    netshm_table *table = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_manage(nullptr, NETSHM_NO_LOCKING, 0, -1, &table));
    CHECK(table == nullptr);
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_manage(descr.get(), NETSHM_NO_LOCKING, 0, -1, nullptr));
    // (An unknown locking method cannot be passed from C++ without undefined
    // behaviour: netshm_locking's range is 0..1 here.)
    CHECK(file_size(scratch_names::path_of(NETSHM_TYPE_POSIX, name)) == 0);

    SECTION("an object holding something else is corrupt")
    {
        const std::string text = GENERATE(as<std::string>{}, "x", "hello, world", std::string(4096, 'a'));
        CAPTURE(text);
        const std::string path = scratch_names::path_of(NETSHM_TYPE_POSIX, name);
        int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
        ::close(fd);
        for (unsigned pagesize : {0u, 160u, 256u}) {
            CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, pagesize, -1, &table));
            CHECK(table == nullptr);
        }
        CHECK(file_bytes(path) == text);
    }
}

TEST_CASE("table: init re-initialises, zeroes the pages past the new table and never shrinks", "[table][manage]")
{
    const unsigned pagesize = GENERATE(160u, 256u);
    const long long new_init = GENERATE(0LL, 5LL, 100LL);
    CAPTURE(pagesize, new_init);
    scratch_table st(pagesize, 1);
    for (int32_t k = 0; k < 300; ++k)
        add_ok(st.get(), k * 7 - 1000, make_value(k, static_cast<size_t>(k % 90)));
    for (int32_t k = 0; k < 300; k += 3)
        REQUIRE_NETSHM_OK(netshm_remove(st.get(), k * 7 - 1000));
    const off_t grown = file_size(st.path());
    st.table.reset();

    table_ptr table = manage_ok(st.descr.get(), pagesize, new_init);
    const geometry geo(pagesize);
    const int64_t total = 2 + geo.initial_hash_pages(new_init);
    REQUIRE(total * pagesize < grown);
    CHECK(file_size(st.path()) == grown);
    CHECK(length_of(table.get()) == 0);
    CHECK(iter_all(table.get()).empty());
    for (int32_t k = 0; k < 300; ++k)
        CHECK_NETSHM_ERR(0, netshm_mem(table.get(), k * 7 - 1000));

    table_memory mem(table.get());
    CHECK(mem.pages == static_cast<size_t>(total));
    CHECK(mem.descriptor(d_total_pages) == total);
    CHECK(mem.descriptor(d_hash_size) == geo.initial_hash_pages(new_init) * static_cast<int64_t>(geo.cells()));
    CHECK(mem.descriptor(d_claimed) == 0);
    CHECK(mem.descriptor(d_bindings) == 0);
    CHECK(mem.descriptor(d_free_head) == 0);
    CHECK(mem.descriptor(d_free_count) == 0);
    CHECK(mem.extents() == std::vector<std::pair<int32_t, int32_t>>{{2, static_cast<int32_t>(total - 2)}});

    const std::string bytes = file_bytes(st.path());
    const size_t table_end = static_cast<size_t>(total) * pagesize;
    CHECK(std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(table_end), bytes.end(),
                      [](char c) { return c == 0; }));
    // The hash pages are zero too: no stale cell survives.
    for (size_t page = 2; page < static_cast<size_t>(total); ++page)
        for (size_t w = 0; w < mem.words_per_page; ++w)
            if (mem.word(page, w) != 0)
                FAIL("hash page " << page << " word " << w << " is " << mem.word(page, w));

    // The new table works, and grows past its end over the zeroed pages.
    for (int32_t k = 0; k < 200; ++k)
        add_ok(table.get(), k, make_value(k + 1, 50));
    for (int32_t k = 0; k < 200; ++k)
        CHECK(find_value(table.get(), k) == make_value(k + 1, 50));
    CHECK(length_of(table.get()) == 200);
}

TEST_CASE("table: init larger than the object grows it", "[table][manage]")
{
    scratch_table st(256, 1);
    add_ok(st.get(), 1, {1});
    st.table.reset();
    table_ptr table = manage_ok(st.descr.get(), 0, 10000);
    const geometry geo(256);
    const int64_t total = 2 + geo.initial_hash_pages(10000);
    CHECK(file_size(st.path()) == total * 256);
    CHECK(table_memory(table.get()).pages == static_cast<size_t>(total));
    CHECK_NETSHM_ERR(0, netshm_mem(table.get(), 1));
}

TEST_CASE("table: a read-only descriptor gives a read-only table", "[table][manage]")
{
    const netshm_type type = GENERATE(NETSHM_TYPE_POSIX, NETSHM_TYPE_FILE);
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING);
    CAPTURE(type, locking);
    scratch_table st(160, 5, locking, type);
    add_ok(st.get(), 9, make_value(9, 100));
    add_ok(st.get(), 9, {});
    add_ok(st.get(), -9, {4, 5});
    const auto content = iter_all(st.get());
    st.table.reset();
    const std::string bytes = file_bytes(st.path());

    descr_ptr ro = open_ok(type, st.name, O_RDONLY);
    netshm_table *refused = nullptr;
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_manage(ro.get(), locking, 0, 0, &refused));
    CHECK(refused == nullptr);
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_manage(ro.get(), locking, 160, 100, &refused));
    table_ptr table = manage_ok(ro.get(), 0, -1, locking);
    netshm_table *t = table.get();

    // Reads work.
    CHECK(iter_all(t) == content);
    CHECK(iter_keys_all(t) == std::multiset<int32_t>{-9, 9});
    CHECK(length_of(t) == 3);
    CHECK_NETSHM_ERR(1, netshm_mem(t, 9));
    CHECK(find_value(t, -9) == value_t{4, 5});
    CHECK(find_all_values(t, 9) == std::vector<value_t>{{}, make_value(9, 100)});
    int32_t buf[2];
    size_t len = 0;
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find_into(t, -9, buf, 2, &len));
    CHECK(len == 2);
    size_t fragments = 0;
    CHECK_NETSHM_ERR(NETSHM_OK, find_blocks_with(t, 9, [&](const int32_t *, size_t) -> int {
        ++fragments;
        return NETSHM_CONTINUE;
    }));
    CHECK(fragments == 1 + 1 + 3 + 1);
    CHECK(dump_text(t).rfind("<shm length=3\n", 0) == 0);
    CHECK(table_memory(t).words_per_page == 40);

    // Every write is refused, and changes nothing.
    const value_t v{1};
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_add(t, 1, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_add(t, 9, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_replace(t, 9, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_replace(t, 1, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_remove(t, 9));
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_remove(t, 1));
    int calls = 0;
    for (unsigned ops : {0u, unsigned{NETSHM_OP_REMOVE_BINDING}})
        CHECK_NETSHM_ERR(NETSHM_EREADONLY, write_blocks_with(t, ops, 9, [&](int32_t *, size_t) -> int {
            ++calls;
            return NETSHM_CONTINUE;
        }));
    CHECK(calls == 0);
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_group_begin_write(t));
    CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_group_write(t, [](netshm_table *, void *) { return 0; }, nullptr));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_end(t));
    CHECK(iter_all(t) == content);
    table.reset();
    CHECK(file_bytes(st.path()) == bytes);

    SECTION("an empty object opened read-only cannot get a table")
    {
        scratch_names names;
        const std::string name = names.fresh(type);
        open_ok(type, name, O_RDWR | O_CREAT | O_EXCL);
        descr_ptr empty = open_ok(type, name, O_RDONLY);
        for (long long init : {-1LL, 0LL, 10LL}) {
            CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_manage(empty.get(), locking, 0, init, &refused));
            CHECK(refused == nullptr);
        }
        CHECK(file_size(scratch_names::path_of(type, name)) == 0);
    }
}

TEST_CASE("table: netshm_table_close", "[table][manage]")
{
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_table_close(nullptr));
    scratch_table st;
    add_ok(st.get(), 1, {2});
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_table_close(st.table.release()));
    // The descriptor stays open and usable.
    table_ptr again = manage_ok(st.descr.get(), 0, -1);
    CHECK(find_value(again.get(), 1) == value_t{2});
}

// Documented in netshm.h: "NETSHM_EINVAL for NULL or inside a group".
TEST_CASE("table: netshm_table_close inside a group is refused", "[table][manage]")
{
    scratch_table st;
    netshm_table *t = st.table.release();
    REQUIRE_NETSHM_OK(netshm_group_begin(t));
    const int rc = netshm_table_close(t);
    CHECK(rc == NETSHM_EINVAL);
    if (rc != NETSHM_OK) {
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_group_end(t));
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_table_close(t));
    }
}

// =============================================================== operations

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

// ============================================================== block API

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

// ================================================================= groups

TEST_CASE("table: groups nest and pass the body's value through", "[table][group]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();

    const int result = GENERATE(0, 42, -100, INT_MIN);
    int depth = 0;
    const int outer_rc = group_with(t, [&](netshm_table *inner) -> int {
        ++depth;
        CHECK(inner == t);
        const value_t v{1, 2};
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(inner, 1, v.data(), v.size()));
        const int inner_rc = group_with(inner, [&](netshm_table *innermost) -> int {
            ++depth;
            CHECK_NETSHM_ERR(NETSHM_OK, netshm_replace(innermost, 1, v.data(), 1));
            CHECK_NETSHM_ERR(1, netshm_mem(innermost, 1));
            return 7;
        });
        CHECK_NETSHM_ERR(7, inner_rc);
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(inner, 2, nullptr, 0));
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_remove(inner, 2));
        return result;
    });
    CHECK_NETSHM_ERR(result, outer_rc);
    CHECK(depth == 2);
    CHECK(find_all_values(t, 1) == std::vector<value_t>{{1}});
    CHECK(length_of(t) == 1);
    // The group is over: group_end has nothing to end.
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_end(t));

    SECTION("group_begin and group_end")
    {
        REQUIRE_NETSHM_OK(netshm_group_begin(t));
        REQUIRE_NETSHM_OK(netshm_group_begin(t));
        add_ok(t, 3, {3});
        CHECK(find_value(t, 3) == value_t{3});
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_group_end(t));
        REQUIRE_NETSHM_OK(netshm_remove(t, 3));
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_group_end(t));
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_end(t));
        CHECK_NETSHM_ERR(0, netshm_mem(t, 3));
    }

    SECTION("bad arguments")
    {
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group(t, nullptr, nullptr));
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group(nullptr, [](netshm_table *, void *) { return 0; }, nullptr));
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_begin(nullptr));
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_end(nullptr));
        // Nothing was left open.
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_end(t));
    }
}

// ===================================================== modifying callbacks

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

// ================================================= closed and NULL handles

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

// =================================================================== dump

TEST_CASE("table: dump prints exactly what Netshm.dump prints", "[table][dump]")
{
    scratch_table st(160, 10);
    netshm_table *t = st.get();
    CHECK(dump_text(t) == "<shm length=0\n>\n");

    add_ok(t, 5, {1, 2});
    add_ok(t, 5, {3});
    CHECK(dump_text(t) == "<shm length=2\n  5 => [| 3 |]\n  5 => [| 1; 2 |]\n>\n");

    REQUIRE_NETSHM_OK(netshm_remove(t, 5));
    REQUIRE_NETSHM_OK(netshm_remove(t, 5));
    add_ok(t, -7, {});
    CHECK(dump_text(t) == "<shm length=1\n  -7 => [|  |]\n>\n");
    REQUIRE_NETSHM_OK(netshm_remove(t, -7));
    add_ok(t, INT32_MIN, {-1, INT32_MAX, INT32_MIN, 0});
    CHECK(dump_text(t) == "<shm length=1\n  -2147483648 => [| -1; 2147483647; -2147483648; 0 |]\n>\n");

    SECTION("several keys: one line per binding, a key's newest first")
    {
        std::multiset<std::string> lines{"  -2147483648 => [| -1; 2147483647; -2147483648; 0 |]"};
        for (int32_t k = 0; k < 30; ++k) {
            add_ok(t, k, {k});
            add_ok(t, k, {k, k + 1});
            lines.insert("  " + std::to_string(k) + " => [| " + std::to_string(k) + " |]");
            lines.insert("  " + std::to_string(k) + " => [| " + std::to_string(k) + "; " + std::to_string(k + 1) + " |]");
        }
        const std::string text = dump_text(t);
        std::vector<std::string> ordered;
        for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
            ordered.push_back(text.substr(start, end - start));
        REQUIRE(ordered.size() == 63);
        CHECK(ordered.front() == "<shm length=61");
        CHECK(ordered.back() == ">");
        CHECK(text.back() == '\n');
        ordered = std::vector<std::string>(ordered.begin() + 1, ordered.end() - 1);
        CHECK(std::multiset<std::string>(ordered.begin(), ordered.end()) == lines);
        for (int32_t k = 0; k < 30; ++k) {
            auto newest = std::find(ordered.begin(), ordered.end(),
                                    "  " + std::to_string(k) + " => [| " + std::to_string(k) + "; " + std::to_string(k + 1) + " |]");
            REQUIRE(newest != ordered.end());
            CHECK(*(newest + 1) == "  " + std::to_string(k) + " => [| " + std::to_string(k) + " |]");
        }
    }

    SECTION("a large dump is written whole")
    {
        for (int32_t k = 0; k < 100; ++k)
            add_ok(t, k, make_value(k, 300));
        const std::string text = dump_text(t);
        size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
        CHECK(lines == 2 + 101);
        CHECK(text.size() > (1u << 16));
    }

    SECTION("a write failure is a system error")
    {
        errno = 0;
        CHECK_NETSHM_ERR(NETSHM_ESYS, netshm_dump(t, -1));
        CHECK(errno == EBADF);
        CHECK(netshm_last_errno() == EBADF);
        // No lock stays: the table is writable.
        add_ok(t, 1, {1});
    }
}

// ================================================================= memory

TEST_CASE("table: memory is the mapped object", "[table][memory]")
{
    const unsigned pagesize = GENERATE(160u, 256u, 1024u);
    scratch_table st(pagesize, 10);
    netshm_table *t = st.get();
    add_ok(t, 11, make_value(11, 3));
    table_memory mem(t);
    CHECK(mem.words_per_page == pagesize / 4);
    for (int i = 0; i < 4; ++i)
        CHECK(static_cast<uint32_t>(mem.base[i]) == file_magic[i]);
    CHECK(mem.base[4] == 1);
    CHECK(static_cast<size_t>(mem.descriptor(d_total_pages)) == mem.pages);
    CHECK(static_cast<off_t>(mem.pages * pagesize) == file_size(st.path()));
    // The binding's first page: magic, key, no next page, no older binding, offset 0, length 3.
    int found = 0;
    for (size_t page = 2; page < mem.pages; ++page)
        if (static_cast<uint32_t>(mem.word(page, 0)) == content_magic) {
            ++found;
            CHECK(mem.word(page, 1) == 11);
            CHECK(mem.word(page, 2) == 0);
            CHECK(mem.word(page, 3) == 0);
            CHECK(mem.word(page, 4) == 0);
            CHECK(mem.word(page, 5) == 3);
            // Writing through the mapping is writing the table.
            mem.base[page * mem.words_per_page + 6] = -1;
        }
    CHECK(found == 1);
    value_t expected = make_value(11, 3);
    expected[0] = -1;
    CHECK(find_value(t, 11) == expected);
}

// ================================================================= growth

TEST_CASE("table: growth appends pages and hash extents", "[table][growth]")
{
    const unsigned pagesize = GENERATE(160u, 256u);
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    scratch_table st(pagesize, 1, locking);
    netshm_table *t = st.get();
    const geometry &geo = st.geo;
    const off_t initial = file_size(st.path());
    CHECK(initial == static_cast<off_t>(3 * pagesize));

    int32_t hash_size = table_memory(t).descriptor(d_hash_size);
    CHECK(hash_size == static_cast<int32_t>(geo.cells()));
    int grows = 0;
    for (int32_t k = 0; k < 600; ++k) {
        add_ok(t, k * 1009, make_value(k, static_cast<size_t>(k % 120)));
        table_memory mem(t);
        const int32_t claimed = mem.descriptor(d_claimed);
        CHECK(claimed == k + 1);
        // A new cell was claimed only after growth made 2 x claimed <= size.
        CHECK(2 * (claimed - 1) <= mem.descriptor(d_hash_size));
        if (mem.descriptor(d_hash_size) != hash_size) {
            ++grows;
            hash_size = mem.descriptor(d_hash_size);
        }
    }
    table_memory mem(t);
    const auto extents = mem.extents();
    CHECK(static_cast<int>(extents.size()) == grows + 1);
    REQUIRE(extents.size() >= 4);
    CHECK(extents[0] == std::pair<int32_t, int32_t>{2, 1});
    int64_t cells = 0;
    int32_t largest = 0;
    std::vector<bool> used(mem.pages, false);
    for (const auto &[first, count] : extents) {
        if (largest > 0)
            CHECK(count == 2 * largest);
        largest = std::max(largest, count);
        cells += static_cast<int64_t>(count) * static_cast<int64_t>(geo.cells());
        REQUIRE(first + count <= static_cast<int32_t>(mem.pages));
        for (int32_t p = first; p < first + count; ++p) {
            CHECK(!used[static_cast<size_t>(p)]);
            used[static_cast<size_t>(p)] = true;
        }
    }
    CHECK(cells == mem.descriptor(d_hash_size));
    CHECK(mem.descriptor(d_bindings) == 600);
    CHECK(length_of(t) == 600);
    CHECK(static_cast<off_t>(mem.pages * pagesize) == file_size(st.path()));
    CHECK(file_size(st.path()) > initial);
    // Unused extent slots are 0/0.
    for (size_t i = extents.size(); i < max_extents; ++i) {
        CHECK(mem.descriptor(d_extents + 2 * static_cast<int>(i)) == 0);
        CHECK(mem.descriptor(d_extents + 2 * static_cast<int>(i) + 1) == 0);
    }
    for (int32_t k = 0; k < 600; ++k)
        CHECK(find_value(t, k * 1009) == make_value(k, static_cast<size_t>(k % 120)));

    // Pages past the table stay zero, and the free list is sound.
    int64_t free_pages = 0;
    for (int32_t p = mem.descriptor(d_free_head); p != 0; p = mem.word(static_cast<size_t>(p), 1)) {
        REQUIRE(free_pages <= static_cast<int64_t>(mem.pages));
        CHECK(static_cast<uint32_t>(mem.word(static_cast<size_t>(p), 0)) == free_magic);
        ++free_pages;
    }
    CHECK(free_pages == mem.descriptor(d_free_count));
}

TEST_CASE("table: the hash table stops growing at 16 extents with NETSHM_ETOOBIG", "[table][growth]")
{
    // Page size 160 holds 9 cells a page: 16 extents of 1, 2, ... 32768 pages
    // hold 589815 cells, full after 294908 keys.
    scratch_table st(160, 0, NETSHM_NO_LOCKING);
    netshm_table *t = st.get();
    int32_t key = 0;
    int rc = NETSHM_OK;
    for (; key < 400000; ++key)
        if ((rc = netshm_add(t, key, nullptr, 0)) != NETSHM_OK)
            break;
    CHECK_NETSHM_ERR(NETSHM_ETOOBIG, rc);
    CHECK(key == 294908);
    CHECK(std::string(netshm_last_error()).find("16") != std::string::npos);

    table_memory mem(t);
    CHECK(mem.descriptor(d_hash_size) == 589815);
    CHECK(mem.descriptor(d_claimed) == 294908);
    const auto extents = mem.extents();
    REQUIRE(extents.size() == 16);
    for (size_t i = 0; i < extents.size(); ++i)
        CHECK(extents[i].second == (1 << i));

    // Nothing changed, and what needs no new cell still works.
    CHECK(length_of(t) == 294908);
    const value_t v{1, 2, 3};
    CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_replace(t, key, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_add(t, -1, v.data(), v.size()));
    CHECK(length_of(t) == 294908);
    CHECK_NETSHM_ERR(0, netshm_mem(t, key));
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(t, 17, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_replace(t, 18, v.data(), v.size()));
    CHECK(find_all_values(t, 17) == std::vector<value_t>{v, {}});
    CHECK(find_all_values(t, 18) == std::vector<value_t>{v});
    for (int32_t k = 0; k < key; k += 997)
        CHECK_NETSHM_ERR(1, netshm_mem(t, k));
    // A removed key leaves its cell claimed: still no room for a new one.
    REQUIRE_NETSHM_OK(netshm_remove(t, 5));
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_add(t, 5, v.data(), v.size()));
    CHECK_NETSHM_ERR(NETSHM_ETOOBIG, netshm_add(t, key + 1, v.data(), v.size()));
}

TEST_CASE("table: another handle of the same object follows its growth", "[table][growth]")
{
    const bool same_descriptor = GENERATE(false, true);
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(same_descriptor, locking);
    scratch_table st(160, 1, locking);
    descr_ptr other_descr = same_descriptor ? nullptr : open_ok(NETSHM_TYPE_POSIX, st.name, O_RDWR);
    table_ptr other = manage_ok(same_descriptor ? st.descr.get() : other_descr.get(), 0, -1, locking);
    const size_t pages_before = table_memory(other.get()).pages;

    for (int32_t k = 0; k < 1000; ++k)
        add_ok(st.get(), k, make_value(k, static_cast<size_t>(k % 200)));
    for (int32_t k = 0; k < 1000; ++k)
        REQUIRE(find_value(other.get(), k) == make_value(k, static_cast<size_t>(k % 200)));
    CHECK(length_of(other.get()) == 1000);
    CHECK(table_memory(other.get()).pages == table_memory(st.get()).pages);
    CHECK(table_memory(other.get()).pages > pages_before);

    // And the other way round, growing the hash table once more.
    for (int32_t k = 1000; k < 3000; ++k)
        add_ok(other.get(), k, {k});
    CHECK(length_of(st.get()) == 3000);
    CHECK(iter_all(st.get()) == iter_all(other.get()));
    CHECK(table_memory(st.get()).extents() == table_memory(other.get()).extents());
}

// Modifications through any handle of the object are refused from a callback
// (they would move what the callback iterates), so another process grows it.
TEST_CASE("table: fragments stay valid while the callback's own table remaps", "[table][growth]")
{
    scratch_table st(160, 1, NETSHM_RECORD_LOCKING);
    const value_t v = make_value(1, 100);
    add_ok(st.get(), 1, v);

    value_t seen;
    int calls = 0;
    const int rc = find_blocks_with(st.get(), 1, [&](const int32_t *frag, size_t n) -> int {
        if (frag == nullptr)
            return NETSHM_CONTINUE;
        if (++calls == 1) {
            // find_blocks now holds only the binding's read lock: a child
            // process may grow the object a lot; a read of this table then
            // maps the larger object.
            const pid_t child = fork();
            REQUIRE(child >= 0);
            if (child == 0) {
                alarm(60);
                netshm_descr *d = nullptr;
                netshm_table *t = nullptr;
                if (netshm_open(NETSHM_TYPE_POSIX, st.name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
                    netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK)
                    _exit(2);
                for (int32_t k = 2; k < 3000; ++k) {
                    const value_t big = make_value(k, 100);
                    if (netshm_add(t, k, big.data(), big.size()) != NETSHM_OK)
                        _exit(3);
                }
                _exit(0);
            }
            int status = 0;
            REQUIRE(waitpid(child, &status, 0) == child);
            CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
            int32_t *copy = nullptr;
            size_t len = 0;
            CHECK_NETSHM_ERR(NETSHM_OK, netshm_find(st.get(), 2999, &copy, &len));
            CHECK(len == 100);
            netshm_free(copy);
        }
        seen.insert(seen.end(), frag, frag + n);
        return NETSHM_CONTINUE;
    });
    CHECK_NETSHM_ERR(NETSHM_OK, rc);
    CHECK(seen == v);
    CHECK(length_of(st.get()) == 2999);
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

TEST_CASE("table: a full file system is an error from the operation that grows, and the table stays intact",
          "[table][growth]")
{
    const bool replace = GENERATE(false, true);
    CAPTURE(replace);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    {
        descr_ptr descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
        manage_ok(descr.get(), 256, 50);
    }
    const off_t limit = file_size(name) + 64 * 1024;

    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // No Catch2 here: the child reports a line of results through the pipe.
        ::close(pipe_fds[0]);
        std::string report;
        std::signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim {static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
        netshm_descr *descr = nullptr;
        netshm_table *table = nullptr;
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) {
            report = "setrlimit failed";
        } else if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
                   netshm_manage(descr, NETSHM_RECORD_LOCKING, 0, -1, &table) != NETSHM_OK) {
            report = std::string("open/manage failed: ") + netshm_last_error();
        } else {
            int rc = NETSHM_OK;
            int32_t k = 0;
            for (; k < 100000 && rc == NETSHM_OK; ++k) {
                const value_t v = make_value(k, 50);
                rc = replace ? netshm_replace(table, k, v.data(), v.size()) : netshm_add(table, k, v.data(), v.size());
            }
            const int failed_key = k - 1;
            const int err = netshm_last_errno();
            report = "rc=" + std::to_string(rc) + " errno=" + std::to_string(err) + " key=" + std::to_string(failed_key);
            // Everything added before is there, nothing else.
            bool intact = true;
            for (int32_t j = 0; j < failed_key; ++j) {
                int32_t buf[50];
                size_t len = 0;
                if (netshm_find_into(table, j, buf, 50, &len) != NETSHM_OK || value_t(buf, buf + len) != make_value(j, 50))
                    intact = false;
            }
            size_t n = 0;
            intact = intact && netshm_length(table, &n) == NETSHM_OK && n == static_cast<size_t>(failed_key) &&
                     netshm_mem(table, failed_key) == 0;
            // replace keeps the old binding when it cannot get the space.
            const value_t huge = make_value(-1, 100000);
            int rc_replace = netshm_replace(table, 0, huge.data(), huge.size());
            intact = intact && netshm_find_into(table, 0, nullptr, 0, &n) == NETSHM_ETOOBIG && n == 50;
            report += " intact=" + std::to_string(intact) + " replace=" + std::to_string(rc_replace);
            netshm_table_close(table);
            netshm_close(descr);
        }
        for (size_t done = 0; done < report.size();) {
            ssize_t n = ::write(pipe_fds[1], report.data() + done, report.size() - done);
            if (n <= 0)
                ::_exit(1);
            done += static_cast<size_t>(n);
        }
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string report;
    char buffer[256];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        report.append(buffer, static_cast<size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO("child: " << report);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    const bool efbig = report.find("errno=" + std::to_string(EFBIG) + " ") != std::string::npos;
    const bool enospc = report.find("errno=" + std::to_string(ENOSPC) + " ") != std::string::npos;
    CHECK(report.rfind("rc=" + std::to_string(NETSHM_ESYS) + " ", 0) == 0);
    CHECK((efbig || enospc));
    CHECK(report.find("intact=1 replace=" + std::to_string(NETSHM_ESYS)) != std::string::npos);

    // What the child left is a sound table, as large as the limit allowed.
    const size_t key_pos = report.find("key=");
    REQUIRE(key_pos != std::string::npos);
    const int32_t failed_key = std::stoi(report.substr(key_pos + 4));
    CHECK(failed_key > 10);
    CHECK(file_size(name) <= limit);
    descr_ptr descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR);
    table_ptr table = manage_ok(descr.get(), 0, -1);
    CHECK(length_of(table.get()) == static_cast<size_t>(failed_key));
    for (int32_t j = 0; j < failed_key; ++j)
        REQUIRE(find_value(table.get(), j) == make_value(j, 50));
    // Without the limit, it grows on.
    add_ok(table.get(), failed_key, make_value(failed_key, 50));
    CHECK(length_of(table.get()) == static_cast<size_t>(failed_key) + 1);
}
