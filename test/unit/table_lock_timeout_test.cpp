// Lock timeouts (netshm_set_lock_timeout, netshm_descr_set_lock_timeout), in
// record and mutex locking: a child process holds a write group; a wait for
// it that runs out is NETSHM_ETIMEDOUT after about the timeout, holding no
// lock, and the table works afterwards; a holder that lets go in time is
// waited for; 0 waits for ever; netshm_manage's own waits time out too.
#include "child_process.hpp"
#include "table_api_support.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <fcntl.h>
#include <future>
#include <string>
#include <thread>

using namespace table_api;
using netshm_test::child;
using netshm_test::child_channel;

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How much later than its timeout a wait may end on a loaded machine.
constexpr milliseconds lateness{700};

std::string code_text(const char *call, int rc)
{
    return std::string(call) + " " + std::to_string(rc) + " " + netshm_last_error();
}

// In a child: the object managed with `locking`, inside a write group.  The
// handles stay open until the child exits.
void enter_write_group(const scratch_table &st, netshm_locking locking, const child_channel &channel)
{
    netshm_descr *descr = nullptr;
    netshm_table *t = nullptr;
    int rc = netshm_open(st.type, st.name.c_str(), O_RDWR, 0, &descr);
    if (rc == NETSHM_OK)
        rc = netshm_manage(descr, locking, 0, -1, &t);
    if (rc == NETSHM_OK)
        rc = netshm_group_begin_write(t);
    channel.say(rc == NETSHM_OK ? "held" : code_text("holder", rc));
}

// A child holding a write group on st until the parent says go (or, with
// `hold_for` > 0, for that long), then ending it.
child write_group_holder(const scratch_table &st, netshm_locking locking, milliseconds hold_for = milliseconds{0})
{
    return child(30, [&st, locking, hold_for](const child_channel &channel) {
        enter_write_group(st, locking, channel);
        if (hold_for.count() > 0)
            std::this_thread::sleep_for(hold_for);
        else
            channel.await();
        // Exiting releases the group in both modes (record locks and the robust mutex).
    });
}

// What a process that never held the table gets for a write group, waiting at most 1 s.
std::string write_group_elsewhere(const scratch_table &st, netshm_locking locking)
{
    child other(30, [&st, locking]() -> std::string {
        netshm_descr *descr = nullptr;
        netshm_table *t = nullptr;
        int rc = netshm_open(st.type, st.name.c_str(), O_RDWR, 0, &descr);
        if (rc == NETSHM_OK)
            rc = netshm_manage(descr, locking, 0, -1, &t);
        if (rc == NETSHM_OK)
            rc = netshm_set_lock_timeout(t, 1000);
        if (rc == NETSHM_OK)
            rc = netshm_group_begin_write(t);
        if (rc == NETSHM_OK)
            rc = netshm_group_end(t);
        return rc == NETSHM_OK ? "ok" : code_text("other", rc);
    });
    return other.finish();
}

milliseconds since(clock_type::time_point start)
{
    return std::chrono::duration_cast<milliseconds>(clock_type::now() - start);
}

const value_t one_word{1};

// How long netshm_add of one word to `key` took, checking its code.
milliseconds timed_add(netshm_table *t, int32_t key, int expected)
{
    const auto start = clock_type::now();
    CHECK_NETSHM_ERR(expected, netshm_add(t, key, one_word.data(), one_word.size()));
    return since(start);
}

// A wait that lasted its timeout: not less, not much more.
void check_lasted(milliseconds waited, milliseconds timeout)
{
    CHECK(waited >= timeout);
    CHECK(waited < timeout + lateness);
}

} // namespace

