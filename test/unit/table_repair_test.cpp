// netshm_repair: a sound table is left as it is; pages a killed writer took
// are reclaimed, damaged bindings dropped and counted, the others kept in
// their per-key order, in every locking mode; and after a writer killed at
// any store of an add, replace, remove or hash resize with record locking,
// repair leaves a sound table holding every committed binding; a repair
// killed at any store is finished by the next one, with the same bindings.
#include "netshm_test_helpers.hpp"
#include "testing.h"

#include <catch2/catch.hpp>
#include <netshm.h>
#include <netshm.hpp>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using netshm_test::manage_ok;
using netshm_test::open_ok;
using netshm_test::scratch_names;
using netshm_test::table_ptr;

using value_t = std::vector<int32_t>;
// Each key's bindings, newest first.
using contents_t = std::map<int32_t, std::vector<value_t>>;

constexpr int32_t content_magic = static_cast<int32_t>(0x12DE9F67u);
constexpr int32_t followup_magic = static_cast<int32_t>(0xDE9F6712u);
enum descriptor_word { d_claimed = 3, d_bindings = 4, d_free_head = 5, d_free_count = 6 };

value_t value_of(int32_t seed, size_t len)
{
    value_t v(len);
    for (size_t i = 0; i < len; ++i)
        v[i] = seed * 1000 + static_cast<int32_t>(i);
    return v;
}

const char *locking_name(netshm_locking locking)
{
    return locking == NETSHM_NO_LOCKING ? "none" : locking == NETSHM_RECORD_LOCKING ? "record" : "mutex";
}

// A table in a file of pages of 160 bytes (values of more than 33 words take
// follow-up pages), damaged in place through its mapping.
struct repair_fixture {
    explicit repair_fixture(netshm_locking method, long long init = 20) : locking(method)
    {
        path = names.fresh(NETSHM_TYPE_FILE);
        descr = open_ok(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_EXCL);
        table = manage_ok(descr.get(), 160, init, locking);
    }
    netshm_table *get() const { return table.get(); }
    void add(int32_t key, const value_t &v) { REQUIRE_NETSHM_OK(netshm_add(get(), key, v.data(), v.size())); }

    int32_t *page(int32_t number)
    {
        int32_t *base = nullptr;
        size_t pages = 0, wpp = 0;
        REQUIRE_NETSHM_OK(netshm_memory(get(), &base, &pages, &wpp));
        REQUIRE(static_cast<size_t>(number) < pages);
        return base + static_cast<size_t>(number) * wpp;
    }
    // The table's words but page 0's lock area (mutex locking's counter
    // changes with every write lock).
    std::vector<int32_t> table_words()
    {
        int32_t *base = nullptr;
        size_t pages = 0, wpp = 0;
        REQUIRE_NETSHM_OK(netshm_memory(get(), &base, &pages, &wpp));
        std::vector<int32_t> words(base, base + 5);
        words.insert(words.end(), base + wpp, base + pages * wpp);
        return words;
    }

    netshm_locking locking;
    scratch_names names;
    std::string path;
    netshm_test::descr_ptr descr;
    table_ptr table;
};

// A table with three bindings of key 7 (the middle one of 50 words: two pages),
// keys 1..12 with one binding each, and free pages.
void populate(repair_fixture &f)
{
    f.add(7, value_of(71, 3));
    f.add(7, value_of(72, 50));
    f.add(7, value_of(73, 5));
    for (int32_t key = 1; key <= 12; ++key)
        if (key != 7)
            f.add(key, value_of(key, static_cast<size_t>(key) * 7));
    // A removed large value leaves its pages on the free list.
    f.add(99, value_of(99, 200));
    REQUIRE_NETSHM_OK(netshm_remove(f.get(), 99));
}

