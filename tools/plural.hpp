// "1 binding", "2 bindings": counts in the tool's messages.
#pragma once

#include <cstdint>
#include <fmt/format.h>
#include <string>

namespace netshm_tool {

inline std::string plural(std::uint64_t n, const char *word)
{
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

} // namespace netshm_tool
