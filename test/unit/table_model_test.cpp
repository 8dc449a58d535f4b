// Randomized model test of the table C API: random operation sequences run
// against a table and against an in-memory model of it, compared after every
// operation (the touched key, the counters and the page accounting of the
// descriptor page), with a full iteration every few operations, at the end of
// each sequence, and again through a fresh descriptor.
//
// NETSHM_MODEL_SEQUENCES sets the number of sequences per page size (default
// 1000; the 'stress' suite runs 20000), NETSHM_MODEL_SEED the base seed.
// A failure prints the sequence's seed: NETSHM_MODEL_REPLAY=<seed> runs that
// sequence alone (for each page size: the failing one is named too).
#include "netshm_test_helpers.hpp"
#include "table_model.hpp"

#include <catch2/catch.hpp>
#include <netshm.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using netshm_test::binding_plan;
using netshm_test::block_walk;
using netshm_test::descr_ptr;
using netshm_test::scratch_names;
using netshm_test::show;
using netshm_test::value_t;

constexpr int negative_answers[] = {-100, -4711, INT32_MIN};

using netshm_test::env_number;
using netshm_test::mix;

// What a sequence found wrong; carried out of callbacks as a value, never
// thrown through the C ABI.
struct mismatch : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct table_closer {
    void operator()(netshm_table *table) const noexcept { netshm_table_close(table); }
};
using table_ptr = std::unique_ptr<netshm_table, table_closer>;

struct config {
    uint64_t seed;
    unsigned pagesize;
    netshm_locking locking;
    netshm_type type;
    long long init;
    int operations;
};

std::string describe(const config &c)
{
    std::ostringstream out;
    out << "seed=" << c.seed << " (NETSHM_MODEL_REPLAY=" << c.seed << ") pagesize=" << c.pagesize
        << " locking=" << (c.locking == NETSHM_RECORD_LOCKING ? "record" : "none")
        << " type=" << (c.type == NETSHM_TYPE_POSIX ? "posix" : "file") << " init=" << c.init
        << " operations=" << c.operations;
    return out.str();
}

struct totals {
    uint64_t sequences = 0;
    uint64_t operations = 0;
    uint64_t grown_sequences = 0;
    uint64_t max_extents = 0;
};

class sequence {
public:
    sequence(const config &c, scratch_names &names)
        : config_(c), rng_(c.seed), words_(c.pagesize / 4), name_(names.fresh(c.type))
    {
        netshm_descr *descr = nullptr;
        expect_ok(netshm_open(c.type, name_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, &descr), "open");
        descr_.reset(descr);
        netshm_table *table = nullptr;
        expect_ok(netshm_manage(descr, c.locking, c.pagesize, c.init, &table), "manage");
        table_.reset(table);
        model_.start(words_, c.init);
        build_key_pool();
    }

    void run(totals &sum)
    {
        check_counters();
        for (op_ = 0; op_ < config_.operations; ++op_) {
            one_operation(0);
            if (op_ % 25 == 24)
                compare_everything(table_.get());
        }
        while (group_depth_ > 0)
            end_group();
        compare_everything(table_.get());
        if (chance(10))
            compare_dump();
        sum.operations += static_cast<uint64_t>(config_.operations);
        sum.grown_sequences += model_.extent_pages.size() > 1 ? 1 : 0;
        sum.max_extents = std::max<uint64_t>(sum.max_extents, model_.extent_pages.size());
        reopen_and_compare();
    }

    [[noreturn]] void fail(const std::string &what) const
    {
        std::ostringstream out;
        out << what << "\n  in sequence " << describe(config_) << "\n  at operation " << op_
            << "; the last operations were:";
        for (const std::string &line : trace_)
            out << "\n    " << line;
        throw mismatch(out.str());
    }

private:
    // ------------------------------------------------------------ random

    uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
    bool chance(unsigned percent) { return below(100) < percent; }
    int32_t any_word()
    {
        switch (below(8)) {
        case 0:
            return INT32_MIN;
        case 1:
            return INT32_MAX;
        case 2:
            return 0;
        default:
            return static_cast<int32_t>(static_cast<uint32_t>(rng_()));
        }
    }

    // Keys: extremes, a few random ones, and families colliding modulo the
    // hash table's size (read from the descriptor page), k, k + S, k + 2S...
    void build_key_pool()
    {
        const int32_t specials[] = {0, -1, 1, INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1};
        for (int32_t k : specials)
            if (chance(40))
                keys_.push_back(k);
        const uint64_t randoms = 1 + below(12);
        for (uint64_t i = 0; i < randoms; ++i)
            keys_.push_back(static_cast<int32_t>(chance(50) ? static_cast<uint32_t>(rng_()) : below(100)));
        add_colliding_keys();
        std::sort(keys_.begin(), keys_.end());
        keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
    }

    void add_colliding_keys()
    {
        const int64_t s = read_descriptor(2);
        const int32_t base = chance(50) ? static_cast<int32_t>(below(1000)) - 500 : any_word();
        const uint64_t count = 2 + below(6);
        for (uint64_t j = 0; j < count; ++j)
            keys_.push_back(static_cast<int32_t>(static_cast<uint32_t>(base) + static_cast<uint32_t>(j * static_cast<uint64_t>(s))));
    }

    int32_t pick_key() { return keys_[below(keys_.size())]; }

    value_t random_value()
    {
        size_t len;
        switch (below(10)) {
        case 0: case 1: case 2: case 3: case 4:
            len = below(9);
            break;
        case 5: case 6: case 7:
            len = 9 + below(72);
            break;
        default:
            len = 81 + below(220);
        }
        value_t v(len);
        const int32_t start = any_word();
        for (size_t i = 0; i < len; ++i)
            v[i] = chance(3) ? any_word() : static_cast<int32_t>(static_cast<uint32_t>(start) + static_cast<uint32_t>(i));
        return v;
    }

    // ------------------------------------------------------------ checks

    void note(std::string line)
    {
        trace_.push_back(std::move(line));
        if (trace_.size() > 16)
            trace_.pop_front();
    }

    void expect(int got, int want, const char *what) const
    {
        if (const std::string problem = netshm_test::unexpected(what, got, want); !problem.empty())
            fail(problem);
    }
    void expect_ok(int got, const char *what) const { expect(got, NETSHM_OK, what); }

    int32_t read_descriptor(int word)
    {
        int32_t *base = nullptr;
        size_t pages = 0, wpp = 0;
        expect_ok(netshm_memory(table_.get(), &base, &pages, &wpp), "memory");
        return base[static_cast<size_t>(base[4]) * wpp + static_cast<size_t>(word)];
    }

    void check_counters()
    {
        if (const std::string problem = netshm_test::descriptor_differences(table_.get(), model_); !problem.empty())
            fail(problem);
    }

    void compare_key(netshm_table *t, int32_t key)
    {
        if (const std::string problem = netshm_test::key_differences(t, model_, key); !problem.empty())
            fail(problem);
    }

    void compare_length(netshm_table *t)
    {
        if (const std::string problem = netshm_test::length_differences(t, model_); !problem.empty())
            fail(problem);
    }

    void compare_everything(netshm_table *t)
    {
        if (const std::string problem = netshm_test::iteration_differences(t, model_); !problem.empty())
            fail(problem);
        if (t == table_.get())
            check_counters();
    }

    void compare_dump()
    {
        if (const std::string problem = netshm_test::dump_differences(table_.get(), model_); !problem.empty())
            fail(problem);
    }

    // ------------------------------------------------------------ operations

