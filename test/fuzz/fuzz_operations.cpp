// libFuzzer target: bytes become a sequence of operations (operations_format.hpp)
// run against a fresh table and against the in-memory model of the model
// test (test/unit/table_model.hpp); any difference aborts with the last
// operations.  After each operation the touched key, the length and the
// descriptor page's counters are compared, and everything every 32
// operations; at the end netshm_check must find no problem and netshm_stat
// must agree with the model.
#include "fuzz_support.hpp"
#include "operations_format.hpp"
#include "table_model.hpp"

#include <netshm.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace {

using namespace netshm_fuzz::ops;
using netshm_fuzz::finding;
using netshm_test::binding_plan;
using netshm_test::block_walk;
using netshm_test::show;
using netshm_test::value_t;

constexpr size_t max_input = 4096;
// Bounds that keep one input within milliseconds: the whole-table
// comparisons (iteration, dump, check) cost as much as the table is large,
// so fresh keys stop once this many cells were claimed (enough for 4 to 7
// hash extents, depending on the page size), and only so many of them run.
constexpr size_t max_operations = 300;
constexpr int64_t max_claimed_cells = 400;
constexpr int max_whole_table_operations = 12;
constexpr size_t iteration_period = 32;
constexpr size_t max_extra_keys = 64;
constexpr int body_answer = -100;

class sequence {
public:
    sequence(const uint8_t *data, size_t size)
        : in_(data, size), path_(netshm_fuzz::scratch_path("fuzz_operations"))
    {
        const uint8_t setup = in_.byte();
        locking_ = setup & 1 ? NETSHM_RECORD_LOCKING : NETSHM_NO_LOCKING;
        pagesize_ = page_sizes[(setup >> 1) & 3];
        init_ = in_.byte();
    }

    void run()
    {
        expect_ok(netshm_open(NETSHM_TYPE_FILE, path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600, &descr_), "open");
        manage(pagesize_, init_);
        while (!in_.empty() && operations_ < max_operations)
            one_operation();
        while (group_depth_ > 0)
            end_group();
        note("the end");
        compare(netshm_test::iteration_differences(table_, model_));
        for (int32_t key : pool_)
            compare(netshm_test::key_differences(table_, model_, key));
        for (int32_t key : extra_keys_)
            compare(netshm_test::key_differences(table_, model_, key));
        check();
        expect_ok(netshm_table_close(table_), "table_close");
        expect_ok(netshm_close(descr_), "close");
    }

private:
    // ------------------------------------------------------------ failures

    void note(std::string line)
    {
        trace_.push_back(std::to_string(operations_) + ": " + line);
        if (trace_.size() > 24)
            trace_.pop_front();
    }

    [[noreturn]] void fail(const std::string &what) const
    {
        std::string text = what + "\n  page size " + std::to_string(pagesize_) + ", " +
                           (locking_ == NETSHM_RECORD_LOCKING ? "record locking" : "no locking") +
                           "; the last operations were:";
        for (const std::string &line : trace_)
            text += "\n    " + line;
        finding(text);
    }

    void compare(const std::string &problem) const
    {
        if (!problem.empty())
            fail(problem);
    }
    void expect(int got, int want, const char *what) const { compare(netshm_test::unexpected(what, got, want)); }
    void expect_ok(int got, const char *what) const { expect(got, NETSHM_OK, what); }

    // ------------------------------------------------------------ setup

    void manage(unsigned pagesize, long long init)
    {
        expect_ok(netshm_manage(descr_, locking_, pagesize, init, &table_), "manage");
        if (init >= 0)
            model_.start(pagesize_ / 4, init);
        build_key_pool();
    }

    // Extremes, and keys colliding modulo the hash table's size S.
    void build_key_pool()
    {
        const auto s = static_cast<uint32_t>(model_.hash_size);
        const uint32_t keys[pool_size] = {0,         1,         0xFFFFFFFFu, 2,           0x80000000u, 0x7FFFFFFFu,
                                          42,        42 + s,    42 + 2 * s,  42 + 3 * s,  0u - 7,      0u - 7 + s,
                                          0u - 7 + 2 * s, 1000, s - 1,       2 * s - 1};
        pool_.assign(std::begin(keys), std::end(keys));
        for (int32_t &k : pool_)
            k = static_cast<int32_t>(static_cast<uint32_t>(k));
    }

    int32_t key() { return pool_[in_.byte() % pool_size]; }

