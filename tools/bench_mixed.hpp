// The mixed phase of `netshm bench`: forked processes, each opening the
// object itself with the bench's locking, find and replace live keys at once.
#pragma once

#include <netshm.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace netshm_tool::bench {

// How the mixed phase replaces, as the report names it.
inline constexpr std::string_view mixed_replace_method = "group_write { find; replace }";

struct mixed_result {
    int processes;
    std::uint64_t finds;
    std::uint64_t replaces;
    double seconds;  // from the common start to the end of the last process
};

// `processes` processes of `ops` operations each on the POSIX object `name`:
// 90 % finds, 10 % replaces (count + 1) of keys drawn from `keys`, every value
// read checked.  Throws std::runtime_error naming the first failure.
mixed_result run_mixed(const std::string &name, netshm::locking locking, std::span<const std::int32_t> keys,
                       int processes, std::uint64_t ops);

} // namespace netshm_tool::bench
