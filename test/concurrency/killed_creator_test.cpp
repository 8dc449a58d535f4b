// A process killed while it creates a table, or while it re-initialises one
// as the only mutex-mode user (issue 16, defect 11), leaves an object the
// next process opens: it finishes what was begun, or gets the documented
// error of an unfinished table, which a writable opener or init >= 0 fixes.
//
// The crash points are capi/testing.h's: a child kills itself just before
// its k-th store into shared memory, for every k of the operation.
#include "process_helpers.hpp"
#include "testing.h"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cstdint>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace {

using netshm_test::child;
using netshm_test::bound_test_time;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::scratch_names;
using netshm_test::table_ptr;

const char *method_name(netshm_locking locking)
{
    switch (locking) {
    case NETSHM_NO_LOCKING: return "no locking";
    case NETSHM_RECORD_LOCKING: return "record locking";
    case NETSHM_MUTEX_LOCKING: return "mutex locking";
    default: return "";
    }
}

// In a child: manages `path` (created if missing) with `locking`, page size
// `pagesize` and `init`, killing itself before its `kill_at`-th store (0:
// never).  Returns the stores it made, or -1.
long long manage_in_child(const std::string &path, netshm_locking locking, unsigned pagesize, long long init,
                          long long kill_at)
{
    netshm_descr *d = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, path.c_str(), O_RDWR | O_CREAT, 0600, &d) != NETSHM_OK)
        return -1;
    long long start = netshm_testing_shared_stores();
    netshm_testing_kill_before_store(kill_at);
    netshm_table *t = nullptr;
    if (netshm_manage(d, locking, pagesize, init, &t) != NETSHM_OK)
        return -1;
    return netshm_testing_shared_stores() - start;
}

// The stores of that operation, counted by a child that is not killed.
long long stores_of(const std::string &path, netshm_locking locking, unsigned pagesize, long long init)
{
    child counting(30, [&] { return std::to_string(manage_in_child(path, locking, pagesize, init, 0)); });
    long long stores = std::stoll(counting.finish());
    REQUIRE(stores > 0);
    return stores;
}

// Runs that operation in a child killed at its `kill_at`-th store.
void kill_at_store(const std::string &path, netshm_locking locking, unsigned pagesize, long long init,
                   long long kill_at)
{
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        netshm_test::arm_child(30);
        manage_in_child(path, locking, pagesize, init, kill_at);
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
}

constexpr int32_t prepared_keys = 30;

std::vector<int32_t> prepared_value(int32_t key) { return {key, key * 3, key * 5}; }

// Whether the table holds exactly the prepared bindings.
bool holds_prepared(netshm_table *table)
{
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(table, &length));
    if (length != prepared_keys)
        return false;
    for (int32_t key = 1; key <= prepared_keys; ++key) {
        int32_t found[3] = {};
        size_t len = 0;
        if (netshm_find_into(table, key, found, 3, &len) != NETSHM_OK ||
            std::vector<int32_t>(found, found + len) != prepared_value(key))
            return false;
    }
    return true;
}

// The documented messages of an unfinished table (doc/format.md).
bool names_unfinished(const std::string &message)
{
    return message.find("an unfinished table") != std::string::npos ||
           message.find("bytes are zero") != std::string::npos;
}

// A sound table that takes a new binding.
void check_usable(netshm_table *table)
{
    CHECK(netshm_check(table, nullptr, nullptr) == 0);
    const int32_t value[] = {42, 43};
    REQUIRE_NETSHM_OK(netshm_add(table, 77, value, 2));
    int32_t found[2] = {};
    size_t len = 0;
    REQUIRE_NETSHM_OK(netshm_find_into(table, 77, found, 2, &len));
    CHECK(len == 2);
    CHECK(found[1] == 43);
}

TEST_CASE("killed creator: the next process opens the object a creator killed at any store left",
          "[concurrency][initialisation][recovery]")
{
    bound_test_time(200);
    scratch_names names;
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_NO_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(method_name(locking));
    const long long stores = stores_of(names.fresh(NETSHM_TYPE_FILE), locking, 256, -1);
    for (long long k = 1; k <= stores; ++k) {
        CAPTURE(k, stores);
        const std::string path = names.fresh(NETSHM_TYPE_FILE);
        kill_at_store(path, locking, 256, -1, k);
        if (locking != NETSHM_MUTEX_LOCKING) {
            // A reader cannot finish the creation: it is told so, or sees the table.
            auto reader = open_ok(NETSHM_TYPE_FILE, path, O_RDONLY);
            netshm_table *read_only = nullptr;
            int rc = netshm_manage(reader.get(), locking, 0, -1, &read_only);
            if (rc == NETSHM_OK) {
                netshm_table_close(read_only);
            } else {
                CHECK(rc == NETSHM_ECORRUPT);
                CHECK(names_unfinished(netshm_last_error()));
            }
        }
        // A writer creates an unfinished table; an object still all zero
        // (nothing stored yet) needs init >= 0.
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
        netshm_table *opened = nullptr;
        int rc = netshm_manage(descr.get(), locking, 0, -1, &opened);
        if (rc != NETSHM_OK) {
            INFO(netshm_last_error());
            CHECK(rc == NETSHM_ECORRUPT);
            CHECK(std::string(netshm_last_error()).find("bytes are zero") != std::string::npos);
            REQUIRE_NETSHM_OK(netshm_manage(descr.get(), locking, 0, 100, &opened));
        }
        table_ptr table(opened);
        check_usable(table.get());
    }
}

TEST_CASE("killed creator: the only mutex-mode process killed at any store of a re-initialisation leaves a "
          "table the next one recovers",
          "[concurrency][initialisation][recovery][mutex]")
{
    bound_test_time(200);
    scratch_names names;
    // The same page size, and another one.
    const unsigned old_pagesize = GENERATE(256u, 512u);
    CAPTURE(old_pagesize);
    auto prepare = [&](const std::string &path) {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT);
        table_ptr table = manage_ok(descr.get(), old_pagesize, 40, NETSHM_MUTEX_LOCKING);
        for (int32_t key = 1; key <= prepared_keys; ++key) {
            std::vector<int32_t> value = prepared_value(key);
            REQUIRE_NETSHM_OK(netshm_add(table.get(), key, value.data(), value.size()));
        }
    };
    const std::string counted = names.fresh(NETSHM_TYPE_FILE);
    prepare(counted);
    const long long stores = stores_of(counted, NETSHM_MUTEX_LOCKING, 256, 20);
    int reinitialised = 0;
    for (long long k = 1; k <= stores; ++k) {
        CAPTURE(k, stores);
        const std::string path = names.fresh(NETSHM_TYPE_FILE);
        prepare(path);
        kill_at_store(path, NETSHM_MUTEX_LOCKING, 256, 20, k);
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
        netshm_table *opened = nullptr;
        REQUIRE_NETSHM_OK(netshm_manage(descr.get(), NETSHM_MUTEX_LOCKING, 0, -1, &opened));
        table_ptr table(opened);
        CHECK(netshm_check(table.get(), nullptr, nullptr) == 0);
        // Either untouched, or re-initialised (empty) by the recovery.
        size_t length = 0;
        REQUIRE_NETSHM_OK(netshm_length(table.get(), &length));
        CHECK((length == 0 || holds_prepared(table.get())));
        reinitialised += length == 0 ? 1 : 0;
        check_usable(table.get());
    }
    // Once its intent is recorded, the re-initialisation is finished.
    CHECK(reinitialised > 0);
}

} // namespace