    value_t value()
    {
        const uint8_t selector = in_.byte();
        const size_t h = selector >> 3;
        const size_t words = pagesize_ / 4, first = words - 6, follow = words - 4;
        const uint32_t start = 0x01000193u * ++counter_ + selector;
        value_t v;
        switch (selector & 7) {
        case value_empty:
            break;
        case value_boundary:
            v.resize(first + (h % 3) * follow + (h / 3 % 3) - 1);
            break;
        case value_medium:
            v.resize(9 + 4 * h);
            break;
        case value_long:
            v.resize(100 + 28 * h);
            break;
        case value_words:
            for (size_t i = 0; i < h % 8; ++i)
                v.push_back(in_.i32());
            return v;
        case value_extremes: {
            const int32_t extremes[] = {INT32_MIN, INT32_MAX, 0, -1};
            for (size_t i = 0; i <= h; ++i)
                v.push_back(extremes[(start + i) % 4]);
            return v;
        }
        default:
            v.resize(1 + h % 8);
        }
        for (size_t i = 0; i < v.size(); ++i)
            v[i] = static_cast<int32_t>(start + static_cast<uint32_t>(i));
        return v;
    }

    // ------------------------------------------------------------ operations

    void one_operation()
    {
        ++operations_;
        const uint8_t code = in_.byte() % op_count;
        int32_t touched = 0;
        switch (code) {
        case op_add:
        case op_replace: {
            touched = key();
            value_t v = value();
            note(std::string(code == op_add ? "add " : "replace ") + std::to_string(touched) + " " + show(v));
            if (code == op_add) {
                expect_ok(netshm_add(table_, touched, v.data(), v.size()), "add");
                model_.add(touched, std::move(v));
            } else {
                expect_ok(netshm_replace(table_, touched, v.data(), v.size()), "replace");
                model_.replace(touched, std::move(v));
            }
            break;
        }
        case op_remove:
            touched = key();
            note("remove " + std::to_string(touched));
            expect_ok(netshm_remove(table_, touched), "remove");
            model_.remove(touched);
            break;
        case op_find:
            touched = key();
            find(touched);
            break;
        case op_find_into:
            touched = key();
            find_into(touched, in_.byte() % 4);
            break;
        case op_mem:
            touched = key();
            note("mem " + std::to_string(touched));
            expect(netshm_mem(table_, touched), model_.of(touched) ? 1 : 0, "mem");
            break;
        case op_find_all:
            touched = key();
            note("find_all " + std::to_string(touched));
            break;
        case op_length:
            note("length");
            break;
        case op_iter:
            if (whole_table("iter"))
                compare(netshm_test::iteration_differences(table_, model_));
            break;
        case op_find_blocks:
            touched = key();
            find_blocks(touched);
            break;
        case op_write_blocks:
            touched = key();
            write_blocks(touched, in_.byte() % 8 != 0);
            break;
        case op_group_toggle:
            group_toggle(in_.byte());
            break;
        case op_group_call:
            group_call(in_.byte());
            break;
        case op_burst:
            burst(1 + in_.byte(), in_.i32());
            break;
        case op_add_fresh: {
            touched = in_.i32();
            if (model_.claimed >= max_claimed_cells)
                touched = pool_[static_cast<uint32_t>(touched) % pool_size];
            value_t v = value();
            note("add fresh key " + std::to_string(touched) + " " + show(v));
            expect_ok(netshm_add(table_, touched, v.data(), v.size()), "add");
            model_.add(touched, std::move(v));
            if (extra_keys_.size() < max_extra_keys)
                extra_keys_.push_back(touched);
            break;
        }
        case op_remanage:
            remanage(in_.byte());
            break;
        case op_reopen_read_only:
            reopen_read_only();
            break;
        case op_check:
            if (whole_table("check"))
                check();
            break;
        case op_dump:
            if (whole_table("dump"))
                compare(netshm_test::dump_differences(table_, model_));
            break;
        default:
            touched = key();
            self_locked(touched);
        }
        compare(netshm_test::key_differences(table_, model_, touched));
        compare(netshm_test::length_differences(table_, model_));
        compare(netshm_test::descriptor_differences(table_, model_));
        if (operations_ % iteration_period == 0)
            compare(netshm_test::iteration_differences(table_, model_));
    }

