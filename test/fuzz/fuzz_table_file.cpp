// libFuzzer target: arbitrary bytes as a table file.
//
// Input: 4 control bytes, then the file.
//   byte 0, bit 0   record locking (else none)
//           bit 1   open the file read-only
//           bits 2-3  page size given to netshm_manage: 0 or 1 = 0 (detect),
//                   2 = one of page_sizes[byte 1], 3 = 160 + 4 * byte 1
//           bit 4   manage the file a second time after the writes
//           bit 5   finally re-initialise it (init = byte 1 % 64)
//   bytes 2-3       seed of the choices that are not read from the input
//                   (block answers, value lengths, extra keys)
// The file goes to a scratch file in /dev/shm, which is opened and managed;
// then netshm_check, netshm_stat and every read and write operation run on
// it, with keys found by iteration, taken from the file's words, and a few
// fixed ones.  Every result must be one the header documents for the case:
// OK, ENOTFOUND for a missing key, ETOOBIG for a too small buffer or a hash
// table at its 16 extents, EINVAL and EREADONLY where documented, EEXIST
// from a re-initialisation of data that is not a table (nothing written), and
// ECORRUPT only if netshm_check found problems.  A table netshm_check finds
// sound must also be consistent (stat, length, iteration and lookups agree)
// and stay sound through the writes.  The object must not grow far past the
// input.  Anything else aborts: a finding.
#include "fuzz_support.hpp"

#include <netshm.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

using netshm_fuzz::choices;
using netshm_fuzz::described;
using netshm_fuzz::finding;

constexpr size_t control_bytes = 4;
constexpr size_t max_file_bytes = 65536;
// Growth the writes may cause on any file: the hash table at most triples
// (a hostile claimed count makes each new key add an extent twice the
// largest, until the count is below half the size again), and the values
// written need a few hundred pages.  A page count the object does not hold
// is corruption, so nothing here can ask for gigabytes.
constexpr uint64_t max_object_bytes = 16 * 1024 * 1024;

constexpr unsigned page_sizes[] = {160, 164, 200, 256, 512, 1024, 4096, 65536};
constexpr int negative_answer = -100;

// The results a call may give besides OK (and ECORRUPT on a damaged table).
enum allowed : unsigned {
    only_ok = 0,
    missing = 1u << 0,       // ENOTFOUND
    buffer_small = 1u << 1,  // ETOOBIG from find_into
    full_table = 1u << 2,    // ETOOBIG: the hash table has all 16 extents
    read_only = 1u << 3,     // EREADONLY
};

class exercise {
public:
    exercise(const uint8_t *data, size_t size)
        : flags_(data[0]), size_byte_(data[1]), rng_(static_cast<uint64_t>(data[2]) | static_cast<uint64_t>(data[3]) << 8),
          file_(data + control_bytes), file_size_(size - control_bytes),
          path_(netshm_fuzz::scratch_path("fuzz_table_file"))
    {
    }

    void run()
    {
        netshm_fuzz::write_scratch(path_, file_, file_size_);
        for (size_t i = 0; i + 4 <= file_size_ && file_keys_.size() < 4; i += 4 + 4 * rng_.below(64)) {
            int32_t word;
            std::memcpy(&word, file_ + i, 4);
            file_keys_.push_back(word);
        }
        const bool opened_read_only = flags_ & 2;
        pass(opened_read_only);
        if ((flags_ & 16) && !opened_read_only)
            pass(false);
        if ((flags_ & 32) && !opened_read_only)
            reinitialise();
        const uint64_t size = netshm_fuzz::file_size(path_);
        if (size > std::max<uint64_t>(max_object_bytes, file_size_))
            finding("the object grew to " + std::to_string(size) + " bytes from a file of " +
                    std::to_string(file_size_));
    }

private:
    unsigned pagesize() const
    {
        switch ((flags_ >> 2) & 3) {
        case 2:
            return page_sizes[size_byte_ % std::size(page_sizes)];
        case 3:
            return 160 + 4u * size_byte_;
        default:
            return 0;
        }
    }
    netshm_locking locking() const { return flags_ & 1 ? NETSHM_RECORD_LOCKING : NETSHM_NO_LOCKING; }

