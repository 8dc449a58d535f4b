// The mutations the recovery tests crash in (mutex_recovery_test.cpp,
// record_recovery_test.cpp): tables built for each, their contents, and
// children killed by the crash point of capi/testing.h.
#pragma once

#include "process_helpers.hpp"
#include "testing.h"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace recovery_scenarios {

using netshm_test::arm_child;
using netshm_test::child;
using netshm_test::open_ok;
using netshm_test::table_ptr;

using value = std::vector<int32_t>;
// Every key's bindings, newest first.
using contents = std::map<int32_t, std::vector<value>>;

inline contents read_contents(netshm_table *table)
{
    contents all;
    REQUIRE_NETSHM_OK(netshm_iter(
        table,
        [](int32_t key, const int32_t *words, size_t len, void *ctx) {
            (*static_cast<contents *>(ctx))[key].emplace_back(words, words + len);
            return 0;
        },
        &all));
    return all;
}

inline size_t bindings_in(const contents &all)
{
    size_t count = 0;
    for (const auto &[key, values] : all)
        count += values.size();
    return count;
}

inline value make_value(int32_t seed, size_t length)
{
    value v(length);
    for (size_t i = 0; i < length; ++i)
        v[i] = seed * 1000 + static_cast<int32_t>(i);
    return v;
}

inline int add_value(netshm_table *table, int32_t key, const value &v)
{
    return netshm_add(table, key, v.data(), v.size());
}

// A write_blocks call that removes the `victim`-th binding (0 = newest) of its key.
inline int remove_binding_at(netshm_table *table, int32_t key, int victim)
{
    struct walk {
        int index;
        int victim;
    } state{0, victim};
    return netshm_write_blocks(
        table, NETSHM_OP_REMOVE_BINDING, key,
        [](int32_t *frag, size_t, void *ctx) -> int {
            auto *w = static_cast<walk *>(ctx);
            if (frag != nullptr)
                return w->index == w->victim ? NETSHM_REMOVE_BINDING : NETSHM_CONTINUE;
            return w->index++ == w->victim ? NETSHM_BREAK : NETSHM_CONTINUE;
        },
        &state);
}

// One mutation to crash in, on a table built by `fill`.  A child runs `op`
// on a table it manages (with `manage_hint` >= 0: the op is that
// re-initialising netshm_manage itself).
struct scenario {
    const char *name;
    long long init;
    std::function<void(netshm_table *)> fill;
    std::function<int(netshm_table *)> op;
    long long manage_hint = -1;
};

inline void fill_keys(netshm_table *table, int32_t count, size_t length)
{
    for (int32_t key = 1; key <= count; ++key)
        REQUIRE_NETSHM_OK(add_value(table, key, make_value(key, length)));
}

inline std::vector<scenario> scenarios()
{
    std::vector<scenario> all;
    all.push_back({"add into a fresh cell", 50, [](netshm_table *t) { fill_keys(t, 6, 3); },
                   [](netshm_table *t) { return add_value(t, 40, make_value(40, 50)); }});
    all.push_back({"add stacking on a bound key", 50,
                   [](netshm_table *t) {
                       fill_keys(t, 6, 3);
                       REQUIRE_NETSHM_OK(add_value(t, 3, make_value(33, 2)));
                   },
                   [](netshm_table *t) { return add_value(t, 3, make_value(34, 70)); }});
    // 16 free pages after the table's first growth; a value of 25 pages
    // takes all of them and 9 of the next growth's.
    all.push_back({"add that grows the object", 50, [](netshm_table *t) { fill_keys(t, 4, 1); },
                   [](netshm_table *t) { return add_value(t, 41, make_value(41, 25 * 60)); }});
    // Hint 4 at page size 256: one hash page of 15 cells, resized when the
    // 8th key claims a cell.
    all.push_back({"add that resizes the hash table", 4, [](netshm_table *t) { fill_keys(t, 8, 2); },
                   [](netshm_table *t) { return add_value(t, 42, make_value(42, 2)); }});
    all.push_back({"replace", 50,
                   [](netshm_table *t) {
                       fill_keys(t, 6, 3);
                       REQUIRE_NETSHM_OK(add_value(t, 2, make_value(22, 130)));
                   },
                   [](netshm_table *t) {
                       value v = make_value(23, 90);
                       return netshm_replace(t, 2, v.data(), v.size());
                   }});
    all.push_back({"replace that grows the object", 50, [](netshm_table *t) { fill_keys(t, 4, 1); },
                   [](netshm_table *t) {
                       value v = make_value(24, 25 * 60);
                       return netshm_replace(t, 2, v.data(), v.size());
                   }});
    all.push_back({"remove", 50,
                   [](netshm_table *t) {
                       fill_keys(t, 6, 3);
                       REQUIRE_NETSHM_OK(add_value(t, 5, make_value(55, 140)));
                   },
                   [](netshm_table *t) { return netshm_remove(t, 5); }});
    auto three_bindings = [](netshm_table *t) {
        fill_keys(t, 6, 3);
        REQUIRE_NETSHM_OK(add_value(t, 4, make_value(44, 80)));
        REQUIRE_NETSHM_OK(add_value(t, 4, make_value(45, 2)));
    };
    all.push_back({"write_blocks removing the newest binding", 50, three_bindings,
                   [](netshm_table *t) { return remove_binding_at(t, 4, 0); }});
    all.push_back({"write_blocks removing an older binding", 50, three_bindings,
                   [](netshm_table *t) { return remove_binding_at(t, 4, 1); }});
    all.push_back({"re-initialisation", 50, [](netshm_table *t) { fill_keys(t, 6, 3); }, nullptr, 20});
    return all;
}

