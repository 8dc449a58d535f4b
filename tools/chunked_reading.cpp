#include "chunked_reading.hpp"

#include <algorithm>

namespace netshm_tool {

std::vector<std::int32_t> bound_keys(netshm::table &table)
{
    std::vector<std::int32_t> keys;
    table.iter_keys([&](std::int32_t key) { keys.push_back(key); });
    return keys;
}

void for_each_chunk(netshm::table &table, std::span<const std::int32_t> keys,
                    const std::function<void(std::span<const key_bindings>)> &consume)
{
    std::vector<key_bindings> chunk;
    for (std::size_t start = 0; start < keys.size(); start += chunk_keys) {
        std::span<const std::int32_t> part = keys.subspan(start, std::min(chunk_keys, keys.size() - start));
        chunk.clear();
        table.group([&] {
            for (std::int32_t key : part)
                if (auto values = table.find_all(key); !values.empty())
                    chunk.push_back({key, std::move(values)});
        });
        consume(chunk);
    }
}

} // namespace netshm_tool
