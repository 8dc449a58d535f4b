// --locking: how the tool locks a table (tools/README.md, "Locking").
//
// auto, the default, works on a table whatever mode it is live in: record
// locking, unless a process has the table open with mutex locking (the
// library then answers NETSHM_EBUSY), in which case mutex locking.
#pragma once

#include "arguments.hpp"

#include <netshm.hpp>

#include <optional>

namespace netshm_tool {

inline constexpr option_spec locking_option{
    "--locking", "MODE", "auto (default: the mode the table is open in, else record), record, mutex, none"};

// --locking: the mode asked for, or nothing for auto.  A usage error for any other word.
std::optional<netshm::locking> locking_of(const arguments &args);

// Manages `descr` with the locking `args` ask for (auto: record, or mutex
// while the table is live in mutex mode).
netshm::table manage_with_locking(const arguments &args, netshm::descriptor &descr, unsigned pagesize,
                                  std::optional<long long> init = {});

} // namespace netshm_tool
