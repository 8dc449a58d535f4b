#include "table/header.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

void load_descriptor(const std::int32_t *words, descriptor_words &out) noexcept
{
    for (int i = 0; i < descriptor_words_used; ++i)
        out[static_cast<std::size_t>(i)] = __atomic_load_n(words + i, __ATOMIC_RELAXED);
}

descriptor_change compare_descriptor(const std::int32_t *words, const descriptor_words &validated) noexcept
{
    // Branch-free and unrolled: this runs in every operation.
    auto difference = [&](int i) {
        return __atomic_load_n(words + i, __ATOMIC_RELAXED) ^ validated[static_cast<std::size_t>(i)];
    };
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

std::string read_structure(const descriptor_words &words, std::int32_t d, std::int64_t pages_available,
                           int cells_per_page, header &out)
{
    auto load = [&words](int i) { return words[static_cast<std::size_t>(i)]; };
    if (std::int32_t magic = load(d_magic); magic != descriptor_magic)
        return fmt::format("descriptor page {}: bad magic {:#010x}", d, static_cast<std::uint32_t>(magic));
    out.descriptor_page = d;
    out.total_pages = load(d_total_pages);
    if (out.total_pages < 3 || out.total_pages <= d)
        return fmt::format("descriptor page {}: total page count {} is too small", d, out.total_pages);
    if (out.total_pages > pages_available)
        return fmt::format("descriptor page {}: total page count {} exceeds the object's {} pages", d,
                           out.total_pages, pages_available);
    out.hash_size = load(d_hash_size);
    if (out.hash_size <= 0)
        return fmt::format("descriptor page {}: hash table size {} is not positive", d, out.hash_size);

    std::int64_t cells = 0;
    out.extent_count = 0;
    for (int i = 0; i < max_extents; ++i) {
        std::int32_t first = load(d_extents + 2 * i);
        std::int32_t pages = load(d_extents + 2 * i + 1);
        if (first == 0 || pages == 0) {
            for (int j = i; j < max_extents; ++j)
                if (load(d_extents + 2 * j) != 0 || load(d_extents + 2 * j + 1) != 0)
                    return fmt::format("descriptor page {}: hash extent {} is used after unused extent {}",
                                       d, j, i);
            break;
        }
        if (first <= d || pages < 0 || static_cast<std::int64_t>(first) + pages > out.total_pages)
            return fmt::format("descriptor page {}: hash extent {} (pages {}+{}) outside the table", d, i,
                               first, pages);
        out.extents[static_cast<std::size_t>(i)] = {first, pages};
        out.extent_count = i + 1;
        cells += static_cast<std::int64_t>(pages) * cells_per_page;
    }
    if (out.extent_count == 0)
        return fmt::format("descriptor page {}: no hash extent", d);
    if (cells != out.hash_size)
        return fmt::format("descriptor page {}: hash table size {} but the extents hold {} cells", d,
                           out.hash_size, cells);
    out.index_hash(cells_per_page);
    return {};
}

std::string read_counters(const descriptor_words &words, header &out)
{
    auto load = [&words](int i) { return words[static_cast<std::size_t>(i)]; };
    std::int32_t d = out.descriptor_page;
    out.claimed_cells = load(d_claimed_cells);
    out.bindings = load(d_bindings);
    out.free_head = load(d_free_head);
    out.free_count = load(d_free_count);
    if (out.claimed_cells < 0 || out.claimed_cells > out.hash_size)
        return fmt::format("descriptor page {}: claimed cell count {} outside 0..{}", d,
                           out.claimed_cells, out.hash_size);
    // Every binding has a page of its own.
    if (out.bindings < 0 || out.bindings > out.total_pages - 2)
        return fmt::format("descriptor page {}: binding count {} outside 0..{}", d, out.bindings,
                           out.total_pages - 2);
    if (out.free_count < 0 || out.free_count >= out.total_pages)
        return fmt::format("descriptor page {}: free page count {} outside 0..{}", d, out.free_count,
                           out.total_pages - 1);
    if (out.free_head != 0 && (out.free_head <= d || out.free_head >= out.total_pages))
        return fmt::format("descriptor page {}: free list head {} outside the table", d, out.free_head);
    if ((out.free_head == 0) != (out.free_count == 0))
        return fmt::format("descriptor page {}: free list head {} disagrees with free page count {}", d,
                           out.free_head, out.free_count);
    if (out.free_head != 0 && out.is_hash_page(out.free_head))
        return fmt::format("descriptor page {}: free list head {} is a hash page", d, out.free_head);
    return {};
}

std::string read_header(const std::int32_t *words, std::int32_t d, std::int64_t pages_available,
                        int cells_per_page, header &out)
{
    descriptor_words snapshot;
    load_descriptor(words, snapshot);
    std::string problem = read_structure(snapshot, d, pages_available, cells_per_page, out);
    return problem.empty() ? read_counters(snapshot, out) : problem;
}

} // namespace netshm::core