contents_t contents(netshm_table *t)
{
    std::vector<int32_t> keys;
    REQUIRE_NETSHM_OK(netshm_iter_keys(
        t, [](int32_t key, void *ctx) { static_cast<std::vector<int32_t> *>(ctx)->push_back(key); return 0; },
        &keys));
    contents_t found;
    for (int32_t key : keys) {
        std::vector<value_t> &all = found[key];
        REQUIRE_NETSHM_OK(netshm_find_all(
            t, key,
            [](const int32_t *v, size_t len, void *ctx) {
                static_cast<std::vector<value_t> *>(ctx)->emplace_back(v, v + len);
                return 0;
            },
            &all));
    }
    return found;
}

int problems(netshm_table *t)
{
    const int found = netshm_check(t, nullptr, nullptr);
    INFO("netshm_check: " << netshm_last_error());
    REQUIRE(found >= 0);
    return found;
}

netshm_repair_report repair_ok(netshm_table *t)
{
    netshm_repair_report report{};
    report.struct_size = sizeof report;
    REQUIRE_NETSHM_OK(netshm_repair(t, &report));
    CHECK(report.struct_size == sizeof report);
    return report;
}

// What a writer killed after it took `count` pages off the free list and
// wrote a binding of `key` into them, before it published the cell pointer,
// leaves: the pages on no list, owned by nobody.  Returns the pages taken.
std::vector<int32_t> leak_unpublished_binding(repair_fixture &f, int32_t key, size_t length, int32_t count)
{
    int32_t *d = f.page(1);
    REQUIRE(d[d_free_count] >= count);
    std::vector<int32_t> taken;
    int32_t next = d[d_free_head];
    for (int32_t i = 0; i < count; ++i) {
        taken.push_back(next);
        next = f.page(next)[1];
    }
    const value_t v = value_of(key, length);
    size_t copied = 0;
    for (size_t i = 0; i < taken.size(); ++i) {
        int32_t *p = f.page(taken[i]);
        const bool first = i == 0;
        p[0] = first ? content_magic : followup_magic;
        p[1] = key;
        p[2] = i + 1 < taken.size() ? taken[i + 1] : 0;
        p[3] = first ? 0 : static_cast<int32_t>(i);
        if (first) {
            p[4] = 0;
            p[5] = static_cast<int32_t>(length);
        }
        const size_t offset = first ? 6 : 4;
        const size_t n = std::min(length - copied, 40 - offset);
        std::memcpy(p + offset, v.data() + copied, n * 4);
        copied += n;
    }
    d[d_free_head] = next;
    d[d_free_count] -= count;
    return taken;
}

// In a forked child: the table at `path` opened and managed anew, or exit 3.
netshm_table *open_in_child(const std::string &path, netshm_locking locking)
{
    netshm_descr *descr = nullptr;
    netshm_table *t = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, path.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
        netshm_manage(descr, locking, 0, -1, &t) != NETSHM_OK)
        _exit(3);
    return t;
}

TEST_CASE("repair: a sound table is left as it is, byte for byte", "[repair]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(locking_name(locking));
    repair_fixture f(locking);
    populate(f);
    const contents_t before = contents(f.get());
    const std::vector<int32_t> image = f.table_words();
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(f.get(), &length));

    const netshm_repair_report report = repair_ok(f.get());
    CHECK(report.bindings_kept == length);
    CHECK(report.bindings_dropped == 0);
    CHECK(report.pages_reclaimed == 0);
    CHECK(f.table_words() == image);
    CHECK(contents(f.get()) == before);
    CHECK(problems(f.get()) == 0);
}

