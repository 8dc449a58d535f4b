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
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace {

using value_t = std::vector<int32_t>;
using netshm_test::descr_ptr;
using netshm_test::scratch_names;

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

std::string show(const value_t &v)
{
    std::ostringstream out;
    out << "[" << v.size() << ":";
    for (size_t i = 0; i < v.size() && i < 8; ++i)
        out << " " << v[i];
    if (v.size() > 8)
        out << " ...";
    out << "]";
    return out.str();
}

std::string show(const std::vector<value_t> &vs)
{
    std::string text = "{";
    for (const value_t &v : vs)
        text += " " + show(v);
    return text + " }";
}

// The table as the model sees it: every key's bindings, newest first, and
// the hash table's shape as §5 of the design grows it.
struct model {
    std::map<int32_t, std::vector<value_t>> bindings;
    size_t length = 0;
    // Keys that own a hash cell (bound, or claimed with no binding left).
    std::set<int32_t> cells;
    int64_t claimed = 0;
    int64_t hash_size = 0;
    std::vector<int64_t> extent_pages;
    int64_t cells_per_page = 0;
    // Content pages the bindings occupy.
    int64_t used_pages = 0;
    size_t words_per_page = 0;

    int64_t pages_for(size_t len) const
    {
        const size_t first = words_per_page - 6, follow = words_per_page - 4;
        return len <= first ? 1 : 1 + static_cast<int64_t>((len - first + follow - 1) / follow);
    }

    const std::vector<value_t> *of(int32_t key) const
    {
        auto found = bindings.find(key);
        return found == bindings.end() || found->second.empty() ? nullptr : &found->second;
    }
    // A binding is added for key: claim a cell first if the key has none.
    void claim_cell(int32_t key)
    {
        if (cells.count(key) != 0)
            return;
        if (2 * claimed > hash_size) {
            int64_t largest = *std::max_element(extent_pages.begin(), extent_pages.end());
            extent_pages.push_back(2 * largest);
            hash_size += 2 * largest * cells_per_page;
            // The rehash keeps only the cells that hold a binding.
            std::set<int32_t> bound;
            for (const auto &[k, list] : bindings)
                if (!list.empty())
                    bound.insert(k);
            cells = std::move(bound);
        }
        ++claimed;
        cells.insert(key);
    }
    void add(int32_t key, value_t v)
    {
        claim_cell(key);
        used_pages += pages_for(v.size());
        auto &list = bindings[key];
        list.push_back(std::move(v));
        std::rotate(list.begin(), list.end() - 1, list.end());
        ++length;
    }
    void replace(int32_t key, value_t v)
    {
        auto &list = bindings[key];
        if (list.empty()) {
            add(key, std::move(v));
            return;
        }
        used_pages += pages_for(v.size()) - pages_for(list.front().size());
        list.front() = std::move(v);
    }
    void remove(int32_t key)
    {
        auto found = bindings.find(key);
        if (found == bindings.end() || found->second.empty())
            return;
        used_pages -= pages_for(found->second.front().size());
        found->second.erase(found->second.begin());
        --length;
    }
};

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

// Calls a C callback function with a lambda (its address as ctx).
template <class F>
int blocks_with(netshm_table *t, int32_t key, F &f)
{
    return netshm_find_blocks(
        t, key, [](const int32_t *frag, size_t n, void *ctx) -> int { return (*static_cast<F *>(ctx))(frag, n); },
        &f);
}

template <class F>
int write_blocks_with(netshm_table *t, unsigned ops, int32_t key, F &f)
{
    return netshm_write_blocks(
        t, ops, key, [](int32_t *frag, size_t n, void *ctx) -> int { return (*static_cast<F *>(ctx))(frag, n); },
        &f);
}

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
        model_.cells_per_page = static_cast<int64_t>(words_ / 4 - 1);
        model_.words_per_page = words_;
        const int64_t hash_pages = (2 * c.init - 1) / model_.cells_per_page + 1;
        model_.extent_pages = {hash_pages};
        model_.hash_size = hash_pages * model_.cells_per_page;
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
        if (got != want)
            fail(std::string(what) + " returned " + std::to_string(got) + " (" + netshm_strerror(got) +
                 "), expected " + std::to_string(want) + "; netshm_last_error: " + netshm_last_error());
    }
    void expect_ok(int got, const char *what) const { expect(got, NETSHM_OK, what); }

    int32_t read_descriptor(int word)
    {
        int32_t *base = nullptr;
        size_t pages = 0, wpp = 0;
        expect_ok(netshm_memory(table_.get(), &base, &pages, &wpp), "memory");
        return base[static_cast<size_t>(base[4]) * wpp + static_cast<size_t>(word)];
    }

    std::vector<size_t> fragments(size_t len) const
    {
        const size_t first = words_ - 6, follow = words_ - 4;
        std::vector<size_t> lengths{std::min(len, first)};
        for (size_t done = lengths[0]; done < len; done += lengths.back())
            lengths.push_back(std::min(len - done, follow));
        return lengths;
    }

    // The descriptor page against the model: hash size, extents, claimed
    // cells, bindings, and every page accounted for.
    void check_counters()
    {
        int32_t *base = nullptr;
        size_t pages = 0, wpp = 0;
        expect_ok(netshm_memory(table_.get(), &base, &pages, &wpp), "memory");
        if (wpp != words_)
            fail("memory: words_per_page " + std::to_string(wpp));
        const int32_t *d = base + static_cast<size_t>(base[4]) * wpp;
        std::ostringstream problem;
        if (d[1] != static_cast<int64_t>(pages))
            problem << " total pages " << d[1] << " but memory has " << pages << ";";
        if (d[2] != model_.hash_size)
            problem << " hash size " << d[2] << " expected " << model_.hash_size << ";";
        if (d[3] != model_.claimed)
            problem << " claimed cells " << d[3] << " expected " << model_.claimed << ";";
        if (d[4] != static_cast<int64_t>(model_.length))
            problem << " bindings " << d[4] << " expected " << model_.length << ";";
        int64_t hash_pages = 0;
        for (size_t i = 0; i < 16; ++i) {
            const int32_t count = d[8 + 2 * i + 1];
            const int64_t want = i < model_.extent_pages.size() ? model_.extent_pages[i] : 0;
            if (count != want)
                problem << " extent " << i << " has " << count << " pages, expected " << want << ";";
            hash_pages += count;
        }
        const int64_t used = model_.used_pages;
        if (2 + hash_pages + d[6] + used != d[1])
            problem << " page accounting: 2 + " << hash_pages << " hash + " << d[6] << " free + " << used
                    << " used != " << d[1] << " total;";
        if (!problem.str().empty())
            fail("descriptor page:" + problem.str());
    }

    std::vector<value_t> find_all(netshm_table *t, int32_t key)
    {
        std::vector<value_t> all;
        auto collect = [&all](const int32_t *v, size_t n) -> int {
            all.emplace_back(v, v + n);
            return 0;
        };
        expect_ok(netshm_find_all(
                      t, key,
                      [](const int32_t *v, size_t n, void *ctx) -> int { return (*static_cast<decltype(collect) *>(ctx))(v, n); },
                      &collect),
                  "find_all");
        return all;
    }

    void compare_key(netshm_table *t, int32_t key)
    {
        const std::vector<value_t> got = find_all(t, key);
        const std::vector<value_t> *want = model_.of(key);
        if (want == nullptr ? !got.empty() : got != *want)
            fail("find_all(" + std::to_string(key) + ") gave " + show(got) + ", the model has " +
                 (want ? show(*want) : std::string("nothing")));
    }

    void compare_length(netshm_table *t)
    {
        size_t n = 0;
        expect_ok(netshm_length(t, &n), "length");
        if (n != model_.length)
            fail("length " + std::to_string(n) + ", the model has " + std::to_string(model_.length));
    }

    void compare_everything(netshm_table *t)
    {
        std::map<int32_t, std::vector<value_t>> seen;
        auto collect = [&seen](int32_t k, const int32_t *v, size_t n) -> int {
            seen[k].emplace_back(v, v + n);
            return 0;
        };
        expect_ok(netshm_iter(
                      t,
                      [](int32_t k, const int32_t *v, size_t n, void *ctx) -> int {
                          return (*static_cast<decltype(collect) *>(ctx))(k, v, n);
                      },
                      &collect),
                  "iter");
        std::map<int32_t, std::vector<value_t>> want;
        for (const auto &[k, list] : model_.bindings)
            if (!list.empty())
                want[k] = list;
        if (seen != want) {
            std::string diff;
            for (const auto &[k, list] : want)
                if (seen[k] != list)
                    diff += "\n    key " + std::to_string(k) + ": iter " + show(seen[k]) + ", model " + show(list);
            for (const auto &[k, list] : seen)
                if (!want.count(k) && !list.empty())
                    diff += "\n    key " + std::to_string(k) + ": iter " + show(list) + ", not in the model";
            fail("iter disagrees with the model:" + diff);
        }
        std::multiset<int32_t> keys;
        auto collect_key = [&keys](int32_t k) -> int {
            keys.insert(k);
            return 0;
        };
        expect_ok(netshm_iter_keys(
                      t, [](int32_t k, void *ctx) -> int { return (*static_cast<decltype(collect_key) *>(ctx))(k); },
                      &collect_key),
                  "iter_keys");
        std::multiset<int32_t> want_keys;
        for (const auto &[k, list] : want)
            want_keys.insert(k);
        if (keys != want_keys)
            fail("iter_keys gave " + std::to_string(keys.size()) + " keys, the model has " +
                 std::to_string(want_keys.size()));
        compare_length(t);
        if (t == table_.get())
            check_counters();
    }

    void compare_dump()
    {
        const int fd = ::memfd_create("netshm-model-dump", MFD_CLOEXEC);
        if (fd < 0)
            fail("memfd_create failed");
        expect_ok(netshm_dump(table_.get(), fd), "dump");
        const off_t size = ::lseek(fd, 0, SEEK_END);
        std::string text(static_cast<size_t>(size), '\0');
        const bool read_ok = ::pread(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
        ::close(fd);
        if (!read_ok)
            fail("cannot read the dump back");
        std::multiset<std::string> want;
        for (const auto &[k, list] : model_.bindings)
            for (const value_t &v : list) {
                std::string line = "  " + std::to_string(k) + " => [| ";
                for (size_t i = 0; i < v.size(); ++i)
                    line += (i ? "; " : "") + std::to_string(v[i]);
                want.insert(line + " |]");
            }
        std::vector<std::string> lines;
        for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
            lines.push_back(text.substr(start, end - start));
        if (lines.size() < 2 || lines.front() != "<shm length=" + std::to_string(model_.length) ||
            lines.back() != ">" || text.back() != '\n' ||
            std::multiset<std::string>(lines.begin() + 1, lines.end() - 1) != want)
            fail("dump disagrees with the model:\n" + text.substr(0, 2000));
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

    // What a block callback does with one binding.
    struct binding_plan {
        uint32_t mask = 0;      // write_blocks: XORed into every word seen (0 = no write)
        size_t remove_at = SIZE_MAX;  // call index answering REMOVE_BINDING
        size_t stop_at = SIZE_MAX;    // call index answering `stop`
        int stop = NETSHM_CONTINUE;   // NEXT, BREAK or a negative value
    };

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

    // Drives a block callback through the model's bindings of a key:
    // checks every call, answers by plan, and works out what must result.
    struct block_walk {
        const sequence *seq;
        std::vector<value_t> bindings;  // updated with in-place writes
        std::vector<binding_plan> plans;
        std::vector<bool> removed;
        bool announce = false;
        size_t binding = 0, call = 0, offset = 0;
        bool remove_pending = false, finished = false;
        int expected_rc = NETSHM_OK;
        std::string problem;

        void end_binding(bool apply_removal)
        {
            if (apply_removal && remove_pending)
                removed[binding] = true;
            remove_pending = false;
            ++binding;
            call = 0;
            offset = 0;
        }

        // find_blocks: read-only fragments (its plans never write).
        int operator()(const int32_t *frag, size_t n) { return visit(frag, n, nullptr); }
        int operator()(int32_t *frag, size_t n) { return visit(frag, n, frag); }

        int visit(const int32_t *frag, size_t n, int32_t *writable)
        {
            if (!problem.empty())
                return -1000;
            if (finished || binding >= bindings.size()) {
                problem = "a call after the walk should have ended";
                return -1000;
            }
            value_t &v = bindings[binding];
            const std::vector<size_t> lengths = seq->fragments(v.size());
            const bool at_end = call == lengths.size();
            if ((frag == nullptr) != at_end || (at_end ? n != 0 : n != lengths[call])) {
                problem = "binding " + std::to_string(binding) + " call " + std::to_string(call) + ": got " +
                          (frag ? "a fragment" : "the end marker") + " of length " + std::to_string(n) +
                          " for a value of length " + std::to_string(v.size());
                return -1000;
            }
            if (frag != nullptr && !std::equal(frag, frag + n, v.begin() + static_cast<std::ptrdiff_t>(offset))) {
                problem = "binding " + std::to_string(binding) + " fragment " + std::to_string(call) + " differs";
                return -1000;
            }
            const binding_plan &plan = plans[binding];
            if (writable != nullptr && plan.mask != 0)
                for (size_t i = 0; i < n; ++i) {
                    writable[i] = static_cast<int32_t>(static_cast<uint32_t>(writable[i]) ^ plan.mask);
                    v[offset + i] = writable[i];
                }
            int answer = NETSHM_CONTINUE;
            if (call == plan.stop_at)
                answer = plan.stop;
            else if (call == plan.remove_at)
                answer = NETSHM_REMOVE_BINDING;
            offset += n;
            ++call;
            if (answer == NETSHM_REMOVE_BINDING) {
                if (!announce) {
                    expected_rc = NETSHM_EINVAL;
                    finished = true;
                    return answer;
                }
                remove_pending = true;
            }
            if (answer < 0) {
                expected_rc = answer;
                finished = true;
            } else if (answer == NETSHM_BREAK) {
                end_binding(true);
                finished = true;
            } else if (answer == NETSHM_NEXT || at_end) {
                end_binding(true);
            }
            return answer;
        }
    };

    block_walk plan_walk(int32_t key, bool writes, bool removes, std::string &line)
    {
        block_walk walk;
        walk.seq = this;
        if (const std::vector<value_t> *list = model_.of(key))
            walk.bindings = *list;
        walk.removed.assign(walk.bindings.size(), false);
        for (const value_t &v : walk.bindings) {
            walk.plans.push_back(random_plan(fragments(v.size()).size() + 1, writes, removes));
            const binding_plan &p = walk.plans.back();
            line += " {";
            if (p.mask)
                line += " write";
            if (p.remove_at != SIZE_MAX)
                line += " remove@" + std::to_string(p.remove_at);
            if (p.stop_at != SIZE_MAX)
                line += " " + std::to_string(p.stop) + "@" + std::to_string(p.stop_at);
            line += " }";
        }
        return walk;
    }

    void do_find_blocks(int32_t key)
    {
        std::string line = "find_blocks " + std::to_string(key);
        block_walk walk = plan_walk(key, false, false, line);
        note(line);
        const int rc = blocks_with(table_.get(), key, walk);
        if (!walk.problem.empty())
            fail("find_blocks: " + walk.problem);
        expect(rc, walk.expected_rc, "find_blocks");
        if (!walk.finished && walk.binding != walk.bindings.size())
            fail("find_blocks ended after " + std::to_string(walk.binding) + " of " +
                 std::to_string(walk.bindings.size()) + " bindings");
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
        const int rc = write_blocks_with(table_.get(), ops, key, walk);
        if (!walk.problem.empty())
            fail("write_blocks: " + walk.problem);
        expect(rc, walk.expected_rc, "write_blocks");
        if (!walk.finished && walk.binding != walk.bindings.size())
            fail("write_blocks ended after " + std::to_string(walk.binding) + " of " +
                 std::to_string(walk.bindings.size()) + " bindings");
        if (walk.bindings.empty())
            return;
        std::vector<value_t> kept;
        for (size_t i = 0; i < walk.bindings.size(); ++i) {
            if (walk.removed[i]) {
                --model_.length;
                model_.used_pages -= model_.pages_for(walk.bindings[i].size());
            } else {
                kept.push_back(walk.bindings[i]);
            }
        }
        model_.bindings[key] = std::move(kept);
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
    model model_;
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
