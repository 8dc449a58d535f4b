// The integrity check's first steps: the object's size, the master page, the
// descriptor page's counters and the hash extents.  Damage here makes the
// rest of the table unwalkable, except for counters out of their range, which
// are reported and left out of the final comparisons.
#include "table/image_walk.hpp"

#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

namespace {

std::uint32_t hex(std::int32_t word) { return static_cast<std::uint32_t>(word); }

} // namespace

bool image_walk::check_size()
{
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    if (words_ != nullptr && bytes_ / page_bytes > static_cast<std::uint64_t>(descriptor_page_))
        return true;
    report(problem_kind::object_size, -1,
           fmt::format("the object's {} bytes do not hold page 0 and descriptor page {} (pages of {} bytes)", bytes_,
                       descriptor_page_, page_bytes));
    return false;
}

void image_walk::check_master()
{
    for (int i = 0; i < 4; ++i) {
        if (std::int32_t magic = load(0, i); magic != file_magic[i]) {
            report(problem_kind::master, 0,
                   fmt::format("page 0: bad master magic: word {} is {:#010x}, expected {:#010x}", i, hex(magic),
                               hex(file_magic[i])));
            break;
        }
    }
    if (std::int32_t d = load(0, master_descriptor_page); d != descriptor_page_)
        report(problem_kind::master, 0,
               fmt::format("page 0: the descriptor page pointer is {}, but the table was opened with descriptor page {}",
                           d, descriptor_page_));
}

bool image_walk::read_descriptor()
{
    const std::int32_t d = descriptor_page_;
    if (std::int32_t magic = load(d, d_magic); magic != descriptor_magic) {
        report(problem_kind::descriptor, d,
               fmt::format("page {}: bad descriptor magic {:#010x}, expected {:#010x}", d, hex(magic),
                           hex(descriptor_magic)));
        return false;
    }
    std::int32_t total = load(d, d_total_pages);
    if (total < 3 || total <= d) {
        report(problem_kind::descriptor, d, fmt::format("page {}: total page count {} is too small", d, total));
        return false;
    }
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    if (static_cast<std::uint64_t>(total) > bytes_ / page_bytes) {
        report(problem_kind::object_size, -1,
               fmt::format("page {}: total page count {} needs {} bytes, but the object has {} bytes", d, total,
                           static_cast<std::uint64_t>(total) * page_bytes, bytes_));
        return false;
    }
    total_pages_ = total;
    stats_.total_pages = static_cast<std::uint64_t>(total);

    std::int32_t hash_size = load(d, d_hash_size);
    if (hash_size <= 0) {
        report(problem_kind::descriptor, d, fmt::format("page {}: hash table size {} is not positive", d, hash_size));
        return false;
    }
    hash_size_ = hash_size;
    stats_.hash_cells = static_cast<std::uint64_t>(hash_size);

    if (std::int32_t claimed = load(d, d_claimed_cells); claimed < 0 || claimed > hash_size) {
        report(problem_kind::descriptor, d,
               fmt::format("page {}: claimed cell count {} is outside 0..{}", d, claimed, hash_size));
    } else {
        claimed_cells_ = claimed;
        stats_.claimed_cells = static_cast<std::uint64_t>(claimed);
    }
    if (std::int32_t bindings = load(d, d_bindings); bindings < 0)
        report(problem_kind::descriptor, d, fmt::format("page {}: binding count {} is negative", d, bindings));
    else
        bindings_ = bindings;
    free_head_ = load(d, d_free_head);
    if (std::int32_t free_count = load(d, d_free_count); free_count < 0 || free_count >= total)
        report(problem_kind::descriptor, d,
               fmt::format("page {}: free page count {} is outside 0..{}", d, free_count, total - 1));
    else
        free_count_ = free_count;
    return true;
}

bool image_walk::read_extents()
{
    const std::int32_t d = descriptor_page_;
    bool damaged = false;
    auto damage = [&](std::string message) {
        report(problem_kind::extent, d, std::move(message));
        damaged = true;
    };
    int unused = -1;
    std::int64_t cells = 0;
    for (int i = 0; i < max_extents; ++i) {
        std::int32_t first = load(d, d_extents + 2 * i);
        std::int32_t pages = load(d, d_extents + 2 * i + 1);
        if (first == 0 && pages == 0) {
            if (unused < 0)
                unused = i;
            continue;
        }
        std::string extent = fmt::format("page {}: hash extent {} (pages {}+{})", d, i, first, pages);
        std::int64_t end = static_cast<std::int64_t>(first) + pages;
        if (unused >= 0) {
            damage(fmt::format("{} follows unused extent {}", extent, unused));
            continue;
        }
        if (first <= 0 || pages <= 0 || end > total_pages_) {
            damage(fmt::format("{} is outside the table's {} pages", extent, total_pages_));
            continue;
        }
        if (first <= d && d < end) {
            damage(fmt::format("{} covers the descriptor page", extent));
            continue;
        }
        for (auto [other_first, other_pages] : extents_)
            if (first < static_cast<std::int64_t>(other_first) + other_pages && other_first < end)
                damage(fmt::format("{} overlaps the extent of pages {}+{}", extent, other_first, other_pages));
        extents_.emplace_back(first, pages);
        cells += static_cast<std::int64_t>(pages) * cells_per_page_;
    }
    if (damaged)
        return false;
    if (extents_.empty()) {
        damage(fmt::format("page {}: no hash extent", d));
        return false;
    }
    if (cells != hash_size_) {
        damage(fmt::format("page {}: hash table size {}, but the extents hold {} cells", d, hash_size_, cells));
        return false;
    }

    owners_.emplace(total_pages_);
    owners_->claim(0, page_role::master);
    owners_->claim(d, page_role::descriptor);
    for (auto [first, pages] : extents_) {
        for (std::int32_t page = first; page < first + pages; ++page)
            owners_->claim(page, page_role::hash);
        stats_.hash_pages += static_cast<std::uint64_t>(pages);
    }
    stats_.extents = extents_.size();
    return true;
}

} // namespace netshm::core
