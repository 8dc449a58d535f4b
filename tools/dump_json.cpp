#include "dump_json.hpp"

#include "chunked_reading.hpp"
#include "progress_bar.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fmt/format.h>
#include <iterator>
#include <span>
#include <string>
#include <vector>

namespace netshm_tool {

void print_json_dump(netshm::table &table)
{
    // Keys in ascending order, so that equal tables give equal dumps.
    std::vector<std::int32_t> keys = bound_keys(table);
    std::sort(keys.begin(), keys.end());
    std::size_t bindings = 0;
    std::string body;
    std::string_view separator = "\n";
    progress_bar bar("dumping", keys.size());
    for_each_chunk(table, keys, [&](std::span<const key_bindings> chunk) {
        bar.advance(chunk.size());
        for (const key_bindings &bound : chunk) {
            fmt::format_to(std::back_inserter(body), "{}{{\"key\":{},\"values\":[", separator, bound.key);
            separator = ",\n";
            for (std::size_t i = 0; i < bound.values.size(); ++i)
                fmt::format_to(std::back_inserter(body), "{}[{}]", i == 0 ? "" : ",", fmt::join(bound.values[i], ","));
            body += "]}";
            bindings += bound.values.size();
        }
    });
    std::size_t pagesize = table.memory().words_per_page * 4;
    std::string text = fmt::format("{{\"pagesize\":{},\"bindings\":{},\"keys\":[", pagesize, bindings);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fwrite(body.data(), 1, body.size(), stdout);
    std::fputs("\n]}\n", stdout);
}

} // namespace netshm_tool
