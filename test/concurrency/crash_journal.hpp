// The crash test's record of what a writer did (crash_test.cpp): a
// journal in memory shared with the parent (MAP_SHARED, mapped before fork),
// self-identifying values, and the table the journal implies.
//
// Operation i of the journal stores version i + 1; every word of its value is
// encode(key index, version), so a torn value, another key's value or a stale
// one shows in any single word.  The writer publishes an entry (started)
// before the call and counts it done after: when it is killed, at most the
// entry `done` is in flight.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crash_test {

enum class op_kind : std::int32_t { add = 1, replace = 2, remove = 3 };

constexpr int key_bits = 12;
constexpr int max_keys = 1 << key_bits;
constexpr int version_bits = 31 - key_bits;
constexpr int journal_capacity = 1 << 18;
static_assert(journal_capacity < (1 << version_bits), "every version fits its bits");

// Keys spread over int32 (negative ones too) so that they collide in the hash.
inline std::int32_t key_of(int index) { return static_cast<std::int32_t>(static_cast<std::uint32_t>(index) * 2654435761u); }

inline std::int32_t encode(int index, std::int32_t version) { return (index << version_bits) | version; }

struct journal_entry {
    std::atomic<std::int32_t> op;
    std::atomic<std::int32_t> key_index;
    std::atomic<std::int32_t> len;
};

struct reader_record {
    std::atomic<long long> reads;
    std::atomic<long long> wrong;
    char first_wrong[240];
};

constexpr int max_readers = 2;

// Everything the processes of one round share; reset by the parent before it
// forks them.
struct shared_journal {
    std::atomic<std::int32_t> started; // entries published
    std::atomic<std::int32_t> done;    // operations completed
    std::atomic<std::int32_t> keys_used;
    std::atomic<bool> stop_readers;
    char writer_error[240];
    reader_record readers[max_readers];
    journal_entry entries[journal_capacity];

    void reset()
    {
        started = 0;
        done = 0;
        keys_used = 0;
        stop_readers = false;
        writer_error[0] = '\0';
        for (auto &r : readers) {
            r.reads = 0;
            r.wrong = 0;
            r.first_wrong[0] = '\0';
        }
    }
};

// What is wrong with `words` as a value found for key index `index`, or
// nothing: it must be one the writer published for that key, whole.
inline std::optional<std::string> wrong_value(const shared_journal &j, int index, const std::int32_t *words,
                                              std::size_t len)
{
    if (len == 0)
        return "an empty value (the writer never stores one)";
    const std::int32_t version = words[0] & ((1 << version_bits) - 1);
    const std::int32_t published = j.started.load(std::memory_order_acquire);
    if (version < 1 || version > published)
        return "version " + std::to_string(version) + " never published (" + std::to_string(published) + " were)";
    const journal_entry &e = j.entries[version - 1];
    if (e.key_index.load() != index || e.op.load() == static_cast<std::int32_t>(op_kind::remove))
        return "version " + std::to_string(version) + " was not a store to key index " + std::to_string(index);
    if (static_cast<std::size_t>(e.len.load()) != len)
        return "version " + std::to_string(version) + " has " + std::to_string(len) + " words, the writer stored " +
               std::to_string(e.len.load());
    for (std::size_t i = 0; i < len; ++i)
        if (words[i] != encode(index, version))
            return "word " + std::to_string(i) + " of version " + std::to_string(version) + " is " +
                   std::to_string(words[i]) + ": torn or misplaced";
    return std::nullopt;
}

// Every key's bindings as versions, newest last.
using bindings = std::map<std::int32_t, std::vector<std::int32_t>>;

// The table after the journal's first `count` operations.
inline bindings replay(const shared_journal &j, std::int32_t count)
{
    bindings table;
    for (std::int32_t i = 0; i < count; ++i) {
        const journal_entry &e = j.entries[i];
        const std::int32_t key = key_of(e.key_index.load());
        auto &stack = table[key];
        switch (static_cast<op_kind>(e.op.load())) {
        case op_kind::add:
            stack.push_back(i + 1);
            break;
        case op_kind::replace:
            if (!stack.empty())
                stack.pop_back();
            stack.push_back(i + 1);
            break;
        case op_kind::remove:
            if (!stack.empty())
                stack.pop_back();
            break;
        }
        if (stack.empty())
            table.erase(key);
    }
    return table;
}

inline const char *op_name(op_kind op)
{
    switch (op) {
    case op_kind::add:
        return "add";
    case op_kind::replace:
        return "replace";
    case op_kind::remove:
        return "remove";
    }
    return "?";
}

} // namespace crash_test