TEST_CASE("repair: the pages a killed writer took are reclaimed, in every locking mode", "[repair]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(locking_name(locking));
    repair_fixture f(locking);
    populate(f);
    const contents_t before = contents(f.get());
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(f.get(), &length));

    SECTION("a binding written but never linked")
    {
        leak_unpublished_binding(f, 500, 60, 2);
    }
    SECTION("a binding of a bound key written but never linked")
    {
        leak_unpublished_binding(f, 7, 60, 2);
        f.page(leak_unpublished_binding(f, 7, 3, 1).front())[3] = 0;
    }
    SECTION("pages taken and never written")
    {
        int32_t *d = f.page(1);
        REQUIRE(d[d_free_count] >= 2);
        d[d_free_head] = f.page(f.page(d[d_free_head])[1])[1];
        d[d_free_count] -= 2;
    }
    // Today's state after such a kill: check fails, stat refuses.
    REQUIRE(problems(f.get()) > 0);
    netshm_stats stats{};
    stats.struct_size = sizeof stats;
    REQUIRE_NETSHM_ERR(NETSHM_ECORRUPT, netshm_stat(f.get(), &stats));

    const netshm_repair_report report = repair_ok(f.get());
    CHECK(report.bindings_kept == length);
    CHECK(report.bindings_dropped == 0);
    CHECK(report.pages_reclaimed >= 2);
    CHECK(problems(f.get()) == 0);
    CHECK(contents(f.get()) == before);
    REQUIRE_NETSHM_OK(netshm_stat(f.get(), &stats));
    CHECK(stats.bindings == length);
    // The table works on: an add takes the reclaimed pages.
    f.add(500, value_of(5, 90));
    CHECK(problems(f.get()) == 0);
}

TEST_CASE("repair: exactly the pages taken are reclaimed", "[repair]")
{
    repair_fixture f(NETSHM_RECORD_LOCKING);
    populate(f);
    const std::vector<int32_t> taken = leak_unpublished_binding(f, 500, 60, 2);
    const netshm_repair_report report = repair_ok(f.get());
    CHECK(report.pages_reclaimed == taken.size());
    CHECK(netshm_mem(f.get(), 500) == 0);
}

TEST_CASE("repair: a damaged binding is dropped and counted, the key's others kept in order", "[repair]")
{
    const netshm_locking locking = GENERATE(NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING, NETSHM_MUTEX_LOCKING);
    CAPTURE(locking_name(locking));
    repair_fixture f(locking);
    populate(f);
    contents_t expected = contents(f.get());
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(f.get(), &length));
    // Key 7's bindings, newest first: 73 (one page), 72 (two pages), 71.
    // Find the middle binding's pages by its value.
    int32_t *d = f.page(1);
    int32_t middle = 0;
    for (int32_t p = 2; p < d[1]; ++p)
        if (f.page(p)[0] == content_magic && f.page(p)[1] == 7 && f.page(p)[5] == 50)
            middle = p;
    REQUIRE(middle != 0);
    const int32_t follow_up = f.page(middle)[2];
    REQUIRE(follow_up != 0);
    f.page(follow_up)[0] = 0x0BADF00D;
    REQUIRE(problems(f.get()) > 0);

    const netshm_repair_report report = repair_ok(f.get());
    CHECK(report.bindings_kept == length - 1);
    CHECK(report.bindings_dropped == 1);
    CHECK(report.pages_reclaimed == 2);
    CHECK(problems(f.get()) == 0);
    expected[7] = {value_of(73, 5), value_of(71, 3)};
    CHECK(contents(f.get()) == expected);
}

TEST_CASE("repair: a wrong binding count is put right", "[repair]")
{
    repair_fixture f(NETSHM_RECORD_LOCKING);
    populate(f);
    const contents_t before = contents(f.get());
    size_t length = 0;
    REQUIRE_NETSHM_OK(netshm_length(f.get(), &length));
    f.page(1)[d_bindings] += 3;
    REQUIRE(problems(f.get()) > 0);

    const netshm_repair_report report = repair_ok(f.get());
    CHECK(report.bindings_kept == length);
    CHECK(report.bindings_dropped == 0);
    CHECK(report.pages_reclaimed == 0);
    CHECK(problems(f.get()) == 0);
    size_t after = 0;
    REQUIRE_NETSHM_OK(netshm_length(f.get(), &after));
    CHECK(after == length);
    CHECK(contents(f.get()) == before);
}