    void one_operation(int depth)
    {
        const uint64_t roll = below(100);
        netshm_table *t = table_.get();
        const int32_t key = pick_key();
        if (roll < 22) {
            value_t v = random_value();
            note("add " + std::to_string(key) + " " + show(v));
            expect_ok(netshm_add(t, key, v.data(), v.size()), "add");
            model_.add(key, std::move(v));
        } else if (roll < 32) {
            value_t v = random_value();
            note("replace " + std::to_string(key) + " " + show(v));
            expect_ok(netshm_replace(t, key, v.data(), v.size()), "replace");
            model_.replace(key, std::move(v));
        } else if (roll < 42) {
            note("remove " + std::to_string(key));
            expect_ok(netshm_remove(t, key), "remove");
            model_.remove(key);
        } else if (roll < 49) {
            do_find(key);
        } else if (roll < 54) {
            do_find_into(key);
        } else if (roll < 58) {
            note("mem " + std::to_string(key));
            expect(netshm_mem(t, key), model_.of(key) ? 1 : 0, "mem");
        } else if (roll < 62) {
            note("find_all " + std::to_string(key));
        } else if (roll < 64) {
            note("length");
            compare_length(t);
        } else if (roll < 74) {
            do_write_blocks(key);
        } else if (roll < 81) {
            do_find_blocks(key);
        } else if (roll < 86 && depth == 0) {
            if (group_depth_ > 0 && (group_depth_ >= 3 || chance(50)))
                end_group();
            else
                begin_group();
        } else if (roll < 90 && depth < 2) {
            do_group(depth);
        } else if (roll < 92) {
            note("iter");
            compare_everything(t);
        } else if (roll < 94) {
            note("new colliding keys for hash size " + std::to_string(read_descriptor(2)));
            add_colliding_keys();
        } else if (roll < 96) {
            do_burst();
        } else {
            value_t v = random_value();
            note("add of a fresh key " + show(v));
            const int32_t fresh = any_word();
            keys_.push_back(fresh);
            expect_ok(netshm_add(t, fresh, v.data(), v.size()), "add");
            model_.add(fresh, std::move(v));
            compare_key(t, fresh);
        }
        compare_key(t, key);
        compare_length(t);
        check_counters();
    }

    // Many fresh keys at once, so that large hash tables grow too.
    void do_burst()
    {
        const uint64_t count = 1 + below(std::min<uint64_t>(static_cast<uint64_t>(read_descriptor(2)), 300));
        const int32_t start = any_word();
        note("burst of " + std::to_string(count) + " keys from " + std::to_string(start));
        for (uint64_t i = 0; i < count; ++i) {
            const auto k = static_cast<int32_t>(static_cast<uint32_t>(start) + static_cast<uint32_t>(i * 7919));
            value_t v(below(4), k);
            expect_ok(netshm_add(table_.get(), k, v.data(), v.size()), "add");
            model_.add(k, std::move(v));
            if (chance(5))
                keys_.push_back(k);
        }
        keys_.push_back(start);
    }

    void do_find(int32_t key)
    {
        note("find " + std::to_string(key));
        int32_t *value = nullptr;
        size_t len = 0;
        const std::vector<value_t> *want = model_.of(key);
        const int rc = netshm_find(table_.get(), key, &value, &len);
        expect(rc, want ? NETSHM_OK : NETSHM_ENOTFOUND, "find");
        if (want == nullptr)
            return;
        value_t got(value, value + len);
        const bool non_null = value != nullptr;
        netshm_free(value);
        if (!non_null || got != want->front())
            fail("find(" + std::to_string(key) + ") gave " + show(got) + ", the model has " + show(want->front()));
    }

