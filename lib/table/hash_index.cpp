// The hash table of a table: locating cells, probing, and growing by extents.
#include "table/table.hpp"

#include "core/error.hpp"

#include <climits>
#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

table::cell_ref table::cell_at(const header &h, std::int64_t index) const noexcept
{
    // index < hash_size, which the extents hold (read_structure checked it).
    // Each extent is at least as large as all before it together: most
    // cells lie in the last ones.
    int extent = h.extent_count - 1;
    while (index < h.extent_first_cell[static_cast<std::size_t>(extent)])
        --extent;
    auto cell = static_cast<std::uint32_t>(index - h.extent_first_cell[static_cast<std::size_t>(extent)]);
    std::uint32_t page = cells_per_page_divisor_.quotient(cell);
    std::uint32_t cell_in_page = cell - page * static_cast<std::uint32_t>(cells_per_page_);
    return {h.extents[static_cast<std::size_t>(extent)].first_page + static_cast<std::int32_t>(page),
            static_cast<int>(hash_page_header + cell_words * cell_in_page), false, 0};
}

namespace {

std::int64_t last_hash_page(const header &h)
{
    const hash_extent &last = h.extents[static_cast<std::size_t>(h.extent_count - 1)];
    return static_cast<std::int64_t>(last.first_page) + last.pages - 1;
}

// The cell of probe attempt `attempt` for key: (key + offset) mod hash_size,
// computed in 32 bits as OCamlnet does, the remainder taken non-negative.
std::int64_t probe_index(const header &h, std::int32_t key, std::int64_t attempt) noexcept
{
    auto sum = static_cast<std::int32_t>(static_cast<std::uint32_t>(key) +
                                         static_cast<std::uint32_t>(probe_offset(attempt)));
    auto magnitude = static_cast<std::uint32_t>(sum);
    if (sum < 0)
        magnitude = 0u - magnitude;
    std::uint32_t remainder = h.hash_divisor.remainder(magnitude);
    return sum < 0 && remainder != 0 ? h.hash_size - remainder : remainder;
}

} // namespace

void table::prefetch_probe(std::int32_t key) const noexcept
{
    if (!header_validated_)
        return;
    cell_ref cell = cell_at(validated_, probe_index(validated_, key, 0));
    __builtin_prefetch(page_words(cell.page) + cell.word);
}

table::cell_ref table::probe(const header &h, std::int32_t key, bool spare) const
{
    int shift = spare ? cell_spare_key : cell_key;
    std::int64_t limit = h.hash_size + 10;
    for (std::int64_t attempt = 0; attempt <= limit; ++attempt) {
        cell_ref cell = cell_at(h, probe_index(h, key, attempt));
        cell.ptr = load(cell.page, cell.word + shift + 1);
        if (cell.ptr == ptr_never_used)
            return cell;
        if (load(cell.page, cell.word + shift) == key) {
            cell.found = true;
            return cell;
        }
    }
    throw error(errc::corrupt, fmt::format("{}: descriptor page {}: probing for key {} visits more than {} "
                                           "cells of the hash table (pages {}..{}) without a free one",
                                           object_->name(), descriptor_page_, key, limit,
                                           h.extents[0].first_page, last_hash_page(h)));
}

std::int32_t table::bound_page(const header &h, const cell_ref &cell) const
{
    if (!cell.found || cell.ptr == ptr_unbound || cell.ptr == ptr_never_used)
        return 0;
    check_content_page(h, cell.ptr, "hash cell pointer", cell.page);
    return cell.ptr;
}

table::cell_ref table::probe_for_addition(header &h, std::int32_t key, bool &claims_cell)
{
    cell_ref cell = probe(h, key, false);
    claims_cell = !cell.found;
    if (cell.found || 2 * h.claimed_cells <= h.hash_size)
        return cell;
    resize_hash(h);
    cell = probe(h, key, false);
    if (cell.found)
        throw error(errc::corrupt, fmt::format("{}: page {}: key {} appeared while rehashing", object_->name(),
                                               cell.page, key));
    return cell;
}

void table::add_hash_extent(header &h)
{
    if (h.extent_count == max_extents)
        throw error(errc::too_big, fmt::format("{}: the hash table has all {} extents and cannot grow "
                                               "further",
                                               object_->name(), max_extents));
    std::int64_t largest = 0;
    for (int i = 0; i < h.extent_count; ++i)
        largest = std::max<std::int64_t>(largest, h.extents[static_cast<std::size_t>(i)].pages);
    std::int64_t pages = 2 * largest;
    std::int64_t first = h.total_pages;
    std::int64_t hash_size = h.hash_size + pages * cells_per_page_;
    if (first + pages > INT32_MAX || hash_size > INT32_MAX)
        throw error(errc::too_big, fmt::format("{}: the hash table cannot grow beyond the format's "
                                               "limits",
                                               object_->name()));
    grow_object(h, first + pages);
    zero_words(page_words(static_cast<std::int32_t>(first)),
               static_cast<std::size_t>(pages) * static_cast<std::size_t>(words_per_page_));
    std::int32_t d = descriptor_page_;
    int slot = h.extent_count;
    h.total_pages = first + pages;
    h.hash_size = hash_size;
    h.extents[static_cast<std::size_t>(slot)] = {static_cast<std::int32_t>(first), static_cast<std::int32_t>(pages)};
    h.extent_count = slot + 1;
    h.index_hash(cells_per_page_);
    store(d, d_total_pages, static_cast<std::int32_t>(h.total_pages));
    store(d, d_hash_size, static_cast<std::int32_t>(h.hash_size));
    store(d, d_extents + 2 * slot, static_cast<std::int32_t>(first));
    store(d, d_extents + 2 * slot + 1, static_cast<std::int32_t>(pages));
}

} // namespace netshm::core
