// An in-memory model of a table, for tests that run operations against the
// library and the model and compare: every key's bindings, the hash table's
// shape as the format grows it, the content pages in use, and the oracle of
// the block callbacks (find_blocks, write_blocks).  No Catch2 here: the
// fuzzers use it too.
#pragma once

#include <netshm.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

namespace netshm_test {

using value_t = std::vector<int32_t>;

inline std::string show(const value_t &v)
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

inline std::string show(const std::vector<value_t> &vs)
{
    std::string text = "{";
    for (const value_t &v : vs)
        text += " " + show(v);
    return text + " }";
}

// The fragment lengths the block callbacks see for a value of `len` words:
// the first page holds W - 6 words, each follow-up page W - 4.
inline std::vector<size_t> value_fragments(size_t words_per_page, size_t len)
{
    const size_t first = words_per_page - 6, follow = words_per_page - 4;
    std::vector<size_t> lengths{std::min(len, first)};
    for (size_t done = lengths[0]; done < len; done += lengths.back())
        lengths.push_back(std::min(len - done, follow));
    return lengths;
}

// The table as the model sees it: every key's bindings, newest first, and
// the hash table's shape as §5 of the design grows it.
struct table_model {
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

    // A table just created or re-initialised with the hint `init` (the
    // format's default 1000 when negative).
    void start(size_t words, long long init)
    {
        *this = table_model{};
        words_per_page = words;
        cells_per_page = static_cast<int64_t>(words / 4 - 1);
        const int64_t hint = init < 0 ? 1000 : init;
        const int64_t hash_pages = (2 * hint - 1) / cells_per_page + 1;
        extent_pages = {hash_pages};
        hash_size = hash_pages * cells_per_page;
    }

    int64_t pages_for(size_t len) const { return static_cast<int64_t>(value_fragments(words_per_page, len).size()); }

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
    size_t distinct_keys() const
    {
        return static_cast<size_t>(
            std::count_if(bindings.begin(), bindings.end(), [](const auto &entry) { return !entry.second.empty(); }));
    }
    uint64_t value_bytes() const
    {
        uint64_t words = 0;
        for (const auto &[k, list] : bindings)
            for (const value_t &v : list)
                words += v.size();
        return 4 * words;
    }
};

// What a block callback does with one binding.
struct binding_plan {
    uint32_t mask = 0;            // write_blocks: XORed into every word seen (0 = no write)
    size_t remove_at = SIZE_MAX;  // call index answering REMOVE_BINDING
    size_t stop_at = SIZE_MAX;    // call index answering `stop`
    int stop = NETSHM_CONTINUE;   // NEXT, BREAK or a negative value

    std::string describe() const
    {
        std::string text = " {";
        if (mask)
            text += " write";
        if (remove_at != SIZE_MAX)
            text += " remove@" + std::to_string(remove_at);
        if (stop_at != SIZE_MAX)
            text += " " + std::to_string(stop) + "@" + std::to_string(stop_at);
        return text + " }";
    }
};

// Drives a block callback through the model's bindings of a key: checks
// every call, answers by plan (one per binding, pushed by the caller), and
// works out what must result.
struct block_walk {
    size_t words_per_page = 0;
    std::vector<value_t> bindings;  // updated with in-place writes
    std::vector<binding_plan> plans;
    std::vector<bool> removed;
    bool announce = false;
    size_t binding = 0, call = 0, offset = 0;
    bool remove_pending = false, finished = false;
    int expected_rc = NETSHM_OK;
    std::string problem;

    // A walk over key's bindings as the model has them, with no plans yet.
    static block_walk over(const table_model &m, int32_t key)
    {
        block_walk walk;
        walk.words_per_page = m.words_per_page;
        if (const std::vector<value_t> *list = m.of(key))
            walk.bindings = *list;
        walk.removed.assign(walk.bindings.size(), false);
        return walk;
    }

