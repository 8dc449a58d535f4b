// How the tool's readers of many bindings (dump) keep writers going: they copy
// a bounded chunk of bindings under the table's lock, release it, and only
// then write their output, so a reader blocked on its output (a pager, a full
// pipe) holds no lock.  Each chunk is one state of its keys; the whole is not
// one state of the table (tools/README.md, "dump").
#pragma once

#include <netshm.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace netshm_tool {

// Keys copied, with their bindings, in one hold of the table's lock.
inline constexpr std::size_t chunk_keys = 256;

struct key_bindings {
    std::int32_t key;
    std::vector<std::vector<std::int32_t>> values;  // newest first
};

// Every bound key once, in the table's (hash) order: one pass under the lock
// that copies 4 bytes a key.
std::vector<std::int32_t> bound_keys(netshm::table &table);

// Reads the bindings of `keys` in chunks of chunk_keys keys, each in one
// group, and hands each chunk to `consume` once the group has ended.  A key
// unbound meanwhile is left out.
void for_each_chunk(netshm::table &table, std::span<const std::int32_t> keys,
                    const std::function<void(std::span<const key_bindings>)> &consume);

} // namespace netshm_tool
