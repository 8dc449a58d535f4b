// netshm_open_posix_lockfile (issue 4, DESIGN §7): a POSIX object whose
// record locks live on a companion file, as OCamlnet 4.1.9 names them.  Two
// processes increment counters under netshm_group_write → exact totals; the
// locks are on the lock file, not on the object; netshm_unlink_posix_lockfile
// removes both names.
#include "process_helpers.hpp"
#include "os_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::exists;
using netshm_test::manage_ok;
using netshm_test::pipe_fds;
using netshm_test::probe_write_lock;
using netshm_test::receive_byte;
using netshm_test::scratch_names;
using netshm_test::send_byte;
using netshm_test::table_ptr;

constexpr int counters = 16;
constexpr int processes = 2;
constexpr int iterations = 3000;
constexpr unsigned pagesize = 256;
constexpr off_t descriptor_byte = pagesize / 4;

int counter_of(int process, int iteration) { return (process * 5 + iteration) % counters; }

int increment(netshm_table *table, void *ctx)
{
    const int32_t key = *static_cast<int32_t *>(ctx);
    int32_t value[2];
    size_t len = 0;
    int rc = netshm_find_into(table, key, value, 2, &len);
    if (rc != NETSHM_OK)
        return rc;
    if (len != 2 || value[0] != key)
        return -100;
    value[1] += 1;
    return netshm_replace(table, key, value, 2);
}

netshm_descr *open_lockfile_ok(const std::string &shm, const std::string &lock_file, int oflags)
{
    netshm_descr *descr = nullptr;
    REQUIRE_NETSHM_OK(netshm_open_posix_lockfile(shm.c_str(), lock_file.c_str(), oflags, 0600, &descr));
    REQUIRE(descr != nullptr);
    return descr;
}

TEST_CASE("lock file: two processes increment counters under group_write with exact totals", "[concurrency]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string shm = names.fresh(NETSHM_TYPE_POSIX);
    const std::string lock_file = names.fresh(NETSHM_TYPE_FILE);
    netshm_test::descr_ptr descr(open_lockfile_ok(shm, lock_file, O_RDWR | O_CREAT | O_EXCL));
    CHECK(netshm_descr_type(descr.get()) == NETSHM_TYPE_POSIX);
    CHECK(std::string(netshm_name(descr.get())) == shm);
    table_ptr table = manage_ok(descr.get(), pagesize, 1);
    for (int32_t c = 0; c < counters; ++c) {
        const int32_t zero[2] = {c, 0};
        REQUIRE_NETSHM_OK(netshm_add(table.get(), c, zero, 2));
    }

    std::vector<std::unique_ptr<child>> children;
    for (int p = 0; p < processes; ++p)
        children.push_back(std::make_unique<child>(50, [&, p]() -> std::string {
            netshm_descr *d = nullptr;
            netshm_table *t = nullptr;
            if (netshm_open_posix_lockfile(shm.c_str(), lock_file.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
                netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK)
                return std::string("open/manage: ") + netshm_last_error();
            std::string failure;
            for (int i = 0; i < iterations && failure.empty(); ++i) {
                int32_t key = counter_of(p, i);
                if (int rc = netshm_group_write(t, increment, &key); rc != NETSHM_OK)
                    failure = "iteration " + std::to_string(i) + ": " + netshm_strerror(rc) + ": " +
                              netshm_last_error();
                // Keys of its own, so that the table grows meanwhile.
                const int32_t own = 1000 + p * iterations + i;
                if (i % 4 == 0 && failure.empty() && netshm_add(t, own, &own, 1) != NETSHM_OK)
                    failure = std::string("add: ") + netshm_last_error();
            }
            netshm_table_close(t);
            netshm_close(d);
            return failure;
        }));
    for (auto &c : children)
        CHECK(c->finish().empty());

    std::map<int, int32_t> expected;
    for (int p = 0; p < processes; ++p)
        for (int i = 0; i < iterations; ++i)
            ++expected[counter_of(p, i)];
    int64_t sum = 0;
    for (int32_t c = 0; c < counters; ++c) {
        int32_t value[2];
        size_t len = 0;
        REQUIRE_NETSHM_OK(netshm_find_into(table.get(), c, value, 2, &len));
        CHECK(len == 2);
        CHECK(value[1] == expected[c]);
        sum += value[1];
    }
    CHECK(sum == processes * iterations);
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(table.get(), &length));
    CHECK(length == counters + processes * ((iterations + 3) / 4));

    // The locks are taken on the lock file, at OCamlnet's offsets, and not on
    // the object.
    REQUIRE_NETSHM_OK(netshm_group_begin_write(table.get()));
    auto on_lock_file = probe_write_lock(lock_file, descriptor_byte);
    auto on_object = probe_write_lock(scratch_names::path_of(NETSHM_TYPE_POSIX, shm), descriptor_byte);
    REQUIRE_NETSHM_OK(netshm_group_end(table.get()));
    CHECK(on_lock_file.type == F_WRLCK);
    CHECK(on_lock_file.holder == ::getpid());
    CHECK(on_object.type == F_UNLCK);
    auto after = probe_write_lock(lock_file, descriptor_byte);
    CHECK(after.type == F_UNLCK);
}