    // ------------------------------------------------------------ results

    void expect(const char *operation, int rc, unsigned allow = only_ok)
    {
        const std::string message = netshm_last_error();
        if (rc == NETSHM_OK || (rc == NETSHM_ENOTFOUND && (allow & missing)) ||
            (rc == NETSHM_EREADONLY && (allow & read_only)))
            return;
        if (rc == NETSHM_ETOOBIG &&
            ((allow & buffer_small) || ((allow & full_table) && message.find("has all 16 extents") != std::string::npos)))
            return;
        if (rc == NETSHM_ECORRUPT && !sound_) {
            expect_page_named(operation, message);
            return;
        }
        finding(described(operation, rc) + (rc == NETSHM_ECORRUPT ? " on a table netshm_check found sound" : ""));
    }

    // ECORRUPT messages name the page they are about, or the object's size.
    static void expect_page_named(const char *operation, const std::string &message)
    {
        if (message.find("page") == std::string::npos && message.find(" bytes") == std::string::npos)
            finding(std::string(operation) + ": an ECORRUPT message naming no page: " + message);
    }

    // Reads every word, so that a bad pointer or mapping shows under ASan.
    void touch(const int32_t *words, size_t n)
    {
        uint32_t sum = 0;
        for (size_t i = 0; words != nullptr && i < n; ++i)
            sum += static_cast<uint32_t>(words[i]);
        sink_ = sum;
    }

    // ------------------------------------------------------------ passes

    void pass(bool open_read_only)
    {
        sound_ = false;
        netshm_descr *descr = nullptr;
        expect("netshm_open", netshm_open(NETSHM_TYPE_FILE, path_.c_str(), open_read_only ? O_RDONLY : O_RDWR, 0, &descr));
        const unsigned size = pagesize();
        netshm_table *table = nullptr;
        const int rc = netshm_manage(descr, locking(), size, -1, &table);
        if (rc == NETSHM_OK) {
            use(table, open_read_only);
            expect("table_close", netshm_table_close(table));
        } else if (!manage_refusal_documented(rc, size, open_read_only)) {
            finding(described("manage", rc) + (sound_after_writes_ ? " on a table netshm_check found sound" : ""));
        }
        expect("netshm_close", netshm_close(descr));
    }

    bool manage_refusal_documented(int rc, unsigned size, bool open_read_only)
    {
        const std::string message = netshm_last_error();
        if (rc == NETSHM_ECORRUPT && !sound_after_writes_) {
            expect_page_named("manage", message);
            return true;
        }
        if (rc == NETSHM_EINVAL)
            return size != 0 ? message.find("has page size") != std::string::npos
                             : message.find("valid descriptor page exists for page sizes") != std::string::npos;
        return rc == NETSHM_EREADONLY && open_read_only && file_size_ == 0;
    }

    void use(netshm_table *t, bool open_read_only)
    {
        check_and_stat(t);
        const bool sound_before = sound_;
        reads(t);
        if (open_read_only) {
            writes_refused(t);
            return;
        }
        writes(t);
        check_and_stat(t);
        if (sound_before && !sound_)
            finding("the writes left a sound table damaged: " + first_problem_);
        sound_after_writes_ = sound_;
        reads(t);
    }

