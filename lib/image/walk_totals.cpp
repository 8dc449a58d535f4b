// The integrity check's last steps, which need the whole walk: probing for
// every bound key, pages nobody claimed, the descriptor's counters against
// what was found, and the bytes after the last page.
#include "image/walk.hpp"

#include "format/cells.hpp"

#include <algorithm>
#include <climits>
#include <fmt/format.h>

namespace netshm::core {

void image_walk::check_probing()
{
    probe_reach probing(cells_);
    if (probing.full())
        report(problem_kind::probe, header_.extents[0].first_page,
               fmt::format("page {}: the hash table has no free cell, so every lookup of a key that is not "
                           "bound fails",
                           header_.extents[0].first_page));
    for (std::int64_t cell : bound_cells_) {
        probe_outcome found = probing.reach(cell);
        if (found.probes > 0) {
            stats_.longest_probe = std::max(stats_.longest_probe, static_cast<std::uint64_t>(found.probes));
            continue;
        }
        std::int32_t page = locate_cell(header_, cell).page;
        std::int32_t key = cells_[static_cast<std::size_t>(cell)].key;
        std::string unreachable = fmt::format("page {}: key {} in cell {} is not reachable by probing", page, key, cell);
        if (found.stop < 0)
            report(problem_kind::probe, page,
                   fmt::format("{}: probing gives up after {} cells", unreachable, header_.hash_size + 11));
        else if (cells_[static_cast<std::size_t>(found.stop)].ptr == layout::ptr_never_used)
            report(problem_kind::probe, page, fmt::format("{}: probing meets free cell {} first", unreachable, found.stop));
        else
            report(problem_kind::probe, page,
                   fmt::format("{}: the key is also in cell {}, which probing meets first", unreachable, found.stop));
    }
}

void image_walk::report_lost_pages()
{
    std::int64_t run = -1;  // first page of the current run of lost pages
    for (std::int64_t page = 1; page <= header_.total_pages; ++page) {
        bool lost = page < header_.total_pages && owners_->role(static_cast<std::int32_t>(page)) == page_role::none;
        if (lost && run < 0)
            run = page;
        if (lost || run < 0)
            continue;
        std::string pages = run == page - 1 ? fmt::format("page {}", run)
                                            : fmt::format("pages {}-{} ({} pages)", run, page - 1, page - run);
        report(problem_kind::page_lost, run,
               fmt::format("{}: owned by nobody: not reached as a hash, content or free page", pages));
        run = -1;
    }
}

void image_walk::check_counters()
{
    const std::int32_t d = descriptor_page_;
    if (bindings_ && *bindings_ != bindings_found_)
        report(problem_kind::count, d,
               fmt::format("page {}: binding count {}, but the hash table leads to {} bindings", d, *bindings_,
                           bindings_found_));
    if (claimed_cells_ && *claimed_cells_ < cells_in_use_)
        report(problem_kind::count, d,
               fmt::format("page {}: claimed cell count {}, but {} cells are in use", d, *claimed_cells_,
                           cells_in_use_));
    if (free_count_ && *free_count_ != free_pages_found_)
        report(problem_kind::count, d,
               fmt::format("page {}: free page count {}, but the free list holds {} pages", d, *free_count_,
                           free_pages_found_));
    stats_.bindings = static_cast<std::uint64_t>(bindings_found_);
    stats_.distinct_keys = bound_cells_.size();
    stats_.free_pages = static_cast<std::uint64_t>(free_pages_found_);
}

void image_walk::check_tail()
{
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    const auto *bytes = reinterpret_cast<const unsigned char *>(words_);
    for (std::uint64_t at = static_cast<std::uint64_t>(header_.total_pages) * page_bytes; at < bytes_; ++at) {
        if (bytes[at] != 0) {
            std::uint64_t page = at / page_bytes;
            report(problem_kind::tail, static_cast<std::int64_t>(std::min<std::uint64_t>(page, INT32_MAX)),
                   fmt::format("page {}: nonzero bytes after the table's {} pages (the first at byte {} of the "
                               "object)",
                               page, header_.total_pages, at));
            return;
        }
    }
}

} // namespace netshm::core