    // Whether a whole-table operation runs, within the budget of one input.
    bool whole_table(const char *what)
    {
        const bool runs = whole_table_operations_ < max_whole_table_operations;
        whole_table_operations_ += runs ? 1 : 0;
        note(std::string(what) + (runs ? "" : " (over the budget, skipped)"));
        return runs;
    }

    void find(int32_t key)
    {
        note("find " + std::to_string(key));
        int32_t *value = nullptr;
        size_t len = 0;
        const std::vector<value_t> *want = model_.of(key);
        expect(netshm_find(table_, key, &value, &len), want ? NETSHM_OK : NETSHM_ENOTFOUND, "find");
        if (want == nullptr)
            return;
        const value_t got(value, value + len);
        const bool non_null = value != nullptr;
        netshm_free(value);
        if (!non_null || got != want->front())
            fail("find(" + std::to_string(key) + ") gave " + show(got) + ", the model has " + show(want->front()));
    }

    void find_into(int32_t key, unsigned capacity)
    {
        const std::vector<value_t> *want = model_.of(key);
        const size_t need = want ? want->front().size() : 0;
        const size_t cap = capacity == 0 ? (need > 0 ? need - 1 : 0) : capacity == 1 ? need : capacity == 2 ? need + 3 : 0;
        note("find_into " + std::to_string(key) + " cap " + std::to_string(cap));
        constexpr int32_t untouched = -424242;
        std::vector<int32_t> buf(cap + 4, untouched);
        size_t len = 999999;
        const int rc = netshm_find_into(table_, key, cap > 0 ? buf.data() : nullptr, cap, &len);
        auto untouched_from = [&buf](size_t i) {
            return std::all_of(buf.begin() + static_cast<std::ptrdiff_t>(i), buf.end(), [](int32_t w) { return w == untouched; });
        };
        if (want == nullptr) {
            expect(rc, NETSHM_ENOTFOUND, "find_into");
            if (len != 0 || !untouched_from(0))
                fail("find_into of an unbound key: len " + std::to_string(len) + " or the buffer changed");
            return;
        }
        if (cap < need) {
            expect(rc, NETSHM_ETOOBIG, "find_into");
            if (len != need || !untouched_from(0))
                fail("find_into with a small buffer: len " + std::to_string(len) + " or the buffer changed");
            return;
        }
        expect_ok(rc, "find_into");
        if (len != need || !std::equal(want->front().begin(), want->front().end(), buf.begin()) || !untouched_from(need))
            fail("find_into(" + std::to_string(key) + ") gave length " + std::to_string(len) + ", the model has " +
                 show(want->front()));
    }

    // One plan byte per binding (see plan_bits).
    block_walk planned_walk(int32_t key, bool writes, std::string &line)
    {
        block_walk walk = block_walk::over(model_, key);
        for (size_t i = 0; i < walk.bindings.size(); ++i) {
            const uint8_t p = in_.byte();
            const size_t calls = walk.calls_of(i);
            binding_plan plan;
            if (writes && (p & plan_write))
                plan.mask = 0x9E3779B1u ^ p;
            if (writes && (p & plan_remove))
                plan.remove_at = ((p >> 2) & 3) % calls;
            const int stops[] = {NETSHM_CONTINUE, NETSHM_NEXT, NETSHM_BREAK, -100};
            if ((p >> 4) & 3) {
                plan.stop = stops[(p >> 4) & 3];
                plan.stop_at = ((p >> 6) & 3) % calls;
            }
            walk.plans.push_back(plan);
            line += plan.describe();
        }
        return walk;
    }

    void find_blocks(int32_t key)
    {
        std::string line = "find_blocks " + std::to_string(key);
        block_walk walk = planned_walk(key, false, line);
        note(line);
        compare(walk.verdict(netshm_test::blocks_with(table_, key, walk)));
    }

    void write_blocks(int32_t key, bool announce)
    {
        std::string line = "write_blocks " + std::to_string(key) + (announce ? " (remove announced)" : "");
        block_walk walk = planned_walk(key, true, line);
        walk.announce = announce;
        note(line);
        const int rc = netshm_test::write_blocks_with(table_, announce ? unsigned{NETSHM_OP_REMOVE_BINDING} : 0u, key, walk);
        compare(walk.verdict(rc));
        walk.apply(model_, key);
    }

    void begin_group(bool write)
    {
        note(write ? "group_begin_write" : "group_begin");
        expect_ok(write ? netshm_group_begin_write(table_) : netshm_group_begin(table_), "group_begin");
        ++group_depth_;
    }