    void reinitialise()
    {
        netshm_descr *descr = nullptr;
        expect("netshm_open", netshm_open(NETSHM_TYPE_FILE, path_.c_str(), O_RDWR, 0, &descr));
        const std::string before = netshm_fuzz::read_scratch(path_);
        const uint64_t old_size = before.size();
        const unsigned size = pagesize();
        netshm_table *table = nullptr;
        const int rc = netshm_manage(descr, locking(), size, size_byte_ % 64, &table);
        const std::string message = netshm_last_error();
        if (rc == NETSHM_OK) {
            check_and_stat(table);
            if (!sound_)
                finding("a re-initialised table is damaged: " + first_problem_);
            size_t length = 1;
            expect("length", netshm_length(table, &length));
            if (length != 0)
                finding("a re-initialised table has " + std::to_string(length) + " bindings");
            expect("table_close", netshm_table_close(table));
            if (netshm_fuzz::file_size(path_) < old_size)
                finding("re-initialisation shrank the object");
        } else if (rc == NETSHM_EEXIST) {
            // Documented for data that is not a table: its first 16 bytes are
            // neither the file magic nor zeros.  Nothing may be written.
            static const unsigned char magic[16] = {0x09, 0x12, 0x87, 0xDE, 0x09, 0x12, 0x88, 0xDE,
                                                    0x09, 0x13, 0x87, 0xDE, 0x0A, 0x12, 0x87, 0xDE};
            const std::string head = before.substr(0, 16);
            if ((head.size() == 16 && std::memcmp(head.data(), magic, 16) == 0) ||
                head.find_first_not_of('\0') == std::string::npos)
                finding(described("manage with init", rc) + " on a table or zeros: " + message);
            if (netshm_fuzz::read_scratch(path_) != before)
                finding("manage with init changed data that is not a table");
        } else if (!(rc == NETSHM_EINVAL && size == 0 &&
                     message.find("valid descriptor page exists for page sizes") != std::string::npos)) {
            finding(described("manage with init", rc));
        }
        expect("netshm_close", netshm_close(descr));
    }

    // ------------------------------------------------------------ check, stat

    void check_and_stat(netshm_table *t)
    {
        first_problem_.clear();
        const int problems = netshm_check(
            t, [](const netshm_problem *p, void *ctx) -> int { return static_cast<exercise *>(ctx)->inspect(*p); }, this);
        if (problems < 0)
            finding(described("check", problems));
        sound_ = problems == 0;
        netshm_stats s{};
        s.struct_size = sizeof s;
        const int rc = netshm_stat(t, &s);
        if (sound_ ? rc != NETSHM_OK : rc != NETSHM_ECORRUPT)
            finding(described("stat", rc) + " but netshm_check found " + std::to_string(problems) + " problems");
        if (sound_)
            stat_consistent(t, s);
    }

    int inspect(const netshm_problem &p)
    {
        if (p.kind < NETSHM_PROBLEM_MASTER || p.kind > NETSHM_PROBLEM_TAIL || p.page < -1 || p.message == nullptr ||
            *p.message == '\0')
            finding("check reported kind " + std::to_string(p.kind) + " at page " + std::to_string(p.page) + ": " +
                    (p.message ? p.message : "(null)"));
        if (first_problem_.empty())
            first_problem_ = p.message;
        return 0;
    }

    // A sound table's statistics agree with what the operations see.
    void stat_consistent(netshm_table *t, const netshm_stats &s)
    {
        int32_t *base = nullptr;
        size_t pages = 0, words = 0;
        expect("memory", netshm_memory(t, &base, &pages, &words));
        size_t length = 0;
        expect("length", netshm_length(t, &length));
        struct counts {
            uint64_t bindings = 0, keys = 0, value_bytes = 0;
        } seen;
        expect("iter", netshm_iter(
                           t,
                           [](int32_t, const int32_t *, size_t n, void *ctx) -> int {
                               auto *c = static_cast<counts *>(ctx);
                               ++c->bindings;
                               c->value_bytes += 4 * n;
                               return 0;
                           },
                           &seen));
        expect("iter_keys", netshm_iter_keys(
                                t,
                                [](int32_t, void *ctx) -> int {
                                    ++static_cast<counts *>(ctx)->keys;
                                    return 0;
                                },
                                &seen));
        const bool agree = s.struct_size == sizeof s && s.pagesize == 4 * words && s.bindings == length &&
                           s.bindings == seen.bindings && s.distinct_keys == seen.keys &&
                           s.value_bytes == seen.value_bytes &&
                           2 + s.hash_pages + s.content_pages + s.free_pages == s.total_pages &&
                           s.total_pages * s.pagesize <= s.object_bytes && s.extents >= 1 && s.extents <= 16 &&
                           s.claimed_cells <= s.hash_cells;
        if (!agree)
            finding("netshm_stat of a sound table disagrees: pagesize " + std::to_string(s.pagesize) + " (words " +
                    std::to_string(words) + "), bindings " + std::to_string(s.bindings) + " (length " +
                    std::to_string(length) + ", iter " + std::to_string(seen.bindings) + "), keys " +
                    std::to_string(s.distinct_keys) + " (iter_keys " + std::to_string(seen.keys) + "), value bytes " +
                    std::to_string(s.value_bytes) + " (iter " + std::to_string(seen.value_bytes) + "), pages " +
                    std::to_string(s.hash_pages) + " hash + " + std::to_string(s.content_pages) + " content + " +
                    std::to_string(s.free_pages) + " free of " + std::to_string(s.total_pages));
    }