    void do_find_into(int32_t key)
    {
        const std::vector<value_t> *want = model_.of(key);
        const size_t need = want ? want->front().size() : 0;
        size_t cap;
        switch (below(4)) {
        case 0:
            cap = need > 0 ? need - 1 - below(need) : 0;
            break;
        case 1:
            cap = need;
            break;
        default:
            cap = need + below(20);
        }
        note("find_into " + std::to_string(key) + " cap " + std::to_string(cap));
        std::vector<int32_t> buf(cap + 4, -424242);
        size_t len = 999999;
        const int rc = netshm_find_into(table_.get(), key, buf.data(), cap, &len);
        if (want == nullptr) {
            expect(rc, NETSHM_ENOTFOUND, "find_into");
            return;
        }
        if (cap < need) {
            expect(rc, NETSHM_ETOOBIG, "find_into");
            if (len != need || std::any_of(buf.begin(), buf.end(), [](int32_t w) { return w != -424242; }))
                fail("find_into with a small buffer: len " + std::to_string(len) + " or the buffer changed");
            return;
        }
        expect_ok(rc, "find_into");
        if (len != need || value_t(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(len)) != want->front() ||
            std::any_of(buf.begin() + static_cast<std::ptrdiff_t>(len), buf.end(), [](int32_t w) { return w != -424242; }))
            fail("find_into(" + std::to_string(key) + ") gave length " + std::to_string(len) + ", the model has " +
                 show(want->front()));
    }

    binding_plan random_plan(size_t calls, bool writes, bool removes)
    {
        binding_plan plan;
        if (writes && chance(30))
            plan.mask = static_cast<uint32_t>(rng_()) | 1u;
        if (removes && chance(40))
            plan.remove_at = below(calls);
        if (chance(30)) {
            plan.stop_at = below(calls);
            switch (below(4)) {
            case 0:
            case 1:
                plan.stop = NETSHM_NEXT;
                break;
            case 2:
                plan.stop = NETSHM_BREAK;
                break;
            default:
                plan.stop = negative_answers[below(3)];
            }
        }
        return plan;
    }

    block_walk plan_walk(int32_t key, bool writes, bool removes, std::string &line)
    {
        block_walk walk = block_walk::over(model_, key);
        for (size_t i = 0; i < walk.bindings.size(); ++i) {
            walk.plans.push_back(random_plan(walk.calls_of(i), writes, removes));
            line += walk.plans.back().describe();
        }
        return walk;
    }

    void do_find_blocks(int32_t key)
    {
        std::string line = "find_blocks " + std::to_string(key);
        block_walk walk = plan_walk(key, false, false, line);
        note(line);
        const int rc = netshm_test::blocks_with(table_.get(), key, walk);
        if (const std::string problem = walk.verdict(rc); !problem.empty())
            fail("find_blocks: " + problem);
    }

    void do_write_blocks(int32_t key)
    {
        std::string line = "write_blocks " + std::to_string(key);
        const bool unannounced = chance(3);
        block_walk walk = plan_walk(key, true, true, line);
        walk.announce = !unannounced;
        bool any_removal = false;
        for (const binding_plan &p : walk.plans)
            any_removal = any_removal || p.remove_at != SIZE_MAX;
        const unsigned ops = walk.announce && (any_removal || chance(50)) ? unsigned{NETSHM_OP_REMOVE_BINDING} : 0u;
        walk.announce = ops != 0;
        note(line + (ops ? " (remove announced)" : ""));
        const int rc = netshm_test::write_blocks_with(table_.get(), ops, key, walk);
        if (const std::string problem = walk.verdict(rc); !problem.empty())
            fail("write_blocks: " + problem);
        walk.apply(model_, key);
    }

    void begin_group()
    {
        note("group_begin");
        expect_ok(netshm_group_begin(table_.get()), "group_begin");
        ++group_depth_;
    }

    void end_group()
    {
        note("group_end");
        expect_ok(netshm_group_end(table_.get()), "group_end");
        --group_depth_;
    }

    // netshm_group around a few operations; the body's value comes back.
    void do_group(int depth)
    {
        const int result = chance(50) ? 0 : negative_answers[below(3)];
        const uint64_t count = 1 + below(4);
        note("group of " + std::to_string(count) + " operations returning " + std::to_string(result));
        struct body_state {
            sequence *self;
            int depth;
            uint64_t count;
            int result;
            std::string problem;
        } state{this, depth, count, result, {}};
        const int rc = netshm_group(
            table_.get(),
            [](netshm_table *, void *ctx) -> int {
                auto *s = static_cast<body_state *>(ctx);
                try {
                    for (uint64_t i = 0; i < s->count; ++i)
                        s->self->one_operation(s->depth + 1);
                } catch (const mismatch &e) {
                    s->problem = e.what();
                    return -1000;
                }
                return s->result;
            },
            &state);
        if (!state.problem.empty())
            throw mismatch(state.problem);
        expect(rc, result, "group");
    }