    void end_group()
    {
        note("group_end");
        expect_ok(netshm_group_end(table_), "group_end");
        --group_depth_;
    }

    void group_toggle(uint8_t how)
    {
        if (call_depth_ > 0) {
            note("(no group toggle inside a group body)");
            return;
        }
        if (group_depth_ > 0 && (group_depth_ >= 3 || (how & 1)))
            end_group();
        else
            begin_group(how & 2);
    }

    // netshm_group or netshm_group_write around nested operations; the
    // body's answer comes back.
    void group_call(uint8_t how)
    {
        const size_t count = 1 + (how & 3);
        const bool write = how & 4;
        const int answer = how & 8 ? 0 : body_answer;
        if (call_depth_ >= 2) {
            note("(no deeper group)");
            return;
        }
        note(std::string(write ? "group_write" : "group") + " of " + std::to_string(count) + " operations answering " +
             std::to_string(answer));
        struct body {
            sequence *self;
            size_t count;
            int answer;
        } b{this, count, answer};
        auto run_body = [](netshm_table *, void *ctx) -> int {
            auto *bd = static_cast<body *>(ctx);
            ++bd->self->call_depth_;
            for (size_t i = 0; i < bd->count && bd->self->operations_ < max_operations; ++i)
                bd->self->one_operation();
            --bd->self->call_depth_;
            return bd->answer;
        };
        const int rc = write ? netshm_group_write(table_, run_body, &b) : netshm_group(table_, run_body, &b);
        expect(rc, answer, "group");
    }

    // Many fresh keys at once, so that the hash table grows.
    void burst(size_t count, int32_t start)
    {
        count = std::min<size_t>(count, static_cast<size_t>(std::max<int64_t>(0, max_claimed_cells - model_.claimed)));
        note("burst of " + std::to_string(count) + " keys from " + std::to_string(start));
        for (size_t i = 0; i < count; ++i) {
            const auto k = static_cast<int32_t>(static_cast<uint32_t>(start) + static_cast<uint32_t>(i * 7919));
            value_t v(i % 4, k);
            expect_ok(netshm_add(table_, k, v.data(), v.size()), "add");
            model_.add(k, std::move(v));
        }
        if (extra_keys_.size() < max_extra_keys)
            extra_keys_.push_back(start);
    }

    // Manage the object again: the same table, or a re-initialised one.
    void remanage(uint8_t how)
    {
        if (group_depth_ > 0 || call_depth_ > 0) {
            note("(no re-manage inside a group)");
            return;
        }
        const long long init = how & 1 ? how >> 2 : -1;
        const unsigned pagesize = how & 2 ? pagesize_ : 0;
        note("manage again, page size " + std::to_string(pagesize) + ", init " + std::to_string(init));
        expect_ok(netshm_table_close(table_), "table_close");
        table_ = nullptr;
        manage(pagesize, init);
        if (init >= 0)
            extra_keys_.clear();
    }

    // A second, read-only descriptor sees the same table and refuses writes.
    void reopen_read_only()
    {
        if (group_depth_ > 0 || call_depth_ > 0) {
            note("(no read-only reopen inside a group)");
            return;
        }
        note("reopen read-only");
        netshm_descr *descr = nullptr;
        expect_ok(netshm_open(NETSHM_TYPE_FILE, path_.c_str(), O_RDONLY, 0, &descr), "open read-only");
        netshm_table *table = nullptr;
        expect_ok(netshm_manage(descr, locking_, 0, -1, &table), "manage read-only");
        compare(netshm_test::iteration_differences(table, model_));
        for (int32_t key : pool_)
            compare(netshm_test::key_differences(table, model_, key));
        const int32_t word = 1;
        expect(netshm_add(table, 1, &word, 1), NETSHM_EREADONLY, "add on a read-only table");
        expect(netshm_remove(table, pool_[0]), NETSHM_EREADONLY, "remove on a read-only table");
        expect_ok(netshm_table_close(table), "table_close read-only");
        expect_ok(netshm_close(descr), "close read-only");
    }

