#include "format/descriptor.hpp"

#include "util/shared_words.hpp"

#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

void load_descriptor(const std::int32_t *words, descriptor_words &out) noexcept
{
    shared::copy_out(out.data(), words, out.size());
}

descriptor_change compare_descriptor(const std::int32_t *words, const descriptor_words &validated) noexcept
{
    // Branch-free and unrolled: this runs in every operation.
    auto difference = [&](int i) { return shared::load(words + i) ^ validated[static_cast<std::size_t>(i)]; };
    std::int32_t structure = 0;
    std::int32_t counters = 0;
#pragma GCC unroll 8
    for (int i = 0; i < d_claimed_cells; ++i)
        structure |= difference(i);
#pragma GCC unroll 8
    for (int i = d_claimed_cells; i <= d_free_count; ++i)
        counters |= difference(i);
#pragma GCC unroll 32
    for (int i = d_extents; i < descriptor_words_used; ++i)
        structure |= difference(i);
    if (structure != 0)
        return descriptor_change::structure;
    return counters != 0 ? descriptor_change::counters : descriptor_change::none;
}

namespace {

// The extents of descriptor page d: every broken rule reported; false if any.
bool read_extents(const descriptor_words &words, std::int32_t d, int cells_per_page, header &out,
                  descriptor_faults report)
{
    auto load = [&words](int i) { return words[static_cast<std::size_t>(i)]; };
    bool sound = true;
    auto broken = [&](std::string message) {
        report(problem_kind::extent, std::move(message));
        sound = false;
    };
    int unused = -1;
    std::int64_t cells = 0;
    out.extent_count = 0;
    for (int i = 0; i < max_extents; ++i) {
        std::int32_t first = load(d_extents + 2 * i);
        std::int32_t pages = load(d_extents + 2 * i + 1);
        if (first == 0 && pages == 0) {
            if (unused < 0)
                unused = i;
            continue;
        }
        auto extent = [&] { return fmt::format("page {}: hash extent {} (pages {}+{})", d, i, first, pages); };
        std::int64_t end = static_cast<std::int64_t>(first) + pages;
        if (unused >= 0) {
            broken(fmt::format("{} follows unused extent {}", extent(), unused));
            continue;
        }
        if (first <= 0 || pages <= 0 || end > out.total_pages) {
            broken(fmt::format("{} is outside the table's {} pages", extent(), out.total_pages));
            continue;
        }
        if (first <= d && d < end) {
            broken(fmt::format("{} covers the descriptor page", extent()));
            continue;
        }
        for (int j = 0; j < out.extent_count; ++j) {
            const hash_extent &other = out.extents[static_cast<std::size_t>(j)];
            if (first < static_cast<std::int64_t>(other.first_page) + other.pages && other.first_page < end)
                broken(fmt::format("{} overlaps the extent of pages {}+{}", extent(), other.first_page, other.pages));
        }
        out.extents[static_cast<std::size_t>(out.extent_count++)] = {first, pages};
        cells += static_cast<std::int64_t>(pages) * cells_per_page;
    }
    if (!sound)
        return false;
    if (out.extent_count == 0) {
        broken(fmt::format("page {}: no hash extent", d));
        return false;
    }
    if (cells != out.hash_size) {
        broken(fmt::format("page {}: hash table size {}, but the extents hold {} cells", d, out.hash_size, cells));
        return false;
    }
    return true;
}

} // namespace