    // ------------------------------------------------------------ reads

    std::vector<int32_t> keys(netshm_table *t)
    {
        std::vector<int32_t> found;
        const int rc = netshm_iter_keys(
            t,
            [](int32_t k, void *ctx) -> int {
                auto *v = static_cast<std::vector<int32_t> *>(ctx);
                v->push_back(k);
                return v->size() < 8 ? 0 : negative_answer;
            },
            &found);
        if (rc != negative_answer)
            expect("iter_keys", rc);
        found.insert(found.end(), file_keys_.begin(), file_keys_.end());
        found.push_back(0);
        found.push_back(static_cast<int32_t>(rng_.next()));
        return found;
    }

    // CONTINUE mostly, sometimes NEXT, BREAK or a negative answer.
    int block_answer(bool writing)
    {
        switch (rng_.below(20)) {
        case 0:
            return NETSHM_NEXT;
        case 1:
            return NETSHM_BREAK;
        case 2:
            answered_negative_ = true;
            return negative_answer;
        case 3:
        case 4:
            return writing ? NETSHM_REMOVE_BINDING : NETSHM_CONTINUE;
        default:
            return NETSHM_CONTINUE;
        }
    }

    // The result of an operation whose callback may have stopped it.
    void expect_answered(const char *operation, int rc)
    {
        if (!(answered_negative_ && rc == negative_answer))
            expect(operation, rc);
        answered_negative_ = false;
    }

    void reads(netshm_table *t)
    {
        size_t length = 0;
        expect("length", netshm_length(t, &length));
        const std::vector<int32_t> read = keys(t);
        for (int32_t key : read)
            read_key(t, key);
        read_many(t, read);
        struct iteration {
            exercise *self;
            netshm_table *t;
        } it{this, t};
        const int rc = netshm_iter(
            t,
            [](int32_t key, const int32_t *v, size_t n, void *ctx) -> int {
                auto *i = static_cast<iteration *>(ctx);
                i->self->touch(v, n);
                return i->self->from_callback(i->t, key);
            },
            &it);
        expect_answered("iter", rc);
        expect("dump", netshm_dump(t, devnull_.fd));
        int32_t *base = nullptr;
        size_t pages = 0, words = 0;
        const int memory_rc = netshm_memory(t, &base, &pages, &words);
        expect("memory", memory_rc);
        if (memory_rc == NETSHM_OK)
            touch(base, pages * words);
    }

    // Now and then a lookup of the key just seen (reads are allowed from
    // callbacks), or a negative answer.
    int from_callback(netshm_table *t, int32_t key)
    {
        switch (rng_.below(16)) {
        case 0:
            expect_bound("mem from a callback", netshm_mem(t, key), key);
            return 0;
        case 1:
            answered_negative_ = true;
            return negative_answer;
        default:
            return 0;
        }
    }

