// Groups of the C API's tables: netshm_group nests and passes its body's value
// through, netshm_group_begin and netshm_group_end pair up, bad arguments, and
// ending a group from another thread is a prompt error.
#include "table_api_support.hpp"
#include "netshm_test_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <chrono>
#include <climits>
#include <fcntl.h>
#include <future>
#include <string>
#include <utility>
#include <vector>

using namespace table_api;

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

namespace {

// netshm_group_end(t) on a thread of its own: its code and that thread's
// netshm_last_error().
using group_end_answer = std::pair<int, std::string>;
std::future<group_end_answer> group_end_elsewhere(netshm_table *t)
{
    return std::async(std::launch::async, [t] {
        const int rc = netshm_group_end(t);
        return group_end_answer{rc, netshm_last_error()};
    });
}

// Whether it answered within two seconds; if not, it is left to finish once
// the group's own thread ends the group.
bool answers_promptly(std::future<group_end_answer> &answer)
{
    return answer.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
}

} // namespace

TEST_CASE("table: ending a group from another thread fails at once and the group stays open",
          "[table][group]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    const bool write = GENERATE(false, true);
    CAPTURE(locking, write);
    scratch_table st(160, 10, locking);
    netshm_table *t = st.get();
    REQUIRE_NETSHM_OK(write ? netshm_group_begin_write(t) : netshm_group_begin(t));

    std::future<group_end_answer> answer = group_end_elsewhere(t);
    const bool prompt = answers_promptly(answer);
    CHECK(prompt);
    if (prompt) {
        const auto [rc, message] = answer.get();
        CHECK_NETSHM_ERR(NETSHM_EINVAL, rc);
        CHECK(message.find("thread") != std::string::npos);
    }
    // Still the group of this thread.
    add_ok(t, 1, {1});
    CHECK_NETSHM_ERR(NETSHM_OK, netshm_group_end(t));
    if (!prompt)
        answer.wait();
    CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_group_end(t));
    CHECK(find_value(t, 1) == value_t{1});

    SECTION("a handle without a group, while another handle's group is open")
    {
        netshm_test::descr_ptr other_descr = netshm_test::open_ok(NETSHM_TYPE_POSIX, st.name, O_RDWR);
        table_ptr other = manage_ok(other_descr.get(), 0, -1, locking);
        REQUIRE_NETSHM_OK(netshm_group_begin(t));
        std::future<group_end_answer> other_answer = group_end_elsewhere(other.get());
        CHECK(answers_promptly(other_answer));
        CHECK_NETSHM_ERR(NETSHM_OK, netshm_group_end(t));
        CHECK_NETSHM_ERR(NETSHM_EINVAL, other_answer.get().first);
    }
}
