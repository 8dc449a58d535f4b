// Killed holders (issue 4): 20 rounds of a child process that begins a group,
// completes some writes (so that it holds write locks), tells the parent, and
// is killed with SIGKILL between operations.  The kernel drops its locks: the
// parent and another process write at once, the table stays readable, and a
// full read-back finds exactly the operations that completed, the killed
// child's included (a group is no transaction: nothing is rolled back).
#include "process_helpers.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace {

using netshm_test::bound_test_time;
using netshm_test::child;
using netshm_test::elapsed_ms;
using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::pipe_fds;
using netshm_test::probe_write_lock;
using netshm_test::receive_byte;
using netshm_test::scratch_names;

using value_t = std::vector<int32_t>;
// Every key's bindings, oldest first.
using model_t = std::map<int32_t, std::vector<value_t>>;

constexpr int rounds = 20;
constexpr unsigned pagesize = 256;
constexpr int32_t counter_key = 0;
constexpr int32_t parent_key = 1;
// A write that waits for locks a dead process held would show here.
constexpr double write_limit_ms = 2000;

void model_add(model_t &m, int32_t key, value_t value) { m[key].push_back(std::move(value)); }
void model_replace(model_t &m, int32_t key, value_t value)
{
    auto &stack = m[key];
    if (stack.empty())
        stack.push_back(std::move(value));
    else
        stack.back() = std::move(value);
}
void model_remove(model_t &m, int32_t key)
{
    auto found = m.find(key);
    if (found == m.end())
        return;
    found->second.pop_back();
    if (found->second.empty())
        m.erase(found);
}

int negate_callback(int32_t *frag, size_t len, void *)
{
    if (frag == nullptr)
        return NETSHM_BREAK;
    for (size_t i = 0; i < len; ++i)
        frag[i] = -frag[i];
    return NETSHM_CONTINUE;
}

// What the child of round r does inside its group, on `table`, or (with
// table == nullptr) the same on the model.  Returns a failure or "".
std::string holder_operations(int r, netshm_table *table, model_t *model)
{
    const int32_t base = 100 * (r + 1);
    std::string failure;
    auto check = [&](const char *what, int rc) {
        if (rc < 0 && failure.empty())
            failure = std::string(what) + ": " + netshm_strerror(rc) + ": " + netshm_last_error();
    };
    auto add = [&](int32_t key, value_t value) {
        if (table)
            check("add", netshm_add(table, key, value.data(), value.size()));
        else
            model_add(*model, key, std::move(value));
    };
    auto replace = [&](int32_t key, value_t value) {
        if (table)
            check("replace", netshm_replace(table, key, value.data(), value.size()));
        else
            model_replace(*model, key, std::move(value));
    };
    auto remove = [&](int32_t key) {
        if (table)
            check("remove", netshm_remove(table, key));
        else
            model_remove(*model, key);
    };
    switch (r % 4) {
    case 0:
        if (table)
            check("group_begin", netshm_group_begin(table));
        add(base, {base, 1});
        add(base, {base, 2});
        replace(counter_key, {r});
        break;
    case 1:
        if (table)
            check("group_begin_write", netshm_group_begin_write(table));
        replace(base, {base, 3});
        remove(base - 100);
        add(base + 1, value_t(300, base));  // 5 pages
        break;
    case 2:
        if (table) {
            check("group_begin", netshm_group_begin(table));
            check("group_begin (nested)", netshm_group_begin(table));
            check("mem", netshm_mem(table, counter_key));
        }
        add(base, {base});
        if (table)  // the outer group keeps every lock
            check("group_end (nested)", netshm_group_end(table));
        break;
    default:
        if (table)
            check("group_begin", netshm_group_begin(table));
        add(base, value_t(70, base));  // 2 pages
        if (table)
            check("write_blocks", netshm_write_blocks(table, 0, base, negate_callback, nullptr));
        else
            model->at(base).back() = value_t(70, -base);
        break;
    }
    return failure;
}

struct readback {
    model_t bindings;  // newest first, as iter gives them
    int failures = 0;
};