TEST_CASE("lock timeout: a wait that runs out is NETSHM_ETIMEDOUT after about the timeout, and holds nothing",
          "[table][timeout]")
{
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    INFO("locking " << locking);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    add_ok(t, 1, one_word);
    REQUIRE_NETSHM_OK(netshm_set_lock_timeout(t, 300));
    {
        child holder = write_group_holder(st, locking);
        REQUIRE(holder.line() == "held");

        for (int attempt = 0; attempt < 2; ++attempt) {
            const milliseconds waited = timed_add(t, 2, NETSHM_ETIMEDOUT);
            CHECK_THAT(netshm_last_error(), Catch::Matchers::Contains("lock wait timed out after 300 ms"));
            check_lasted(waited, milliseconds{300});
        }
        const auto start = clock_type::now();
        CHECK_NETSHM_ERR(NETSHM_ETIMEDOUT, netshm_group_begin_write(t));
        CHECK(since(start) >= milliseconds{300});
        // No group was left open by the failed begin.
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_end(t));
        holder.go();
        holder.finish();
    }
    // The table works, and the timed-out waits left no lock behind.
    add_ok(t, 3, one_word);
    CHECK(find_value(t, 1) == one_word);
    CHECK_NETSHM_ERR(0, netshm_mem(t, 2));
    CHECK(write_group_elsewhere(st, locking) == "ok");
}

TEST_CASE("lock timeout: a lock released before the timeout is acquired", "[table][timeout]")
{
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    INFO("locking " << locking);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    REQUIRE_NETSHM_OK(netshm_set_lock_timeout(t, 5000));
    child holder = write_group_holder(st, locking, milliseconds{300});
    REQUIRE(holder.line() == "held");

    const milliseconds waited = timed_add(t, 2, NETSHM_OK);
    CHECK(waited >= milliseconds{200});
    CHECK(waited < milliseconds{300} + lateness);
    holder.finish();
    CHECK(find_value(t, 2) == one_word);
}

TEST_CASE("lock timeout: 0 waits for ever", "[table][timeout]")
{
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    INFO("locking " << locking);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    REQUIRE_NETSHM_OK(netshm_set_lock_timeout(t, 100));
    REQUIRE_NETSHM_OK(netshm_set_lock_timeout(t, 0));
    // The holder lets go after ten times the timeout set first.
    child holder = write_group_holder(st, locking, milliseconds{1000});
    REQUIRE(holder.line() == "held");

    CHECK(timed_add(t, 2, NETSHM_OK) >= milliseconds{900});
    holder.finish();
}

TEST_CASE("lock timeout: netshm_manage's own wait times out, and its tables start with the descriptor's timeout",
          "[table][timeout]")
{
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    // Opening the table reads it under its lock; re-initialising waits for every holder.
    const long long init = GENERATE(-1LL, 10LL);
    INFO("locking " << locking << ", init " << init);
    scratch_table st(160, 10, locking);
    netshm_test::descr_ptr descr = netshm_test::open_ok(st.type, st.name, O_RDWR);
    REQUIRE_NETSHM_OK(netshm_descr_set_lock_timeout(descr.get(), 300));
    {
        child holder = write_group_holder(st, locking);
        REQUIRE(holder.line() == "held");
        netshm_table *out = nullptr;
        const auto start = clock_type::now();
        CHECK_NETSHM_ERR(NETSHM_ETIMEDOUT, netshm_manage(descr.get(), locking, 0, init, &out));
        check_lasted(since(start), milliseconds{300});
        CHECK(out == nullptr);
        holder.go();
        holder.finish();
    }
    table_ptr managed = manage_ok(descr.get(), 0, -1, locking);
    child holder = write_group_holder(st, locking);
    REQUIRE(holder.line() == "held");
    check_lasted(timed_add(managed.get(), 2, NETSHM_ETIMEDOUT), milliseconds{300});
    holder.go();
    holder.finish();
    CHECK(write_group_elsewhere(st, locking) == "ok");
}

TEST_CASE("lock timeout: a wait for another thread's group of this process times out", "[table][timeout]")
{
    const netshm_locking locking = GENERATE(NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    INFO("locking " << locking);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    REQUIRE_NETSHM_OK(netshm_set_lock_timeout(t, 200));
    REQUIRE_NETSHM_OK(netshm_group_begin_write(t));
    // Catch2's checks run on this thread: the other one only measures.
    auto elsewhere = std::async(std::launch::async, [t] {
        const auto start = clock_type::now();
        const int rc = netshm_add(t, 2, one_word.data(), one_word.size());
        return std::make_pair(rc, since(start));
    });
    const auto [rc, waited] = elsewhere.get();
    CHECK(rc == NETSHM_ETIMEDOUT);
    check_lasted(waited, milliseconds{200});
    REQUIRE_NETSHM_OK(netshm_group_end(t));
    add_ok(t, 3, one_word);
}