// The bytes of a file, to restore it for each crash.
inline std::string read_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    std::string bytes(static_cast<std::size_t>(in.tellg()), '\0');
    in.seekg(0);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(in.good());
    return bytes;
}

inline void write_file(const std::string &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

// Words of page 0's lock area, as doc/locking.md lays them out.
constexpr int intent_op_word = 20;
constexpr int intent_pagesize_word = 39;

inline void write_words(const std::string &path, int first_word, const std::vector<int32_t> &words)
{
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(first_word * 4);
    file.write(reinterpret_cast<const char *>(words.data()), static_cast<std::streamsize>(words.size() * 4));
    REQUIRE(file.good());
}

inline std::vector<int32_t> read_words(const std::string &path, long long first_word, int count)
{
    std::ifstream file(path, std::ios::binary);
    std::vector<int32_t> words(static_cast<std::size_t>(count));
    file.seekg(first_word * 4);
    file.read(reinterpret_cast<char *>(words.data()), count * 4);
    REQUIRE(file.good());
    return words;
}

// Forks a child that runs body() and exits; returns its wait status.
inline int status_of_child(const std::function<void()> &body)
{
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        arm_child(30);
        body();
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return status;
}

inline bool killed(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL; }


inline table_ptr manage_with(netshm_descr *descr, netshm_locking locking, long long init = -1)
{
    netshm_table *table = nullptr;
    REQUIRE_NETSHM_OK(netshm_manage(descr, locking, 256, init, &table));
    return table_ptr(table);
}

// In a child: arms the crash point at `kill_at` stores from now (0: none),
// manages `path` with `locking` (the parent may have it open) and runs the
// scenario's operation.  Returns the number of stores it made, or -1.
inline long long run_operation(const scenario &s, const std::string &path, netshm_locking locking, long long kill_at)
{
    netshm_descr *d = nullptr;
    netshm_table *t = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, path.c_str(), O_RDWR, 0, &d) != NETSHM_OK)
        return -1;
    long long start = netshm_testing_shared_stores();
    netshm_testing_kill_before_store(kill_at);
    if (netshm_manage(d, locking, 256, s.manage_hint, &t) != NETSHM_OK)
        return -1;
    if (s.op && s.op(t) != NETSHM_OK)
        return -1;
    return netshm_testing_shared_stores() - start;
}

// A table of the scenario, as file bytes, and what it holds before and after
// the operation.
struct prepared {
    std::string image;
    contents before;
    contents after;
};

inline prepared prepare(const scenario &s, const std::string &path, netshm_locking locking)
{
    prepared p;
    {
        auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_TRUNC);
        table_ptr table = manage_with(descr.get(), locking, s.init);
        s.fill(table.get());
        p.before = read_contents(table.get());
    }
    p.image = read_file(path);
    auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
    table_ptr table = manage_with(descr.get(), locking, s.manage_hint);
    if (s.op)
        REQUIRE_NETSHM_OK(s.op(table.get()));
    p.after = read_contents(table.get());
    REQUIRE(p.before != p.after);
    return p;
}

// The stores a child makes for the scenario's operation on the table of
// `p`, the parent holding it open through `descr`.
inline long long stores_of(const scenario &s, const std::string &path, const prepared &p, netshm_descr *descr,
                           netshm_locking locking)
{
    write_file(path, p.image);
    table_ptr holder = manage_with(descr, locking);
    child counting(30, [&] { return std::to_string(run_operation(s, path, locking, 0)); });
    long long stores = std::stoll(counting.finish());
    REQUIRE(stores > 0);
    return stores;
}

// Kills a child running `s` with `locking` at each of its stores in turn, on
// the scenario's table restored each time.  With `hold_open` the parent
// manages the table (through `descr`) across the kill, so that a process of
// its own recovers; `after_kill(k, p, descr, held)` judges each kill
// (`held` empty without `hold_open`).  Returns the stores.
template <class AfterKill>
long long kill_at_every_store(const scenario &s, const std::string &path, netshm_locking locking, bool hold_open,
                              AfterKill after_kill)
{
    const prepared p = prepare(s, path, locking);
    auto descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR);
    const long long stores = stores_of(s, path, p, descr.get(), locking);
    for (long long k = 1; k <= stores; ++k) {
        CAPTURE(k, stores);
        write_file(path, p.image);
        table_ptr held = hold_open ? manage_with(descr.get(), locking) : table_ptr();
        REQUIRE(killed(status_of_child([&] { run_operation(s, path, locking, k); })));
        after_kill(k, p, descr.get(), held);
    }
    return stores;
}

} // namespace recovery_scenarios
