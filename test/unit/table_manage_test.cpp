// netshm_manage and netshm_table_close of the C API: a new table's exact layout,
// reopening an existing table, page size detection and refusals, re-initialising
// with init, read-only descriptors, and closing a table handle.
#include "table_api_support.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <set>
#include <string>
#include <sys/types.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using namespace table_api;
using netshm_test::descr_ptr;
using netshm_test::open_ok;
using netshm_test::scratch_names;

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

} // namespace

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

TEST_CASE("table: init never writes a table over data that is not a table", "[table][manage]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    const std::string text = GENERATE(as<std::string>{}, "x", "root:x:0:0:root:/root:/bin/bash\n",
                                      std::string(16, '\0') + "after zeros", std::string(4096, 'a'));
    CAPTURE(locking, text);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    descr_ptr descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    int fd = ::open(name.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    const bool foreign = text.find_first_not_of('\0') < 16;

    netshm_table *table = nullptr;
    const int rc = netshm_manage(descr.get(), locking, 256, 0, &table);
    if (!foreign) {
        // The first 16 bytes are zero: a table whose creation never finished,
        // which init is there to redo.
        CHECK(rc == NETSHM_OK);
        netshm_table_close(table);
        return;
    }
    CHECK_NETSHM_ERR(NETSHM_EEXIST, rc);
    CHECK(table == nullptr);
    CHECK_THAT(netshm_last_error(), Catch::StartsWith(name + ": the object holds " + std::to_string(text.size()) +
                                                      " bytes that are not a netshm table"));
    CHECK(file_bytes(name) == text);

    SECTION("emptied with O_TRUNC, it takes a table")
    {
        descr_ptr emptied = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_TRUNC);
        table_ptr created = manage_ok(emptied.get(), 256, 0, locking);
        CHECK(file_size(name) > 0);
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