bool read_structure(const descriptor_words &words, std::int32_t d, std::int64_t pages_available,
                    int cells_per_page, header &out, descriptor_faults report)
{
    auto load = [&words](int i) { return words[static_cast<std::size_t>(i)]; };
    if (std::int32_t magic = load(d_magic); magic != descriptor_magic) {
        report(problem_kind::descriptor, fmt::format("page {}: bad descriptor magic {:#010x}, expected {:#010x}", d,
                                                     bits(magic), bits(descriptor_magic)));
        return false;
    }
    out.descriptor_page = d;
    out.total_pages = load(d_total_pages);
    if (out.total_pages < 3 || out.total_pages <= d) {
        report(problem_kind::descriptor, fmt::format("page {}: total page count {} is too small", d, out.total_pages));
        return false;
    }
    if (out.total_pages > pages_available) {
        report(problem_kind::object_size, fmt::format("page {}: total page count {} exceeds the object's {} pages", d,
                                                      out.total_pages, pages_available));
        return false;
    }
    out.hash_size = load(d_hash_size);
    if (out.hash_size <= 0) {
        report(problem_kind::descriptor,
               fmt::format("page {}: hash table size {} is not positive", d, out.hash_size));
        return false;
    }
    if (!read_extents(words, d, cells_per_page, out, report))
        return false;
    out.index_hash(cells_per_page);
    return true;
}

bool load_counters(const descriptor_words &words, header &out) noexcept
{
    auto load = [&words](int i) { return words[static_cast<std::size_t>(i)]; };
    out.claimed_cells = load(d_claimed_cells);
    out.bindings = load(d_bindings);
    out.free_head = load(d_free_head);
    out.free_count = load(d_free_count);
    return out.claimed_cells >= 0 && out.claimed_cells <= out.hash_size && out.bindings >= 0 &&
           out.bindings <= out.total_pages - 2 && out.free_count >= 0 && out.free_count < out.total_pages &&
           (out.free_head == 0 || out.is_data_page(out.free_head)) && (out.free_head == 0) == (out.free_count == 0);
}

unsigned read_counters(const descriptor_words &words, header &out, descriptor_faults report)
{
    if (load_counters(words, out))
        return 0;
    const std::int32_t d = out.descriptor_page;
    unsigned faults = 0;
    if (out.claimed_cells < 0 || out.claimed_cells > out.hash_size) {
        report(problem_kind::descriptor, fmt::format("page {}: claimed cell count {} is outside 0..{}", d,
                                                     out.claimed_cells, out.hash_size));
        faults |= claimed_cells_fault;
    }
    if (out.bindings < 0 || out.bindings > out.total_pages - 2) {
        report(problem_kind::descriptor, fmt::format("page {}: binding count {} is outside 0..{}", d, out.bindings,
                                                     out.total_pages - 2));
        faults |= bindings_fault;
    }
    if (out.free_count < 0 || out.free_count >= out.total_pages) {
        report(problem_kind::descriptor, fmt::format("page {}: free page count {} is outside 0..{}", d,
                                                     out.free_count, out.total_pages - 1));
        faults |= free_count_fault;
    }
    if (out.free_head != 0 && !out.is_data_page(out.free_head)) {
        report(problem_kind::free_list,
               fmt::format("page {}: the free list starts at page {}, {}", d, out.free_head,
                           out.free_head < 0 || out.free_head >= out.total_pages
                               ? fmt::format("outside the table's {} pages", out.total_pages)
                               : std::string(out.is_hash_page(out.free_head) ? "a hash page"
                                             : out.free_head == d     ? "the descriptor page"
                                                                      : "the master page")));
        faults |= free_head_fault;
    } else if ((faults & free_count_fault) == 0 && (out.free_head == 0) != (out.free_count == 0)) {
        report(problem_kind::count, fmt::format("page {}: the free list starts at page {}, but the free page count is {}",
                                                d, out.free_head, out.free_count));
        faults |= free_count_fault;
    }
    return faults;
}

namespace {

// A fault sink that keeps the first message.
struct first_fault {
    std::string message;
    void operator()(problem_kind, std::string text)
    {
        if (message.empty())
            message = std::move(text);
    }
};

} // namespace

std::string validate_header(const descriptor_words &words, std::int32_t d, std::int64_t pages_available,
                            int cells_per_page, header &out)
{
    first_fault first;
    if (read_structure(words, d, pages_available, cells_per_page, out, first))
        read_counters(words, out, first);
    return std::move(first.message);
}

std::string validate_counters(const descriptor_words &words, header &out)
{
    if (load_counters(words, out))
        return {};
    first_fault first;
    read_counters(words, out, first);
    return std::move(first.message);
}

} // namespace netshm::core
