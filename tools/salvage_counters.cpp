#include "salvage_counters.hpp"

#include <cstring>

namespace netshm_tool {

namespace {

// doc/format.md: page 0's word 4 names the descriptor page; the descriptor's
// word 0 is its magic, words 3-6 its counters.
constexpr std::size_t descriptor_page_word = 4;
constexpr std::int32_t descriptor_magic = 0x6712DE9F;
constexpr std::size_t first_counter_word = 3;
constexpr std::size_t counter_words = 4;
constexpr std::uint64_t min_pagesize = 160;
constexpr std::uint64_t max_pagesize = 1 << 20;

std::int32_t word_at(const std::string &bytes, std::uint64_t offset)
{
    std::int32_t word;
    std::memcpy(&word, bytes.data() + offset, sizeof word);
    return word;
}

} // namespace

std::optional<std::int32_t> reset_descriptor_counters(std::string &bytes)
{
    if (bytes.size() < 4 * (descriptor_page_word + 1))
        return std::nullopt;
    std::int32_t d = word_at(bytes, 4 * descriptor_page_word);
    if (d < 1)
        return std::nullopt;
    for (std::uint64_t pagesize = min_pagesize; pagesize <= max_pagesize; pagesize += 4) {
        std::uint64_t start = static_cast<std::uint64_t>(d) * pagesize;
        if (start + 4 * (first_counter_word + counter_words) > bytes.size())
            break;
        if (word_at(bytes, start) == descriptor_magic) {
            std::memset(bytes.data() + start + 4 * first_counter_word, 0, 4 * counter_words);
            return d;
        }
    }
    return std::nullopt;
}

} // namespace netshm_tool