TEST_CASE("repair: a chain broken by a link to a page of another kind keeps what comes before", "[repair]")
{
    repair_fixture f(NETSHM_RECORD_LOCKING);
    populate(f);
    int32_t *d = f.page(1);
    int32_t newest = 0;
    for (int32_t p = 2; p < d[1]; ++p)
        if (f.page(p)[0] == content_magic && f.page(p)[1] == 7 && f.page(p)[5] == 5)
            newest = p;
    REQUIRE(newest != 0);
    f.page(newest)[3] = 1;  // the descriptor page
    const netshm_repair_report report = repair_ok(f.get());
    CHECK(report.bindings_dropped == 1);
    CHECK(problems(f.get()) == 0);
    CHECK(contents(f.get())[7] == std::vector<value_t>{value_of(73, 5)});
}

TEST_CASE("repair: refused on a read-only table, from a callback, and with a bad report size", "[repair]")
{
    repair_fixture f(NETSHM_RECORD_LOCKING);
    populate(f);
    netshm_repair_report report{};
    report.struct_size = sizeof report;

    SECTION("read-only")
    {
        auto reader = open_ok(NETSHM_TYPE_FILE, f.path, O_RDONLY);
        table_ptr read_only = manage_ok(reader.get());
        CHECK_NETSHM_ERR(NETSHM_EREADONLY, netshm_repair(read_only.get(), &report));
    }
    SECTION("from a callback")
    {
        struct context {
            netshm_table *table;
            int rc;
        } ctx{f.get(), 0};
        REQUIRE_NETSHM_OK(netshm_iter_keys(
            f.get(),
            [](int32_t, void *c) {
                auto *inner = static_cast<context *>(c);
                netshm_repair_report r{};
                r.struct_size = sizeof r;
                inner->rc = netshm_repair(inner->table, &r);
                return 0;
            },
            &ctx));
        CHECK_NETSHM_ERR(NETSHM_ESELFLOCKED, ctx.rc);
    }
    SECTION("bad arguments")
    {
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_repair(f.get(), nullptr));
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_repair(nullptr, &report));
        report.struct_size = 4;
        CHECK_NETSHM_ERR(NETSHM_EINVAL, netshm_repair(f.get(), &report));
    }
    SECTION("an older, smaller report struct gets its whole fields only")
    {
        f.page(1)[d_bindings] += 1;
        struct {
            netshm_repair_report head;
            uint64_t guard;
        } small{};
        small.head.struct_size = 16;
        small.head.bindings_dropped = 77;
        small.guard = 5;
        REQUIRE_NETSHM_OK(netshm_repair(f.get(), &small.head));
        CHECK(small.head.struct_size == 16);
        CHECK(small.head.bindings_kept > 0);
        CHECK(small.head.bindings_dropped == 77);
        CHECK(small.guard == 5);
    }
}

TEST_CASE("repair: the C++ wrapper returns the report, and throws on a descriptor it cannot read", "[repair][cxx]")
{
    repair_fixture f(NETSHM_RECORD_LOCKING);
    populate(f);
    leak_unpublished_binding(f, 500, 60, 2);
    auto descr = netshm::descriptor::open(netshm::shm_type::file, f.path, O_RDWR);
    auto table = netshm::table::manage(descr, netshm::locking::record);
    const netshm::repair_report report = table.repair();
    CHECK(report.struct_size == sizeof report);
    CHECK(report.bindings_kept == 14);
    CHECK(report.bindings_dropped == 0);
    CHECK(report.pages_reclaimed == 2);
    CHECK(table.check().empty());

    f.page(1)[2] += 1;  // the hash size: the extents no longer hold it
    CHECK_THROWS_AS(table.repair(), netshm::corrupt_file);
}

