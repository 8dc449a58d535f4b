// The C ABI of the integrity check, the statistics and the repair.
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
// The same for netshm_repair_report.
static_assert(offsetof(netshm_repair_report, bindings_kept) == 8 && sizeof(netshm_repair_report) % 8 == 0);
constexpr std::uint32_t min_repair_report_size = 8;

namespace {

// The whole fields of `all` (8 bytes each after the first `minimum`) that fit
// in the caller's struct_size, copied to `out`, struct_size set to their size.
template <class Report>
void fill_sized(Report *out, Report all, std::uint32_t minimum)
{
    std::size_t filled = std::min<std::size_t>(out->struct_size, sizeof(Report));
    filled -= (filled - minimum) % 8;
    all.struct_size = static_cast<std::uint32_t>(filled);
    std::memcpy(out, &all, filled);
}

std::uint32_t checked_struct_size(std::uint32_t size, std::uint32_t minimum, const char *function)
{
    if (size < minimum)
        core::throw_invalid(fmt::format("{}: struct_size {} is smaller than {}", function, size, minimum));
    return size;
}

} // namespace

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
        checked_struct_size(out->struct_size, min_stats_size, "netshm_stat");
        core::table_stats s = live(table, "netshm_stat").stat();
        fill_sized(out,
                   netshm_stats{0, s.pagesize, s.object_bytes, s.total_pages, s.free_pages, s.hash_pages,
                                s.content_pages, s.extents, s.hash_cells, s.claimed_cells, s.bindings,
                                s.distinct_keys, s.value_bytes, s.longest_probe},
                   min_stats_size);
    });
}

int netshm_repair(netshm_table *table, netshm_repair_report *out)
{
    return guarded([&] {
        require(out, "netshm_repair", "out");
        checked_struct_size(out->struct_size, min_repair_report_size, "netshm_repair");
        core::repair_report r = live(table, "netshm_repair").repair();
        fill_sized(out, netshm_repair_report{0, r.bindings_kept, r.bindings_dropped, r.pages_reclaimed},
                   min_repair_report_size);
    });
}

} // extern "C"
