// What crash safety costs each locking method, counted in stores into shared
// memory (the counter of capi/testing.h): with record locking a mutation
// adds exactly its intent record and its clearing (issue 16), with mutex
// locking those and the counter's two stores; no locking stores nothing
// more and never touches the lock area's words of page 0, record locking
// never touches mutex locking's words (5-19).
#include "netshm_test_helpers.hpp"
#include "testing.h"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cstdint>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using netshm_test::open_ok;
using netshm_test::scratch_names;

struct table_closer {
    void operator()(netshm_table *table) const noexcept { netshm_table_close(table); }
};
using table_ptr = std::unique_ptr<netshm_table, table_closer>;

struct mutation {
    const char *name;
    std::function<int(netshm_table *)> run;
};

int remove_newest_by_blocks(netshm_table *table)
{
    return netshm_write_blocks(
        table, NETSHM_OP_REMOVE_BINDING, 3,
        [](int32_t *frag, size_t, void *) -> int { return frag != nullptr ? NETSHM_REMOVE_BINDING : NETSHM_BREAK; },
        nullptr);
}

const std::vector<mutation> &mutations()
{
    static const int32_t value[5] = {1, 2, 3, 4, 5};
    static const std::vector<mutation> all{
        {"add", [](netshm_table *t) { return netshm_add(t, 100, value, 5); }},
        {"add on a bound key", [](netshm_table *t) { return netshm_add(t, 2, value, 5); }},
        {"replace", [](netshm_table *t) { return netshm_replace(t, 2, value, 3); }},
        {"remove", [](netshm_table *t) { return netshm_remove(t, 2); }},
        {"write_blocks removing a binding", remove_newest_by_blocks},
    };
    return all;
}

// The stores of one mutation on a fresh table of a few keys managed with
// `locking`, and the lock area's words 5-39 of page 0 afterwards.
struct measured {
    long long stores;
    std::vector<int32_t> lock_area;
};

measured measure(netshm_locking locking, const mutation &m)
{
    scratch_names names;
    const std::string path = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL);
    netshm_table *raw = nullptr;
    REQUIRE_NETSHM_OK(netshm_manage(descr.get(), locking, 256, 20, &raw));
    table_ptr table(raw);
    const int32_t value[2] = {7, 8};
    for (int32_t key = 1; key <= 4; ++key)
        REQUIRE_NETSHM_OK(netshm_add(table.get(), key, value, 2));
    long long start = netshm_testing_shared_stores();
    REQUIRE_NETSHM_OK(m.run(table.get()));
    measured result{netshm_testing_shared_stores() - start, std::vector<int32_t>(35)};
    table.reset();
    std::ifstream file(path, std::ios::binary);
    file.seekg(5 * 4);
    file.read(reinterpret_cast<char *>(result.lock_area.data()), 35 * 4);
    REQUIRE(file.good());
    return result;
}

TEST_CASE("intent records: record and mutex locking store them, three and five stores per mutation", "[intent]")
{
    for (const mutation &m : mutations()) {
        CAPTURE(m.name);
        measured none = measure(NETSHM_NO_LOCKING, m);
        measured record = measure(NETSHM_RECORD_LOCKING, m);
        measured mutex = measure(NETSHM_MUTEX_LOCKING, m);
        CHECK(none.stores > 0);
        // The intent recorded, cleared and its fields zeroed; with mutex
        // locking, the counter made odd and even again too.
        CHECK(record.stores == none.stores + 3);
        CHECK(mutex.stores == none.stores + 5);
        CHECK(none.lock_area == std::vector<int32_t>(35));
        // Record locking: page 0's words all zero again once the write is
        // done, as OCamlnet's files have them.
        CHECK(record.lock_area == std::vector<int32_t>(35));
        // Mutex locking: the magic at word 5, no operation left in flight at
        // word 20, the record's fields zeroed.
        CHECK(mutex.lock_area[0] == 0x4E534D58);
        CHECK(std::vector<int32_t>(mutex.lock_area.begin() + 15, mutex.lock_area.end()) == std::vector<int32_t>(20));
    }
}

TEST_CASE("intent records: an add that resizes the hash table records the resize as its own operation",
          "[intent]")
{
    // Hint 4: one hash page of 15 cells, resized when the 9th key claims one.
    auto stores_of_ninth_key = [](netshm_locking locking) {
        scratch_names names;
        auto descr = open_ok(NETSHM_TYPE_FILE, names.fresh(NETSHM_TYPE_FILE), O_RDWR | O_CREAT | O_EXCL);
        netshm_table *raw = nullptr;
        REQUIRE_NETSHM_OK(netshm_manage(descr.get(), locking, 256, 4, &raw));
        table_ptr table(raw);
        const int32_t value[1] = {1};
        for (int32_t key = 1; key <= 8; ++key)
            REQUIRE_NETSHM_OK(netshm_add(table.get(), key, value, 1));
        long long start = netshm_testing_shared_stores();
        REQUIRE_NETSHM_OK(netshm_add(table.get(), 9, value, 1));
        return netshm_testing_shared_stores() - start;
    };
    long long none = stores_of_ninth_key(NETSHM_NO_LOCKING);
    // The resize's three records (one a pass) and its clearing (two stores);
    // the add's record and its clearing (two); with mutex locking the
    // counter's two stores.
    CHECK(stores_of_ninth_key(NETSHM_RECORD_LOCKING) == none + 5 + 3);
    CHECK(stores_of_ninth_key(NETSHM_MUTEX_LOCKING) == none + 2 + 5 + 3);
}

} // namespace
