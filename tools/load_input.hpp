// What `netshm load` reads: the bindings to add in the order to add them
// (older bindings of a key first), parsed from JSON or text.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace netshm_tool {

// Bindings stored flat: one array of every word, not one vector per value.
class binding_list {
public:
    void add(std::int32_t key, std::span<const std::int32_t> value)
    {
        entries_.push_back({key, words_.size(), value.size()});
        words_.insert(words_.end(), value.begin(), value.end());
    }
    std::size_t size() const { return entries_.size(); }
    std::int32_t key(std::size_t i) const { return entries_[i].key; }
    std::span<const std::int32_t> value(std::size_t i) const
    {
        return std::span(words_).subspan(entries_[i].offset, entries_[i].length);
    }
    // The same bindings, each key's together and in their order, keys ascending.
    binding_list grouped_by_key() const
    {
        std::vector<std::size_t> order(size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
        return reordered(order);
    }
    // The same bindings, last first.
    binding_list reversed() const
    {
        std::vector<std::size_t> order(size());
        std::iota(order.rbegin(), order.rend(), std::size_t{0});
        return reordered(order);
    }

private:
    binding_list reordered(const std::vector<std::size_t> &order) const
    {
        binding_list list;
        list.entries_.reserve(size());
        list.words_.reserve(words_.size());
        for (std::size_t i : order)
            list.add(key(i), value(i));
        return list;
    }

    struct entry {
        std::int32_t key;
        std::size_t offset;
        std::size_t length;
    };
    std::vector<entry> entries_;
    std::vector<std::int32_t> words_;
};

struct load_input {
    binding_list bindings;
    // The page size a JSON dump names: the default for a new table.
    std::optional<unsigned> pagesize;
};

// Input that is not in the format; what() starts with the line (and column).
class input_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// `{"pagesize":P,"bindings":N,"keys":[{"key":K,"values":[[newest...],...]},...]}`
// ("pagesize" and "bindings" optional), as `netshm dump --json` prints it.
load_input read_json_input(std::string_view text);

// What `netshm dump` prints (Netshm.dump's text): "<shm length=N", one
// "KEY => [| V1; V2 |]" line per binding, a key's newest first, then ">".
load_input read_dump_text_input(std::string_view text);

// One binding a line, "KEY V1 V2 ...", later lines newer; '#' starts a comment.
load_input read_text_input(std::string_view text);

} // namespace netshm_tool