TEST_CASE("lock file: a process holding the lock file's lock in a group excludes another process's write",
          "[concurrency]")
{
    bound_test_time(60);
    scratch_names names;
    const std::string shm = names.fresh(NETSHM_TYPE_POSIX);
    const std::string lock_file = names.fresh(NETSHM_TYPE_FILE);
    netshm_test::descr_ptr descr(open_lockfile_ok(shm, lock_file, O_RDWR | O_CREAT | O_EXCL));
    table_ptr table = manage_ok(descr.get(), pagesize, 16);
    const int32_t one = 1;
    REQUIRE_NETSHM_OK(netshm_add(table.get(), 1, &one, 1));

    REQUIRE_NETSHM_OK(netshm_group_begin(table.get()));
    REQUIRE(netshm_mem(table.get(), 1) == 1);
    pipe_fds started;
    child writer(30, [&]() -> std::string {
        netshm_descr *d = nullptr;
        netshm_table *t = nullptr;
        const int32_t two = 2;
        if (netshm_open_posix_lockfile(shm.c_str(), lock_file.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
            netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK)
            return std::string("open/manage: ") + netshm_last_error();
        send_byte(started.write_end());
        if (netshm_replace(t, 1, &two, 1) != NETSHM_OK)
            return std::string("replace: ") + netshm_last_error();
        netshm_table_close(t);
        netshm_close(d);
        return std::string();
    });
    REQUIRE(receive_byte(started.read_end(), 10000));
    // The reader's group holds the descriptor page's read lock: the write waits.
    CHECK_FALSE(writer.exited_within(300));
    int32_t value = 0;
    size_t len = 0;
    REQUIRE_NETSHM_OK(netshm_find_into(table.get(), 1, &value, 1, &len));
    CHECK(value == 1);
    REQUIRE_NETSHM_OK(netshm_group_end(table.get()));
    REQUIRE(writer.exited_within(5000));
    CHECK(writer.finish().empty());
    REQUIRE_NETSHM_OK(netshm_find_into(table.get(), 1, &value, 1, &len));
    CHECK(value == 2);
}

TEST_CASE("lock file: netshm_unlink_posix_lockfile removes the object and the lock file", "[concurrency]")
{
    scratch_names names;
    const std::string shm = names.fresh(NETSHM_TYPE_POSIX);
    const std::string lock_file = names.fresh(NETSHM_TYPE_FILE);
    const std::string shm_path = scratch_names::path_of(NETSHM_TYPE_POSIX, shm);
    {
        netshm_test::descr_ptr descr(open_lockfile_ok(shm, lock_file, O_RDWR | O_CREAT | O_EXCL));
        table_ptr table = manage_ok(descr.get(), 0, 16);
    }
    REQUIRE(exists(shm_path));
    REQUIRE(exists(lock_file));

    REQUIRE_NETSHM_OK(netshm_unlink_posix_lockfile(shm.c_str(), lock_file.c_str()));
    CHECK_FALSE(exists(shm_path));
    CHECK_FALSE(exists(lock_file));
    CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_unlink_posix_lockfile(shm.c_str(), lock_file.c_str()));

    SECTION("only the lock file is left: it is removed, and the missing object reported")
    {
        netshm_test::descr_ptr descr(open_lockfile_ok(shm, lock_file, O_RDWR | O_CREAT | O_EXCL));
        REQUIRE_NETSHM_OK(netshm_unlink(NETSHM_TYPE_POSIX, shm.c_str()));
        CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_unlink_posix_lockfile(shm.c_str(), lock_file.c_str()));
        CHECK_FALSE(exists(lock_file));
    }
    SECTION("only the object is left: it is removed, and the missing lock file reported")
    {
        netshm_test::descr_ptr descr(open_lockfile_ok(shm, lock_file, O_RDWR | O_CREAT | O_EXCL));
        REQUIRE(::unlink(lock_file.c_str()) == 0);
        CHECK_NETSHM_ERR(NETSHM_ENOTFOUND, netshm_unlink_posix_lockfile(shm.c_str(), lock_file.c_str()));
        CHECK_FALSE(exists(shm_path));
    }
}

// A bad object name is refused before anything is removed.
TEST_CASE("lock file: netshm_unlink_posix_lockfile with a bad name removes nothing", "[concurrency]")
{
    scratch_names names;
    const std::string shm = names.fresh(NETSHM_TYPE_POSIX);
    const std::string lock_file = names.fresh(NETSHM_TYPE_FILE);
    const std::string shm_path = scratch_names::path_of(NETSHM_TYPE_POSIX, shm);
    netshm_test::descr_ptr descr(open_lockfile_ok(shm, lock_file, O_RDWR | O_CREAT | O_EXCL));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_unlink_posix_lockfile(shm.c_str(), ""));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_unlink_posix_lockfile(nullptr, lock_file.c_str()));
    CHECK(exists(shm_path));
    CHECK(exists(lock_file));
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_unlink_posix_lockfile("no-slash", lock_file.c_str()));
    CHECK(exists(lock_file));
    CHECK(exists(shm_path));
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_unlink_posix_lockfile(shm.c_str(), lock_file.c_str()));
}

} // namespace