TEST_CASE("repair: a mutex-locking table marked corrupt by a failed recovery is repaired", "[repair]")
{
    repair_fixture f(NETSHM_MUTEX_LOCKING);
    populate(f);
    int32_t middle = 0;
    for (int32_t p = 2; p < f.page(1)[1]; ++p)
        if (f.page(p)[0] == content_magic && f.page(p)[1] == 7 && f.page(p)[5] == 50)
            middle = p;
    REQUIRE(middle != 0);
    // Taken now: the next operation after the kill runs the recovery first.
    int32_t *follow_up = f.page(f.page(middle)[2]);

    // A writer killed in the middle of an add leaves its intent recorded.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        netshm_table *t = open_in_child(f.path, NETSHM_MUTEX_LOCKING);
        const value_t v = value_of(8, 3);
        netshm_testing_kill_before_store(4);
        netshm_add(t, 8, v.data(), v.size());
        _exit(4);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    // Damage the recovery's check finds after it undid the add: it marks the
    // table corrupt, and every operation refuses it from then on.
    follow_up[0] = 0x0BADF00D;
    size_t length = 0;
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_length(f.get(), &length));
    CHECK_NETSHM_ERR(NETSHM_ECORRUPT, netshm_add(f.get(), 1, nullptr, 0));

    const netshm_repair_report report = repair_ok(f.get());
    CHECK(report.bindings_dropped == 1);
    REQUIRE_NETSHM_OK(netshm_length(f.get(), &length));
    CHECK(length == report.bindings_kept);
    CHECK(problems(f.get()) == 0);
    CHECK(contents(f.get())[7] == std::vector<value_t>{value_of(73, 5), value_of(71, 3)});
    f.add(8, value_of(8, 3));
    CHECK(problems(f.get()) == 0);
}

// ------------------------------------------------- writers killed at every store

struct killed_operation {
    const char *name;
    int (*run)(netshm_table *);
    // Kill points after which the table cannot be opened (and so not
    // repaired): a hash resize stores the total page count and the hash size
    // before the new extent (issue 16, defect 2, orders these stores).
    int unopenable_at_most;
};

int add_that_resizes(netshm_table *t)
{
    // 13 cells are claimed of the 54 of a table of hint 6 after populate():
    // the 15th key more claims one past half, and later keys once more.
    const value_t v = value_of(40, 45);
    for (int32_t key = 40; key < 56; ++key)
        if (int rc = netshm_add(t, key, v.data(), v.size()); rc != NETSHM_OK)
            return rc;
    return NETSHM_OK;
}
int add_large(netshm_table *t)
{
    const value_t v = value_of(7, 300);
    return netshm_add(t, 7, v.data(), v.size());
}
int replace_large(netshm_table *t)
{
    const value_t v = value_of(3, 120);
    return netshm_replace(t, 3, v.data(), v.size());
}
int remove_two(netshm_table *t)
{
    int rc = netshm_remove(t, 7);
    return rc != NETSHM_OK ? rc : netshm_remove(t, 5);
}

// Whether `after` holds every binding of `before`, except that the keys the
// operation changes may hold what it would have left instead.
bool committed_kept(const contents_t &before, const contents_t &after, const contents_t &done)
{
    for (const auto &[key, bindings] : before) {
        auto found = after.find(key);
        auto finished = done.find(key);
        const bool as_before = found != after.end() && found->second == bindings;
        const bool as_done = finished != done.end() ? found != after.end() && found->second == finished->second
                                                    : found == after.end();
        if (!as_before && !as_done)
            return false;
    }
    for (const auto &[key, bindings] : after)
        if (!before.contains(key) && (!done.contains(key) || done.at(key) != bindings))
            return false;
    return true;
}

