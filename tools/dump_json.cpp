#include "dump_json.hpp"

#include <cstdint>
#include <cstdio>
#include <fmt/format.h>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace netshm_tool {

namespace {

// The JSON text is written in pieces of about this size.
constexpr std::size_t chunk_bytes = 1 << 16;

} // namespace

void print_json_dump(netshm::table &table)
{
    // Keys in ascending order, so that equal tables give equal dumps.
    std::map<std::int32_t, std::vector<std::vector<std::int32_t>>> keys;
    std::size_t bindings = 0;
    // One group: the locks taken by length and iter stay until the end, so the
    // dump is one state of the table.
    table.group([&] {
        bindings = table.length();
        table.iter([&](std::int32_t key, std::span<const std::int32_t> value) {
            keys[key].emplace_back(value.begin(), value.end());
        });
    });
    std::size_t pagesize = table.memory().words_per_page * 4;
    std::string text = fmt::format("{{\"pagesize\":{},\"bindings\":{},\"keys\":[", pagesize, bindings);
    std::string_view separator = "\n";
    for (const auto &[key, values] : keys) {
        fmt::format_to(std::back_inserter(text), "{}{{\"key\":{},\"values\":[", separator, key);
        separator = ",\n";
        for (std::size_t i = 0; i < values.size(); ++i)
            fmt::format_to(std::back_inserter(text), "{}[{}]", i == 0 ? "" : ",", fmt::join(values[i], ","));
        text += "]}";
        if (text.size() >= chunk_bytes) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            text.clear();
        }
    }
    text += "\n]}\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
}

} // namespace netshm_tool
