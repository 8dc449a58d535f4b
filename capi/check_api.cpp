// The C ABI of the integrity check and the statistics.
#include "boundary.hpp"
#include "handles.hpp"
#include "netshm.h"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>
#include <vector>

using netshm::capi::guarded;
using netshm::capi::live;
using netshm::capi::require;
namespace core = netshm::core;

static_assert(int{NETSHM_PROBLEM_MASTER} == int(core::problem_kind::master) &&
              int{NETSHM_PROBLEM_DESCRIPTOR} == int(core::problem_kind::descriptor) &&
              int{NETSHM_PROBLEM_OBJECT_SIZE} == int(core::problem_kind::object_size) &&
              int{NETSHM_PROBLEM_EXTENT} == int(core::problem_kind::extent) &&
              int{NETSHM_PROBLEM_HASH_CELL} == int(core::problem_kind::hash_cell) &&
              int{NETSHM_PROBLEM_PROBE} == int(core::problem_kind::probe) &&
              int{NETSHM_PROBLEM_CONTENT_PAGE} == int(core::problem_kind::content_page) &&
              int{NETSHM_PROBLEM_FOLLOW_UP} == int(core::problem_kind::follow_up) &&
              int{NETSHM_PROBLEM_BINDING_CHAIN} == int(core::problem_kind::binding_chain) &&
              int{NETSHM_PROBLEM_FREE_LIST} == int(core::problem_kind::free_list) &&
              int{NETSHM_PROBLEM_PAGE_SHARED} == int(core::problem_kind::page_shared) &&
              int{NETSHM_PROBLEM_PAGE_LOST} == int(core::problem_kind::page_lost) &&
              int{NETSHM_PROBLEM_COUNT} == int(core::problem_kind::count) &&
              int{NETSHM_PROBLEM_TAIL} == int(core::problem_kind::tail));

// Older callers pass a smaller netshm_stats: only whole fields are filled, and
// every field after the first two is 8 bytes wide.
static_assert(offsetof(netshm_stats, object_bytes) == 8 && sizeof(netshm_stats) % 8 == 0);
constexpr std::uint32_t min_stats_size = 8;

extern "C" {

int netshm_check(netshm_table *table, int (*fn)(const netshm_problem *, void *), void *ctx)
{
    return guarded([&] {
        // The problems were collected under the lock; it is released here, so
        // fn may call the library.
        std::vector<core::problem> problems = live(table, "netshm_check").check().problems;
        for (const core::problem &found : problems) {
            if (fn == nullptr)
                break;
            netshm_problem view{static_cast<netshm_problem_kind>(found.kind), found.page, found.message.c_str()};
            int answer = fn(&view, ctx);
            if (answer < 0)
                return answer;
            if (answer != 0)
                core::throw_invalid(
                    fmt::format("netshm_check: the callback answered {}, which is not allowed here", answer));
        }
        return static_cast<int>(std::min<std::size_t>(problems.size(), INT_MAX));
    });
}

int netshm_stat(netshm_table *table, netshm_stats *out)
{
    return guarded([&] {
        require(out, "netshm_stat", "out");
        std::uint32_t size = out->struct_size;
        if (size < min_stats_size)
            core::throw_invalid(fmt::format("netshm_stat: struct_size {} is smaller than {}", size, min_stats_size));
        core::table_stats s = live(table, "netshm_stat").stat();
        std::size_t filled = std::min<std::size_t>(size, sizeof(netshm_stats));
        filled -= (filled - min_stats_size) % 8;
        netshm_stats all{static_cast<std::uint32_t>(filled), s.pagesize, s.object_bytes, s.total_pages,
                         s.free_pages, s.hash_pages, s.content_pages, s.extents, s.hash_cells, s.claimed_cells,
                         s.bindings, s.distinct_keys, s.value_bytes, s.longest_probe};
        std::memcpy(out, &all, filled);
    });
}

} // extern "C"