int collect(int32_t key, const int32_t *value, size_t len, void *ctx)
{
    static_cast<readback *>(ctx)->bindings[key].emplace_back(value, value + len);
    return 0;
}

// The table holds exactly the model: every binding (iter), every newest
// binding (find), and the count.
void check_table(netshm_table *table, const model_t &model)
{
    readback seen;
    REQUIRE_NETSHM_OK(netshm_iter(table, collect, &seen));
    for (auto &[key, stack] : seen.bindings)
        std::reverse(stack.begin(), stack.end());  // oldest first, as the model
    CHECK(seen.bindings == model);
    size_t expected_length = 0;
    for (const auto &[key, stack] : model) {
        expected_length += stack.size();
        int32_t *value = nullptr;
        size_t len = 0;
        INFO("key " << key);
        REQUIRE_NETSHM_OK(netshm_find(table, key, &value, &len));
        CHECK(value_t(value, value + len) == stack.back());
        netshm_free(value);
    }
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(table, &length));
    CHECK(length == expected_length);
}

TEST_CASE("killed holders: a process killed inside a group, holding write locks, blocks nobody and leaves its "
          "completed operations",
          "[concurrency]")
{
    bound_test_time(90);
    scratch_names names;
    const std::string name = names.fresh(NETSHM_TYPE_FILE);
    auto descr = open_ok(NETSHM_TYPE_FILE, name, O_RDWR | O_CREAT | O_EXCL);
    auto table = manage_ok(descr.get(), pagesize, 16);
    model_t model;
    const off_t descriptor_byte = pagesize / 4;  // page 1 x W

    for (int r = 0; r < rounds; ++r) {
        CAPTURE(r);
        pipe_fds ready;
        child holder(30, [&]() -> std::string {
            ready.close_read();
            netshm_descr *d = nullptr;
            netshm_table *t = nullptr;
            if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
                netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK)
                return std::string("open/manage: ") + netshm_last_error();
            std::string failure = holder_operations(r, t, nullptr);
            if (!failure.empty())
                return failure;
            netshm_test::send_byte(ready.write_end(), 'h');
            // Holds its locks until it is killed.
            for (;;)
                ::pause();
        });
        ready.close_write();
        REQUIRE(receive_byte(ready.read_end(), 10000) == 'h');

        // The child really holds the descriptor page's write lock.
        const auto probe = probe_write_lock(name, descriptor_byte);
        CHECK(probe.type == F_WRLCK);
        CHECK(probe.holder == holder.pid());

        holder.kill_now();
        holder_operations(r, nullptr, &model);

        // This process writes at once...
        const auto start = std::chrono::steady_clock::now();
        const value_t mine{r, r};
        REQUIRE_NETSHM_OK(netshm_replace(table.get(), parent_key, mine.data(), mine.size()));
        CHECK(elapsed_ms(start) < write_limit_ms);
        model_replace(model, parent_key, mine);

        // ... and so does another process.
        const int32_t peer_key = 50000 + r;
        child peer(10, [&]() -> std::string {
            netshm_descr *d = nullptr;
            netshm_table *t = nullptr;
            const value_t v{peer_key, r};
            if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &d) != NETSHM_OK ||
                netshm_manage(d, NETSHM_RECORD_LOCKING, 0, -1, &t) != NETSHM_OK ||
                netshm_add(t, peer_key, v.data(), v.size()) != NETSHM_OK)
                return std::string("peer: ") + netshm_last_error();
            netshm_table_close(t);
            netshm_close(d);
            return std::string();
        });
        REQUIRE(peer.exited_within(static_cast<int>(write_limit_ms)));
        CHECK(peer.finish().empty());
        model_add(model, peer_key, {peer_key, r});

        check_table(table.get(), model);
    }

    // A fresh handle reads the same.
    auto again = open_ok(NETSHM_TYPE_FILE, name, O_RDONLY);
    auto fresh = manage_ok(again.get());
    check_table(fresh.get(), model);
}

} // namespace