    // The number of calls binding i gets: its fragments and the end marker.
    size_t calls_of(size_t i) const { return value_fragments(words_per_page, bindings[i].size()).size() + 1; }

    // Empty if the walk ended as it must with the operation's result rc,
    // else what went wrong.
    std::string verdict(int rc) const
    {
        if (!problem.empty())
            return problem;
        if (rc != expected_rc)
            return "returned " + std::to_string(rc) + " (" + netshm_strerror(rc) + "), expected " +
                   std::to_string(expected_rc) + "; netshm_last_error: " + netshm_last_error();
        if (!finished && binding != bindings.size())
            return "ended after " + std::to_string(binding) + " of " + std::to_string(bindings.size()) + " bindings";
        return {};
    }

    // write_blocks ended: the model takes the rewritten values and loses the
    // removed bindings.
    void apply(table_model &m, int32_t key) const
    {
        if (bindings.empty())
            return;
        std::vector<value_t> kept;
        for (size_t i = 0; i < bindings.size(); ++i) {
            if (removed[i]) {
                --m.length;
                m.used_pages -= m.pages_for(bindings[i].size());
            } else {
                kept.push_back(bindings[i]);
            }
        }
        m.bindings[key] = std::move(kept);
    }

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
        const std::vector<size_t> lengths = value_fragments(words_per_page, v.size());
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

// Calls netshm_find_blocks / netshm_write_blocks with a callable (its
// address as ctx).
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

// ------------------------------------------------ the table against the model
// Each returns what differs, empty if nothing does.

// A result code other than the one wanted.
inline std::string unexpected(const char *what, int got, int want)
{
    if (got == want)
        return {};
    return std::string(what) + " returned " + std::to_string(got) + " (" + netshm_strerror(got) + "), expected " +
           std::to_string(want) + "; netshm_last_error: " + netshm_last_error();
}

// The descriptor page against the model: hash size, extents, claimed
// cells, bindings, and every page accounted for.
inline std::string descriptor_differences(netshm_table *t, const table_model &m)
{
    int32_t *base = nullptr;
    size_t pages = 0, wpp = 0;
    if (std::string problem = unexpected("memory", netshm_memory(t, &base, &pages, &wpp), NETSHM_OK); !problem.empty())
        return problem;
    if (wpp != m.words_per_page)
        return "memory: words_per_page " + std::to_string(wpp);
    const int32_t *d = base + static_cast<size_t>(base[4]) * wpp;
    std::ostringstream problem;
    if (d[1] != static_cast<int64_t>(pages))
        problem << " total pages " << d[1] << " but memory has " << pages << ";";
    if (d[2] != m.hash_size)
        problem << " hash size " << d[2] << " expected " << m.hash_size << ";";
    if (d[3] != m.claimed)
        problem << " claimed cells " << d[3] << " expected " << m.claimed << ";";
    if (d[4] != static_cast<int64_t>(m.length))
        problem << " bindings " << d[4] << " expected " << m.length << ";";
    int64_t hash_pages = 0;
    for (size_t i = 0; i < 16; ++i) {
        const int32_t count = d[8 + 2 * i + 1];
        const int64_t want = i < m.extent_pages.size() ? m.extent_pages[i] : 0;
        if (count != want)
            problem << " extent " << i << " has " << count << " pages, expected " << want << ";";
        hash_pages += count;
    }
    if (2 + hash_pages + d[6] + m.used_pages != d[1])
        problem << " page accounting: 2 + " << hash_pages << " hash + " << d[6] << " free + " << m.used_pages
                << " used != " << d[1] << " total;";
    return problem.str().empty() ? std::string() : "descriptor page:" + problem.str();
}

// Every binding of key, newest first, as netshm_find_all gives them.
inline int find_all_values(netshm_table *t, int32_t key, std::vector<value_t> &all)
{
    all.clear();
    return netshm_find_all(
        t, key,
        [](const int32_t *v, size_t n, void *ctx) -> int {
            static_cast<std::vector<value_t> *>(ctx)->emplace_back(v, v + n);
            return 0;
        },
        &all);
}

inline std::string key_differences(netshm_table *t, const table_model &m, int32_t key)
{
    std::vector<value_t> got;
    if (std::string problem = unexpected("find_all", find_all_values(t, key, got), NETSHM_OK); !problem.empty())
        return problem;
    const std::vector<value_t> *want = m.of(key);
    if (want == nullptr ? !got.empty() : got != *want)
        return "find_all(" + std::to_string(key) + ") gave " + show(got) + ", the model has " +
               (want ? show(*want) : std::string("nothing"));
    return {};
}

inline std::string length_differences(netshm_table *t, const table_model &m)
{
    size_t n = 0;
    if (std::string problem = unexpected("length", netshm_length(t, &n), NETSHM_OK); !problem.empty())
        return problem;
    if (n != m.length)
        return "length " + std::to_string(n) + ", the model has " + std::to_string(m.length);
    return {};
}

// iter, iter_keys and length against the whole model.
inline std::string iteration_differences(netshm_table *t, const table_model &m)
{
    std::map<int32_t, std::vector<value_t>> seen;
    int rc = netshm_iter(
        t,
        [](int32_t k, const int32_t *v, size_t n, void *ctx) -> int {
            (*static_cast<std::map<int32_t, std::vector<value_t>> *>(ctx))[k].emplace_back(v, v + n);
            return 0;
        },
        &seen);
    if (std::string problem = unexpected("iter", rc, NETSHM_OK); !problem.empty())
        return problem;
    std::map<int32_t, std::vector<value_t>> want;
    for (const auto &[k, list] : m.bindings)
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
        return "iter disagrees with the model:" + diff;
    }
    std::multiset<int32_t> keys;
    rc = netshm_iter_keys(
        t,
        [](int32_t k, void *ctx) -> int {
            static_cast<std::multiset<int32_t> *>(ctx)->insert(k);
            return 0;
        },
        &keys);
    if (std::string problem = unexpected("iter_keys", rc, NETSHM_OK); !problem.empty())
        return problem;
    std::multiset<int32_t> want_keys;
    for (const auto &[k, list] : want)
        want_keys.insert(k);
    if (keys != want_keys)
        return "iter_keys gave " + std::to_string(keys.size()) + " keys, the model has " +
               std::to_string(want_keys.size());
    return length_differences(t, m);
}

// netshm_dump's text against the model (the order of keys is free).
inline std::string dump_differences(netshm_table *t, const table_model &m)
{
    const int fd = ::memfd_create("netshm-model-dump", MFD_CLOEXEC);
    if (fd < 0)
        return "memfd_create failed";
    const int rc = netshm_dump(t, fd);
    const off_t size = ::lseek(fd, 0, SEEK_END);
    std::string text(size > 0 ? static_cast<size_t>(size) : 0, '\0');
    const bool read_ok = ::pread(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (std::string problem = unexpected("dump", rc, NETSHM_OK); !problem.empty())
        return problem;
    if (!read_ok)
        return "cannot read the dump back";
    std::multiset<std::string> want;
    for (const auto &[k, list] : m.bindings)
        for (const value_t &v : list) {
            std::string line = "  " + std::to_string(k) + " => [| ";
            for (size_t i = 0; i < v.size(); ++i)
                line += (i ? "; " : "") + std::to_string(v[i]);
            want.insert(line + " |]");
        }
    std::vector<std::string> lines;
    for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
        lines.push_back(text.substr(start, end - start));
    if (lines.size() < 2 || lines.front() != "<shm length=" + std::to_string(m.length) || lines.back() != ">" ||
        text.back() != '\n' || std::multiset<std::string>(lines.begin() + 1, lines.end() - 1) != want)
        return "dump disagrees with the model:\n" + text.substr(0, 2000);
    return {};
}

} // namespace netshm_test
