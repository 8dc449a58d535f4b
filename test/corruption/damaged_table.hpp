// A table in a POSIX object, to be damaged in place through its mapping, with
// the places of its keys, chains and cells found by parsing it while it is
// still sound.  For the Catch2 tests of corruption and of the integrity check.
#pragma once

#include "netshm_test_helpers.hpp"
#include "table_image.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cstdint>
#include <fcntl.h>
#include <memory>
#include <string>
#include <vector>

namespace corruption {

using value_t = std::vector<int32_t>;

struct table_closer {
    void operator()(netshm_table *table) const noexcept { netshm_table_close(table); }
};
using table_ptr = std::unique_ptr<netshm_table, table_closer>;

inline value_t value_of(int32_t seed, size_t len)
{
    value_t v(len);
    for (size_t i = 0; i < len; ++i)
        v[i] = seed * 1000 + static_cast<int32_t>(i);
    return v;
}

// A table in a POSIX object, damaged in place through its mapping.
struct damaged_table {
    explicit damaged_table(unsigned bytes = 160, long long init = 10) : pagesize(bytes)
    {
        name = names.fresh(NETSHM_TYPE_POSIX);
        path = netshm_test::scratch_names::path_of(NETSHM_TYPE_POSIX, name);
        descr = netshm_test::open_ok(NETSHM_TYPE_POSIX, name, O_RDWR | O_CREAT | O_EXCL);
        netshm_table *t = nullptr;
        REQUIRE_NETSHM_OK(netshm_manage(descr.get(), NETSHM_RECORD_LOCKING, pagesize, init, &t));
        table.reset(t);
    }
    netshm_table *get() const { return table.get(); }

    void add(int32_t key, const value_t &v) { REQUIRE_NETSHM_OK(netshm_add(get(), key, v.data(), v.size())); }

    int32_t *words()
    {
        int32_t *base = nullptr;
        size_t pages = 0, wpp = 0;
        REQUIRE_NETSHM_OK(netshm_memory(get(), &base, &pages, &wpp));
        return base;
    }
    size_t wpp() const { return pagesize / 4; }
    // The table as it is now, parsed (while it is still sound).
    table_image image()
    {
        int32_t *base = nullptr;
        size_t pages = 0, w = 0;
        REQUIRE_NETSHM_OK(netshm_memory(get(), &base, &pages, &w));
        return corruption::parse_image(name, pagesize, value_t(base, base + pages * w));
    }
    int32_t get_word(int32_t page, size_t w) { return words()[static_cast<size_t>(page) * wpp() + w]; }
    void set_word(int32_t page, size_t w, int32_t value) { words()[static_cast<size_t>(page) * wpp() + w] = value; }
    // The pages of key's bindings, newest first (first pages only).
    std::vector<int32_t> chain_of(int32_t key)
    {
        const table_image img = image();
        for (size_t i = 0; i < img.bound_cells.size(); ++i)
            if (img.words[img.bound_cells[i]] == key)
                return img.chains[i];
        FAIL("key " << key << " is not bound");
        return {};
    }
    std::vector<int32_t> pages_of_newest(int32_t key)
    {
        const int32_t first = chain_of(key).front();
        for (const auto &binding : image().bindings)
            if (binding.pages.front() == first)
                return binding.pages;
        return {};
    }
    size_t cell_of(int32_t key)
    {
        const table_image img = image();
        for (size_t cell : img.cells)
            if (img.words[cell] == key && img.words[cell + 1] != 0)
                return cell;
        FAIL("key " << key << " has no cell");
        return 0;
    }

    unsigned pagesize;
    netshm_test::scratch_names names;
    std::string name;
    std::string path;
    netshm_test::descr_ptr descr;
    table_ptr table;
};

} // namespace corruption