    // Modifying from the callbacks of find_all and iter is refused.
    void self_locked(int32_t key)
    {
        note("self-locked modifications of " + std::to_string(key));
        struct probe {
            netshm_table *table;
            int32_t key;
            int calls = 0;
            int add_rc = NETSHM_ESELFLOCKED, remove_rc = NETSHM_ESELFLOCKED;
        } p{table_, key};
        const int rc = netshm_find_all(
            table_, key,
            [](const int32_t *, size_t, void *ctx) -> int {
                auto *pr = static_cast<probe *>(ctx);
                ++pr->calls;
                pr->add_rc = netshm_add(pr->table, pr->key, nullptr, 0);
                pr->remove_rc = netshm_remove(pr->table, pr->key);
                return body_answer;
            },
            &p);
        expect(rc, model_.of(key) ? body_answer : NETSHM_OK, "find_all with a modifying callback");
        expect(p.add_rc, NETSHM_ESELFLOCKED, "add from a callback");
        expect(p.remove_rc, NETSHM_ESELFLOCKED, "remove from a callback");
        const int iter_rc = netshm_iter(
            table_,
            [](int32_t k, const int32_t *, size_t, void *ctx) -> int {
                auto *pr = static_cast<probe *>(ctx);
                pr->remove_rc = netshm_remove(pr->table, k);
                return body_answer;
            },
            &p);
        expect(p.remove_rc, NETSHM_ESELFLOCKED, "remove from an iter callback");
        expect(iter_rc, model_.length > 0 ? body_answer : NETSHM_OK, "iter with a modifying callback");
    }

    // netshm_check finds nothing, and netshm_stat agrees with the model.
    void check()
    {
        std::string first;
        const int problems = netshm_check(
            table_,
            [](const netshm_problem *p, void *ctx) -> int {
                auto *text = static_cast<std::string *>(ctx);
                if (text->empty())
                    *text = p->message;
                return 0;
            },
            &first);
        if (problems != 0)
            fail("netshm_check returned " + std::to_string(problems) + ": " + first);
        netshm_stats s{};
        s.struct_size = sizeof s;
        expect_ok(netshm_stat(table_, &s), "stat");
        int64_t hash_pages = 0;
        for (int64_t pages : model_.extent_pages)
            hash_pages += pages;
        const bool agree = s.struct_size == sizeof s && s.pagesize == pagesize_ && s.bindings == model_.length &&
                           s.distinct_keys == model_.distinct_keys() && s.value_bytes == model_.value_bytes() &&
                           static_cast<int64_t>(s.hash_cells) == model_.hash_size &&
                           static_cast<int64_t>(s.claimed_cells) == model_.claimed &&
                           s.extents == model_.extent_pages.size() && static_cast<int64_t>(s.hash_pages) == hash_pages &&
                           static_cast<int64_t>(s.content_pages) == model_.used_pages &&
                           2 + s.hash_pages + s.content_pages + s.free_pages == s.total_pages &&
                           s.total_pages * s.pagesize <= s.object_bytes;
        if (!agree)
            fail("netshm_stat disagrees with the model: bindings " + std::to_string(s.bindings) + "/" +
                 std::to_string(model_.length) + ", keys " + std::to_string(s.distinct_keys) + "/" +
                 std::to_string(model_.distinct_keys()) + ", value bytes " + std::to_string(s.value_bytes) + "/" +
                 std::to_string(model_.value_bytes()) + ", hash cells " + std::to_string(s.hash_cells) + "/" +
                 std::to_string(model_.hash_size) + ", claimed " + std::to_string(s.claimed_cells) + "/" +
                 std::to_string(model_.claimed) + ", extents " + std::to_string(s.extents) + "/" +
                 std::to_string(model_.extent_pages.size()) + ", content pages " + std::to_string(s.content_pages) +
                 "/" + std::to_string(model_.used_pages) + ", pages " + std::to_string(s.hash_pages) + " hash + " +
                 std::to_string(s.content_pages) + " content + " + std::to_string(s.free_pages) + " free of " +
                 std::to_string(s.total_pages));
    }

    netshm_fuzz::input in_;
    const std::string &path_;
    netshm_locking locking_;
    unsigned pagesize_;
    long long init_;
    netshm_descr *descr_ = nullptr;
    netshm_table *table_ = nullptr;
    netshm_test::table_model model_;
    std::vector<int32_t> pool_;
    std::vector<int32_t> extra_keys_;
    std::deque<std::string> trace_;
    int group_depth_ = 0;  // groups begun with group_begin
    int call_depth_ = 0;   // group bodies running
    size_t operations_ = 0;
    int whole_table_operations_ = 0;
    uint32_t counter_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > max_input)
        return -1;  // not added to the corpus
    sequence(data, size).run();
    return 0;
}
