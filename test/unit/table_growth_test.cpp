// How the C API's tables grow: pages and hash extents appended, the 16-extent
// limit, other handles and callbacks following a remapped object, and a full
// file system failing the operation that grows while the table stays intact,
// after growing by only what the operation needs when that still fits.
#include "child_process.hpp"
#include "table_api_support.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace table_api;
using netshm_test::descr_ptr;
using netshm_test::open_ok;
using netshm_test::scratch_names;

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

// A find starts loading the key's first cell before it checks the descriptor
// (lib/table/index.cpp, prefetch_probe): once another handle has grown the
// hash table, the first lookup must probe from where the new size puts the key.
TEST_CASE("table: the first lookup after another handle grew the hash table probes by the new size",
          "[table][growth]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    const bool use_mem = GENERATE(false, true);
    CAPTURE(locking, use_mem);
    scratch_table st(160, 1, locking);
    table_ptr other = manage_ok(st.descr.get(), 0, -1, locking);
    // Keys larger than the hash table, so that sizes place them differently.
    int32_t i = 0;
    auto key = [&i] { return 100000 + 7919 * i; };
    for (int growth = 0; growth < 6; ++growth) {
        CAPTURE(growth);
        // `other` validates the current size; then the hash table grows.
        add_ok(st.get(), key(), {i});
        CHECK(find_value(other.get(), key()) == value_t{i});
        const size_t extents = table_memory(st.get()).extents().size();
        while (table_memory(st.get()).extents().size() == extents) {
            ++i;
            add_ok(st.get(), key(), {i});
        }
        // The newest key's first cell by the old size holds another key or none.
        if (use_mem)
            CHECK(netshm_mem(other.get(), key()) == 1);
        else
            CHECK(find_value(other.get(), key()) == value_t{i});
        ++i;
    }
}

namespace {
// Modifications through any handle of the object are refused from a callback
// (they would move what the callback iterates), so another process grows it
// (keys 2 to 2999, values of 100 words); then a read of `table` maps the
// larger object.
void grow_from_child_then_read(netshm_table *table, const std::string &name, netshm_locking locking)
{
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        alarm(60);
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        if (netshm_open(NETSHM_TYPE_POSIX, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, locking, 0, -1, &t) != NETSHM_OK)
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
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_find(table, 2999, &copy, &len));
    CHECK(len == 100);
    netshm_free(copy);
}
} // namespace

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
        // find_blocks now holds only the binding's read lock: a child
        // process may grow the object.
        if (++calls == 1)
            grow_from_child_then_read(st.get(), st.name, NETSHM_RECORD_LOCKING);
        seen.insert(seen.end(), frag, frag + n);
        return NETSHM_CONTINUE;
    });
    CHECK_NETSHM_ERR(NETSHM_OK, rc);
    CHECK(seen == v);
    CHECK(length_of(st.get()) == 2999);
}

// iter hands a value that fits in its first page in place, in the mapping.
// Without locking nothing keeps a writer out during the callback; the
// callback stops the walk, whose view of the hash table the writer changed.
TEST_CASE("table: a value iter hands in place stays valid while the callback's own table remaps",
          "[table][growth]")
{
    scratch_table st(160, 1, NETSHM_NO_LOCKING);
    const value_t v = make_value(1, 10);
    add_ok(st.get(), 1, v);

    int calls = 0;
    const int rc = iter_with(st.get(), [&](int32_t key, const int32_t *value, size_t n) -> int {
        ++calls;
        CHECK(key == 1);
        grow_from_child_then_read(st.get(), st.name, NETSHM_NO_LOCKING);
        CHECK(value_t(value, value + n) == v);
        return -100;
    });
    CHECK(rc == -100);
    CHECK(calls == 1);
    CHECK(length_of(st.get()) == 2999);
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

TEST_CASE("table: on a nearly full file system the table grows by just the pages a write needs",
          "[table][growth]")
{
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(locking);
    constexpr unsigned pagesize = 256;
    constexpr int room_pages = 3;
    const geometry geo(pagesize);
    // Each value takes one page; every add binds key 7 again, so that no
    // hash cell is claimed and the hash table never grows.
    const value_t value = make_value(7, geo.first_page_words());
    REQUIRE(geo.pages_for(value.size()) == 1);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    const std::string path = scratch_names::path_of(NETSHM_TYPE_FILE, name);
    {
        descr_ptr descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
        manage_ok(descr.get(), pagesize, 50, locking);
    }

    netshm_test::child writer(20, [&]() -> std::string {
        std::signal(SIGXFSZ, SIG_IGN);
        netshm_descr *descr = nullptr;
        netshm_table *table = nullptr;
        if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
            netshm_manage(descr, locking, 0, -1, &table) != NETSHM_OK)
            return std::string("open/manage failed: ") + netshm_last_error();
        // Use up the free list, so that the next add must grow.
        int32_t *base = nullptr;
        size_t pages = 0, words_per_page = 0;
        size_t added = 0;
        for (;; ++added) {
            if (netshm_memory(table, &base, &pages, &words_per_page) != NETSHM_OK)
                return "netshm_memory failed";
            const int32_t descriptor_page = base[4];
            if (base[static_cast<size_t>(descriptor_page) * words_per_page + d_free_count] == 0)
                break;
            if (netshm_add(table, 7, value.data(), value.size()) != NETSHM_OK)
                return std::string("add with free pages failed: ") + netshm_last_error();
        }
        // Room for a few pages, less than the geometric step of 16 or more.
        struct stat file {};
        if (::stat(path.c_str(), &file) != 0)
            return "stat failed";
        struct rlimit lim {};
        lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(file.st_size + room_pages * pagesize);
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0)
            return "setrlimit failed";
        int rc = NETSHM_OK;
        int grown = 0;
        for (; grown <= room_pages; ++grown)
            if ((rc = netshm_add(table, 7, value.data(), value.size())) != NETSHM_OK)
                break;
        const int err = netshm_last_errno();
        size_t length = 0;
        const bool counted = netshm_length(table, &length) == NETSHM_OK && length == added + static_cast<size_t>(grown);
        const bool sound = netshm_check(table, nullptr, nullptr) == 0;
        return "grown=" + std::to_string(grown) + " rc=" + std::to_string(rc) + " errno=" + std::to_string(err) +
               " counted=" + std::to_string(counted) + " sound=" + std::to_string(sound);
    });
    const std::string report = writer.finish();
    INFO("child: " << report);
    CHECK(report.rfind("grown=" + std::to_string(room_pages) + " rc=" + std::to_string(NETSHM_ESYS) + " ", 0) == 0);
    CHECK((report.find("errno=" + std::to_string(EFBIG) + " ") != std::string::npos ||
           report.find("errno=" + std::to_string(ENOSPC) + " ") != std::string::npos));
    CHECK(report.find("counted=1 sound=1") != std::string::npos);
}