    // A key an iteration presented: bound, unless the table is damaged.
    void expect_bound(const char *operation, int mem, int32_t key)
    {
        if (mem == 1 || (mem == 0 && !sound_))
            return;
        if (mem == 0)
            finding(std::string(operation) + ": key " + std::to_string(key) +
                    " is unbound but an iteration presented it, in a sound table");
        expect(operation, mem);
    }

    // netshm_find_many of the keys, each also found one at a time: the same
    // values, and NETSHM_ECORRUPT exactly when one of those finds was.
    void read_many(netshm_table *t, const std::vector<int32_t> &keys)
    {
        std::vector<int> single_rc;
        std::vector<std::vector<int32_t>> single_value;
        for (int32_t key : keys) {
            int32_t *value = nullptr;
            size_t len = 0;
            single_rc.push_back(netshm_find(t, key, &value, &len));
            single_value.emplace_back(value, value + (single_rc.back() == NETSHM_OK ? len : 0));
            netshm_free(value);
        }
        const bool corrupt = std::find(single_rc.begin(), single_rc.end(), NETSHM_ECORRUPT) != single_rc.end();
        std::vector<netshm_found> found(keys.size());
        std::vector<int32_t> values;
        size_t needed = 0;
        int rc = netshm_find_many(t, keys.data(), keys.size(), found.data(), nullptr, 0, &needed);
        if (rc == NETSHM_ETOOBIG) {
            values.resize(needed);
            rc = netshm_find_many(t, keys.data(), keys.size(), found.data(), values.data(), values.size(), &needed);
        }
        if (corrupt != (rc == NETSHM_ECORRUPT))
            finding(described("find_many", rc) + (corrupt ? " where a find of one of its keys was ECORRUPT"
                                                          : " where the finds of its keys were not"));
        expect("find_many", rc);
        if (rc != NETSHM_OK)
            return;
        for (size_t i = 0; i < keys.size(); ++i) {
            const bool agrees =
                found[i].rc == single_rc[i] &&
                std::equal(values.begin() + static_cast<std::ptrdiff_t>(found[i].offset),
                           values.begin() + static_cast<std::ptrdiff_t>(found[i].offset + found[i].len),
                           single_value[i].begin(), single_value[i].end());
            if (!agrees)
                finding("find_many of key " + std::to_string(keys[i]) + " answered " + std::to_string(found[i].rc) +
                        " with " + std::to_string(found[i].len) + " words, find " + std::to_string(single_rc[i]) +
                        " with " + std::to_string(single_value[i].size()));
        }
    }

    void read_key(netshm_table *t, int32_t key)
    {
        const int mem = netshm_mem(t, key);
        if (mem != 0 && mem != 1)
            expect("mem", mem);
        int32_t *value = nullptr;
        size_t len = 0;
        const int found = netshm_find(t, key, &value, &len);
        expect("find", found, missing);
        std::vector<int32_t> newest;
        if (found == NETSHM_OK) {
            if (value == nullptr)
                finding("find returned OK with a NULL value");
            touch(value, len);
            newest.assign(value, value + len);
        }
        netshm_free(value);

        size_t needed = 0;
        const int asked = netshm_find_into(t, key, nullptr, 0, &needed);
        expect("find_into", asked, missing | buffer_small);
        std::vector<int32_t> copy(needed + 1, 0x5A5A5A5A);
        size_t got = 0;
        const int copied = netshm_find_into(t, key, copy.data(), needed + 1, &got);
        expect("find_into", copied, missing);

        struct all_values {
            exercise *self;
            std::vector<std::vector<int32_t>> values;
        } all{this, {}};
        const int all_rc = netshm_find_all(
            t, key,
            [](const int32_t *v, size_t n, void *ctx) -> int {
                auto *a = static_cast<all_values *>(ctx);
                a->self->touch(v, n);
                a->values.emplace_back(v, v + n);
                return 0;
            },
            &all);
        expect("find_all", all_rc);
        const int blocks_rc = netshm_find_blocks(
            t, key,
            [](const int32_t *frag, size_t n, void *ctx) -> int {
                auto *self = static_cast<exercise *>(ctx);
                self->touch(frag, n);
                return self->block_answer(false);
            },
            this);
        expect_answered("find_blocks", blocks_rc);

        if (!sound_)
            return;
        // A sound table answers the same through every lookup.
        const bool bound = mem == 1;
        const bool agree = (found == NETSHM_OK) == bound && (copied == NETSHM_OK) == bound &&
                           all.values.empty() == !bound &&
                           (!bound || (got == newest.size() && needed == newest.size() &&
                                       std::equal(newest.begin(), newest.end(), copy.begin()) &&
                                       all.values.front() == newest));
        if (!agree)
            finding("lookups of key " + std::to_string(key) + " in a sound table disagree: mem " + std::to_string(mem) +
                    ", find " + std::to_string(found) + " (" + std::to_string(newest.size()) + " words), find_into " +
                    std::to_string(copied) + " (" + std::to_string(got) + " words, " + std::to_string(needed) +
                    " needed), find_all " + std::to_string(all.values.size()) + " bindings");
    }

