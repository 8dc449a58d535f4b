// The workload of `netshm bench`: its keys, the values bound to them, and the
// check that a value read back is one that was written.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace netshm_tool::bench {

// Marsaglia's xorshift32: a permutation of the non-zero 32-bit numbers, so
// that its first 2^32 - 1 outputs are distinct.
class xorshift32 {
public:
    explicit xorshift32(std::uint32_t seed) : state_(seed == 0 ? 1 : seed) {}
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

// n distinct keys, the same on every run.
std::vector<std::int32_t> make_keys(std::size_t n);

inline constexpr std::size_t value_words = 4;
using value = std::array<std::int32_t, value_words>;

// The value of `key` once it has been replaced `count` times: the words v,
// v + 1, v + 2, v + 3 with v = hash(key) + count (mod 2^32).  Words of two
// different values, as a torn read would give, break the pattern.
value value_of(std::int32_t key, std::uint32_t count);

// The count a value read for `key` holds, or nullopt if it is not a value of
// value_of(key, some count).
std::optional<std::uint32_t> count_of(std::int32_t key, std::span<const std::int32_t> words);

} // namespace netshm_tool::bench
