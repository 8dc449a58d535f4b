// What every C++ benchmark program of test/bench shares: the W1 key set
// (xorshift32 keys, shuffled lookup order, absent keys), the value pattern and
// its check, the monotonic clock and the JSON-lines output.  ocamlnet_w1.ml
// implements the same definitions in OCaml: change both together.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

// A failed check or a failed call of the store: the program exits non-zero.
struct failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr std::uint32_t w1_seed = 2463534242u;      // the keys
constexpr std::uint32_t shuffle_seed = 88675123u;   // the order of find_hit and replace
constexpr std::uint32_t mp_seed = 521288629u;       // process p of mp_mixed uses mp_seed + p

class xorshift32 {
public:
    explicit xorshift32(std::uint32_t seed) : state_(seed) {}
    std::uint32_t next()
    {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        return state_;
    }

private:
    std::uint32_t state_;
};

constexpr std::size_t value_words = 4;
using value = std::array<std::int32_t, value_words>;

// Generation g of key k's value: {k, k+1+g, k+2+2g, k+3+3g} (32-bit wrap).
// Generation 0 is W1's (k, k+1, k+2, k+3); the replace phase writes 1 and
// mp_mixed writes larger ones.  Words of two different generations never form
// a valid value, so a torn read shows.
inline value value_of(std::int32_t key, std::uint32_t generation)
{
    value v;
    for (std::size_t i = 0; i < value_words; ++i)
        v[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(key) +
                                         static_cast<std::uint32_t>(i) * (1u + generation));
    return v;
}

constexpr std::uint32_t max_generation = 1u << 24;

// The generation of a value found for key, or -1 if it is not one of key's.
inline long long generation_of(std::int32_t key, const std::int32_t *words, std::size_t len)
{
    if (len != value_words || words[0] != key)
        return -1;
    std::uint32_t generation = static_cast<std::uint32_t>(words[1]) - static_cast<std::uint32_t>(key) - 1u;
    if (generation > max_generation)
        return -1;
    value expected = value_of(key, generation);
    for (std::size_t i = 2; i < value_words; ++i)
        if (words[i] != expected[i])
            return -1;
    return generation;
}

inline long long value_sum(const std::int32_t *words)
{
    long long sum = 0;
    for (std::size_t i = 0; i < value_words; ++i)
        sum += words[i];
    return sum;
}

// The W1 key set: `keys` are the first n outputs of xorshift32(w1_seed) (all
// distinct: the generator's period is 2^32 - 1), `order` is keys shuffled by
// Fisher-Yates with xorshift32(shuffle_seed), `misses` the next n outputs.
struct workload {
    std::vector<std::int32_t> keys;
    std::vector<std::int32_t> order;
    std::vector<std::int32_t> misses;
};

inline workload make_workload(std::size_t n)
{
    workload w;
    xorshift32 keys(w1_seed);
    for (std::size_t i = 0; i < n; ++i)
        w.keys.push_back(static_cast<std::int32_t>(keys.next()));
    for (std::size_t i = 0; i < n; ++i)
        w.misses.push_back(static_cast<std::int32_t>(keys.next()));
    w.order = w.keys;
    xorshift32 shuffle(shuffle_seed);
    for (std::size_t i = n; i > 1; --i)
        std::swap(w.order[i - 1], w.order[shuffle.next() % i]);
    return w;
}

inline double now_seconds()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One JSON object on one line of stdout, fields in the order they are added.
class json_line {
public:
    json_line &text(std::string_view name, std::string_view content)
    {
        key(name);
        body_ += '"';
        for (char c : content) {
            if (c == '"' || c == '\\')
                body_ += '\\';
            body_ += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
        }
        body_ += '"';
        return *this;
    }
    json_line &number(std::string_view name, double number_value)
    {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.9g", number_value);
        key(name);
        body_ += buffer;
        return *this;
    }
    void print() const
    {
        std::printf("{%s}\n", body_.c_str());
        std::fflush(stdout);
    }

private:
    void key(std::string_view name)
    {
        if (!body_.empty())
            body_ += ", ";
        body_ += '"';
        body_ += name;
        body_ += "\": ";
    }
    std::string body_;
};

} // namespace bench