    // A new descriptor and table see the same table.
    void reopen_and_compare()
    {
        table_.reset();
        descr_.reset();
        const bool read_only = chance(30);
        netshm_descr *descr = nullptr;
        expect_ok(netshm_open(config_.type, name_.c_str(), read_only ? O_RDONLY : O_RDWR, 0, &descr), "reopen");
        descr_.reset(descr);
        netshm_table *table = nullptr;
        expect_ok(netshm_manage(descr, chance(50) ? NETSHM_RECORD_LOCKING : NETSHM_NO_LOCKING, 0, -1, &table),
                  "manage of the reopened object");
        table_.reset(table);
        note(read_only ? "reopened read-only" : "reopened");
        compare_everything(table);
        for (int32_t key : keys_)
            compare_key(table, key);
        table_.reset();
        descr_.reset();
        expect_ok(netshm_unlink(config_.type, name_.c_str()), "unlink");
    }

    config config_;
    std::mt19937_64 rng_;
    size_t words_;
    std::string name_;
    descr_ptr descr_;
    table_ptr table_;
    netshm_test::table_model model_;
    std::vector<int32_t> keys_;
    std::deque<std::string> trace_;
    int group_depth_ = 0;
    int op_ = 0;
};

config make_config(uint64_t seed, unsigned pagesize, int max_operations)
{
    std::mt19937_64 rng(seed);
    config c{};
    c.seed = seed;
    c.pagesize = pagesize;
    c.locking = rng() % 2 ? NETSHM_RECORD_LOCKING : NETSHM_NO_LOCKING;
    c.type = rng() % 4 ? NETSHM_TYPE_POSIX : NETSHM_TYPE_FILE;
    // Init hints from 1 to 10000, spread evenly over their magnitude.
    std::uniform_real_distribution<double> magnitude(0.0, 4.0);
    c.init = static_cast<long long>(std::pow(10.0, magnitude(rng)));
    c.operations = 10 + static_cast<int>(rng() % static_cast<uint64_t>(max_operations - 9));
    return c;
}

} // namespace

TEST_CASE("table model: random operation sequences agree with an in-memory model", "[table][model]")
{
    const unsigned pagesize = GENERATE(160u, 256u, 1024u);
    const uint64_t sequences = env_number("NETSHM_MODEL_SEQUENCES", 1000);
    const uint64_t base_seed = env_number("NETSHM_MODEL_SEED", 0x6E657473686DULL);
    const uint64_t replay = env_number("NETSHM_MODEL_REPLAY", 0);
    const int max_operations = 120;

    scratch_names names;
    totals sum;
    const auto started = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < (replay ? 1 : sequences); ++i) {
        const uint64_t seed = replay ? replay : mix(base_seed ^ mix(pagesize) ^ i);
        const config c = make_config(seed, pagesize, max_operations);
        try {
            sequence s(c, names);
            s.run(sum);
        } catch (const mismatch &e) {
            FAIL(e.what());
        }
        ++sum.sequences;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    WARN("page size " << pagesize << ": " << sum.sequences << " sequences, " << sum.operations << " operations ("
                      << sum.grown_sequences << " sequences grew the hash table, up to " << sum.max_extents
                      << " extents) in " << seconds << " s");
    CHECK(sum.sequences == (replay ? 1 : sequences));
    if (!replay && sequences >= 100) {
        // The sequences must reach what they are meant to test.
        CHECK(sum.grown_sequences * 10 >= sum.sequences);
        CHECK(sum.max_extents >= 3);
    }
}
