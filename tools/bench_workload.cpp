#include "bench_workload.hpp"

namespace netshm_tool::bench {

namespace {

constexpr std::uint32_t key_seed = 2463534242u;

std::uint32_t hash(std::int32_t key) { return static_cast<std::uint32_t>(key) * 2654435761u; }

} // namespace

std::vector<std::int32_t> make_keys(std::size_t n)
{
    xorshift32 random(key_seed);
    std::vector<std::int32_t> keys(n);
    for (std::int32_t &key : keys)
        key = static_cast<std::int32_t>(random.next());
    return keys;
}

value value_of(std::int32_t key, std::uint32_t count)
{
    std::uint32_t v = hash(key) + count;
    value words;
    for (std::size_t i = 0; i < value_words; ++i)
        words[i] = static_cast<std::int32_t>(v + static_cast<std::uint32_t>(i));
    return words;
}

std::optional<std::uint32_t> count_of(std::int32_t key, std::span<const std::int32_t> words)
{
    if (words.size() != value_words)
        return std::nullopt;
    auto v = static_cast<std::uint32_t>(words[0]);
    for (std::size_t i = 1; i < value_words; ++i)
        if (static_cast<std::uint32_t>(words[i]) != v + static_cast<std::uint32_t>(i))
            return std::nullopt;
    return v - hash(key);
}

} // namespace netshm_tool::bench
