// Strict parsing of the integers of command lines and text input: the whole
// text must be the number, nothing around it, and it must fit the type.
#pragma once

#include <charconv>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace netshm_tool {

// Decimal (or `base`) digits with an optional '-' for signed types; nullopt for
// anything else, empty text and values out of T's range included.
template <std::integral T>
std::optional<T> parse_integer(std::string_view text, int base = 10)
{
    T value{};
    const char *end = text.data() + text.size();
    auto [stop, failure] = std::from_chars(text.data(), end, value, base);
    if (text.empty() || failure != std::errc() || stop != end)
        return std::nullopt;
    return value;
}

// What is wrong with a word that parse_integer<int32_t> refused.
inline std::string not_an_int32(std::string_view word)
{
    return "'" + std::string(word) + "' is not an int32 (a decimal number from -2147483648 to 2147483647)";
}

} // namespace netshm_tool