    // ------------------------------------------------------------ writes

    std::vector<int32_t> value(size_t len)
    {
        std::vector<int32_t> v(len);
        const auto start = static_cast<uint32_t>(rng_.next());
        for (size_t i = 0; i < len; ++i)
            v[i] = static_cast<int32_t>(start + static_cast<uint32_t>(i));
        return v;
    }

    size_t some_length()
    {
        switch (rng_.below(4)) {
        case 0:
            return 0;
        case 1:
            return 1 + rng_.below(8);
        case 2:
            return 9 + rng_.below(60);
        default:
            return 69 + rng_.below(400);
        }
    }

    void write_blocks(netshm_table *t, int32_t key, bool announce)
    {
        struct walk {
            exercise *self;
            bool announce;
            bool refused_removal = false;
        } w{this, announce};
        const int rc = netshm_write_blocks(
            t, announce ? NETSHM_OP_REMOVE_BINDING : 0u, key,
            [](int32_t *frag, size_t n, void *ctx) -> int {
                auto *wk = static_cast<walk *>(ctx);
                for (size_t i = 0; frag != nullptr && i < n; ++i)
                    frag[i] ^= 0x10101;
                const int answer = wk->self->block_answer(true);
                if (answer == NETSHM_REMOVE_BINDING && !wk->announce)
                    wk->refused_removal = true;
                return answer;
            },
            &w);
        if (!(w.refused_removal && rc == NETSHM_EINVAL))
            expect_answered("write_blocks", rc);
        answered_negative_ = false;
    }

    void writes(netshm_table *t)
    {
        std::vector<int32_t> targets = keys(t);
        for (size_t i = 0; i < targets.size() && i < 4; ++i)
            write_blocks(t, targets[i], rng_.below(8) != 0);
        auto pick = [&] { return targets[rng_.below(targets.size())]; };
        std::vector<int32_t> v = value(some_length());
        expect("add", netshm_add(t, pick(), v.data(), v.size()), full_table);
        v = value(some_length());
        expect("add", netshm_add(t, static_cast<int32_t>(rng_.next()), v.data(), v.size()), full_table);
        v = value(some_length());
        expect("replace", netshm_replace(t, pick(), v.data(), v.size()), full_table);
        expect("replace", netshm_replace(t, static_cast<int32_t>(rng_.next()), nullptr, 0), full_table);
        expect("remove", netshm_remove(t, pick()));
        expect("remove", netshm_remove(t, static_cast<int32_t>(rng_.next())));
        in_group(t, pick());
        self_locked(t, pick());
        if (rng_.below(3) == 0) {
            // Enough new keys to grow the hash table: a rehash of what is there.
            const auto start = static_cast<uint32_t>(rng_.next());
            const uint64_t count = 20 + rng_.below(60);
            const int32_t small[3] = {7, 8, 9};
            for (uint64_t i = 0; i < count; ++i)
                expect("add", netshm_add(t, static_cast<int32_t>(start + static_cast<uint32_t>(31 * i)), small, rng_.below(3)),
                       full_table);
        }
    }

