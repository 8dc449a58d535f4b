// Helpers shared by the tests of the C API's table functions (table_*_test.cpp):
// the file format's constants and page geometry, scratch tables, values, the
// callback functions called with lambdas, the mapped memory and file sizes.
#pragma once

#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

namespace table_api {

using value_t = std::vector<int32_t>;

// ------------------------------------------------------------------ format

inline constexpr uint32_t file_magic[4] = {0xDE871209u, 0xDE881209u, 0xDE871309u, 0xDE87120Au};
inline constexpr uint32_t descriptor_magic = 0x6712DE9Fu;
inline constexpr uint32_t content_magic = 0x12DE9F67u;
inline constexpr uint32_t free_magic = 0xF3EEF3EEu;

enum descriptor_word { d_total_pages = 1, d_hash_size = 2, d_claimed = 3, d_bindings = 4,
                       d_free_head = 5, d_free_count = 6, d_extents = 8 };
inline constexpr int max_extents = 16;

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

inline table_ptr manage_ok(netshm_descr *descr, unsigned pagesize, long long init,
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
        descr = netshm_test::open_ok(kind, name, O_RDWR | O_CREAT | O_EXCL);
        table = manage_ok(descr.get(), pagesize, init, locking);
    }
    std::string path() const { return netshm_test::scratch_names::path_of(type, name); }
    netshm_table *get() const { return table.get(); }

    netshm_test::scratch_names names;
    netshm_type type;
    std::string name;
    geometry geo;
    netshm_test::descr_ptr descr;
    table_ptr table;
};

// ------------------------------------------------------------------ values

inline value_t make_value(int32_t seed, size_t len)
{
    value_t v(len);
    for (size_t i = 0; i < len; ++i)
        v[i] = static_cast<int32_t>(static_cast<uint32_t>(seed) * 2654435761u + static_cast<uint32_t>(i) * 40503u);
    return v;
}

inline void add_ok(netshm_table *t, int32_t key, const value_t &v)
{
    REQUIRE_NETSHM_OK(netshm_add(t, key, v.data(), v.size()));
}

inline value_t find_value(netshm_table *t, int32_t key)
{
    int32_t *value = nullptr;
    size_t len = 12345;
    REQUIRE_NETSHM_OK(netshm_find(t, key, &value, &len));
    REQUIRE(value != nullptr);
    value_t copy(value, value + len);
    netshm_free(value);
    return copy;
}

inline size_t length_of(netshm_table *t)
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

inline std::vector<value_t> find_all_values(netshm_table *t, int32_t key)
{
    std::vector<value_t> all;
    REQUIRE_NETSHM_OK(find_all_with(t, key, [&](const int32_t *v, size_t n) -> int {
        all.emplace_back(v, v + n);
        return 0;
    }));
    return all;
}

// Every binding by key, each key's newest first.
inline std::map<int32_t, std::vector<value_t>> iter_all(netshm_table *t)
{
    std::map<int32_t, std::vector<value_t>> all;
    REQUIRE_NETSHM_OK(iter_with(t, [&](int32_t k, const int32_t *v, size_t n) -> int {
        all[k].emplace_back(v, v + n);
        return 0;
    }));
    return all;
}

inline std::multiset<int32_t> iter_keys_all(netshm_table *t)
{
    std::multiset<int32_t> keys;
    REQUIRE_NETSHM_OK(iter_keys_with(t, [&](int32_t k) -> int {
        keys.insert(k);
        return 0;
    }));
    return keys;
}

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

inline off_t file_size(const std::string &path)
{
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_size;
}

inline std::string dump_text(netshm_table *t)
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

} // namespace table_api