TEST_CASE("repair: after a record-mode writer killed at any store, every committed binding is kept",
          "[repair][kill]")
{
    static const killed_operation operations[] = {
        {"adds that resize the hash table twice", add_that_resizes, 6},
        {"add of a large value (growth)", add_large, 0},
        {"replace", replace_large, 0},
        {"remove", remove_two, 0},
    };
    for (const killed_operation &op : operations) {
        CAPTURE(op.name);
        contents_t done;
        {
            repair_fixture f(NETSHM_RECORD_LOCKING, 6);
            populate(f);
            REQUIRE_NETSHM_OK(op.run(f.get()));
            done = contents(f.get());
        }
        bool finished = false;
        int unopenable = 0;
        for (long long store = 1; !finished && store < 2000; ++store) {
            CAPTURE(store);
            repair_fixture f(NETSHM_RECORD_LOCKING, 6);
            populate(f);
            const contents_t before = contents(f.get());
            f.table.reset();
            const pid_t child = fork();
            REQUIRE(child >= 0);
            if (child == 0) {
                netshm_table *t = open_in_child(f.path, NETSHM_RECORD_LOCKING);
                netshm_testing_kill_before_store(store);
                _exit(op.run(t) == NETSHM_OK ? 0 : 4);
            }
            int status = 0;
            REQUIRE(waitpid(child, &status, 0) == child);
            finished = WIFEXITED(status);
            if (finished) {
                REQUIRE(WEXITSTATUS(status) == 0);
            } else {
                REQUIRE(WIFSIGNALED(status));
                REQUIRE(WTERMSIG(status) == SIGKILL);
            }
            netshm_table *t = nullptr;
            if (const int rc = netshm_manage(f.descr.get(), NETSHM_RECORD_LOCKING, 0, -1, &t);
                rc == NETSHM_ECORRUPT && unopenable < op.unopenable_at_most) {
                ++unopenable;
                continue;
            } else {
                REQUIRE_NETSHM_OK(rc);
            }
            f.table.reset(t);
            const netshm_repair_report report = repair_ok(f.get());
            CHECK(report.bindings_dropped == 0);
            REQUIRE(problems(f.get()) == 0);
            const contents_t after = contents(f.get());
            REQUIRE(committed_kept(before, after, done));
        }
        CHECK(finished);
    }
}

TEST_CASE("repair: a repair killed at any store is finished by the next repair, with the same bindings",
          "[repair][kill]")
{
    // Pages leaked, a damaged binding in the middle of key 7's chain (its
    // neighbours relinked) and a wrong binding count: every step stores.
    auto damage = [](repair_fixture &f) {
        populate(f);
        leak_unpublished_binding(f, 500, 60, 2);
        int32_t middle = 0;
        for (int32_t p = 2; p < f.page(1)[1]; ++p)
            if (f.page(p)[0] == content_magic && f.page(p)[1] == 7 && f.page(p)[5] == 50)
                middle = p;
        REQUIRE(middle != 0);
        f.page(f.page(middle)[2])[0] = 0x0BADF00D;
        f.page(1)[d_bindings] += 2;
    };
    contents_t repaired;
    {
        repair_fixture f(NETSHM_RECORD_LOCKING);
        damage(f);
        repair_ok(f.get());
        repaired = contents(f.get());
    }
    bool finished = false;
    for (long long store = 1; !finished && store < 1000; ++store) {
        CAPTURE(store);
        repair_fixture f(NETSHM_RECORD_LOCKING);
        damage(f);
        f.table.reset();
        const pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            netshm_table *t = open_in_child(f.path, NETSHM_RECORD_LOCKING);
            netshm_repair_report report{};
            report.struct_size = sizeof report;
            netshm_testing_kill_before_store(store);
            _exit(netshm_repair(t, &report) == NETSHM_OK ? 0 : 4);
        }
        int status = 0;
        REQUIRE(waitpid(child, &status, 0) == child);
        finished = WIFEXITED(status);
        if (finished)
            REQUIRE(WEXITSTATUS(status) == 0);
        f.table = manage_ok(f.descr.get());
        repair_ok(f.get());
        REQUIRE(problems(f.get()) == 0);
        REQUIRE(contents(f.get()) == repaired);
    }
    CHECK(finished);
}

} // namespace