    // A plain group around a find and a replace, and a write group around a remove.
    void in_group(netshm_table *t, int32_t key)
    {
        struct body {
            exercise *self;
            int32_t key;
        } b{this, key};
        const int rc = netshm_group(
            t,
            [](netshm_table *table, void *ctx) -> int {
                auto *bd = static_cast<body *>(ctx);
                int32_t *old = nullptr;
                size_t len = 0;
                bd->self->expect("find in a group", netshm_find(table, bd->key, &old, &len), missing);
                std::vector<int32_t> v(old, old + len);
                netshm_free(old);
                v.push_back(bd->key);
                bd->self->expect("replace in a group", netshm_replace(table, bd->key, v.data(), v.size()), full_table);
                if (const int close_rc = netshm_table_close(table); close_rc != NETSHM_EINVAL)
                    finding(described("table_close in a group", close_rc) + ", expected EINVAL");
                return negative_answer;
            },
            &b);
        if (rc != negative_answer)
            finding(described("group", rc) + ", expected the body's answer");
        expect("group_begin_write", netshm_group_begin_write(t));
        expect("remove in a write group", netshm_remove(t, key));
        expect("group_end", netshm_group_end(t));
    }

    // Modifying from a callback is refused; reading is allowed.
    void self_locked(netshm_table *t, int32_t key)
    {
        struct probe {
            exercise *self;
            netshm_table *t;
            int32_t key;
            int add_rc = NETSHM_OK;
        } p{this, t, key};
        const int rc = netshm_find_all(
            t, key,
            [](const int32_t *, size_t, void *ctx) -> int {
                auto *pr = static_cast<probe *>(ctx);
                pr->self->expect_bound("mem from a callback", netshm_mem(pr->t, pr->key), pr->key);
                pr->add_rc = netshm_add(pr->t, pr->key, nullptr, 0);
                return negative_answer;
            },
            &p);
        if (rc == negative_answer) {
            if (p.add_rc != NETSHM_ESELFLOCKED)
                finding(described("add from a callback", p.add_rc) + ", expected ESELFLOCKED");
        } else {
            expect("find_all", rc);
        }
    }

    // Every write on a read-only table gives EREADONLY.
    void writes_refused(netshm_table *t)
    {
        auto refused = [](const char *operation, int rc) {
            if (rc != NETSHM_EREADONLY)
                finding(described(operation, rc) + " on a read-only table, expected EREADONLY");
        };
        const int32_t v[3] = {1, 2, 3};
        refused("add", netshm_add(t, 1, v, 3));
        refused("replace", netshm_replace(t, 1, v, 3));
        refused("remove", netshm_remove(t, 1));
        refused("write_blocks",
                netshm_write_blocks(t, 0, 1, [](int32_t *, size_t, void *) -> int { return NETSHM_CONTINUE; }, nullptr));
        refused("group_write", netshm_group_write(t, [](netshm_table *, void *) -> int { return 0; }, nullptr));
        refused("group_begin_write", netshm_group_begin_write(t));
    }

    struct devnull {
        int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        ~devnull() { ::close(fd); }
    };

    const uint8_t flags_;
    const uint8_t size_byte_;
    choices rng_;
    const uint8_t *file_;
    const size_t file_size_;
    const std::string &path_;
    std::vector<int32_t> file_keys_;
    devnull devnull_;
    // The last netshm_check found no problem.
    bool sound_ = false;
    bool sound_after_writes_ = false;
    bool answered_negative_ = false;
    std::string first_problem_;
    volatile uint32_t sink_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < control_bytes || size > control_bytes + max_file_bytes)
        return -1;  // not added to the corpus
    exercise(data, size).run();
    return 0;
}
