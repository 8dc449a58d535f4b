// find_many: many keys in one call, their cache misses overlapped by software
// pipelining (doc/locking.md, "Batch reads").  A chunk of keys goes through
// three stages: the first cell of each key's probe is prefetched, then each
// cell is read and each binding's first page prefetched, then each binding is
// validated and copied.  Every word is read once and validated as the single
// find validates it; a key whose first cell holds another key is probed in
// full by the single find's probe.
#include "table/scopes.hpp"

#include <algorithm>
#include <array>

namespace netshm::core {

using namespace layout;

namespace {

// Keys whose first cell is prefetched before a chunk's optimistic read.
constexpr std::size_t early_prefetches = 8;

void copy_words(std::int32_t *out, const std::int32_t *from, std::size_t count, bool racy) noexcept
{
    if (racy)
        shared::copy_out(out, from, count);
    else
        shared::copy_out_unraced(out, from, count);
}

} // namespace

std::size_t table::find_chunk(const header &h, std::span<const std::int32_t> keys, found_slot *slots,
                              std::span<std::int32_t> values, std::size_t offset, bool racy) const
{
    const std::size_t n = keys.size();
    std::array<cell_place, find_many_chunk> cells;
    for (std::size_t i = 0; i < n; ++i) {
        cells[i] = locate_cell(h, probe_index(h, keys[i], 0));
        __builtin_prefetch(page_words(cells[i].page) + cells[i].word);
    }
    std::array<std::int32_t, find_many_chunk> pages;
    auto read_cell = [&](std::size_t i) {
        cell_ref cell{cells[i].page, cells[i].word, false, load(cells[i].page, cells[i].word + cell_ptr), -1};
        if (cell.ptr != ptr_never_used) {
            cell.found = load(cell.page, cell.word + cell_key) == keys[i];
            if (!cell.found)
                cell = probe(h, keys[i], false);
        }
        pages[i] = bound_page(h, cell);
        if (pages[i] != 0)
            __builtin_prefetch(page_words(pages[i]));
    };
    auto finish = [&](std::size_t i) {
        const std::int32_t page = pages[i];
        if (page == 0) {
            slots[i] = {0, 0, false};
            return;
        }
        binding_head head = read_head(h, page, keys[i]);
        auto length = static_cast<std::size_t>(head.length);
        slots[i] = {offset, length, true};
        const bool fits = length <= values.size() && offset <= values.size() - length;
        // Past the end of `values` there is no pointer to form (cap 0 passes NULL).
        std::int32_t *out = fits ? values.data() + offset : nullptr;
        offset += length;
        if (in_first_page(head)) {
            if (fits)
                copy_words(out, page_words(page) + c_data, length, racy);
            return;
        }
        // Validated whether it fits or not: the same verdict as find.
        binding b = read_binding(h, page, keys[i]);
        if (fits)
            visit_fragments(b, [&out, racy](const std::int32_t *fragment, std::size_t count) {
                copy_words(out, fragment, count, racy);
                out += count;
                return 0;
            });
    };
    // Each stage over the whole chunk: its loads have the time of the rest
    // of the chunk's stage to arrive.
    for (std::size_t i = 0; i < n; ++i)
        read_cell(i);
    for (std::size_t i = 0; i < n; ++i)
        finish(i);
    return offset;
}

std::size_t table::find_many(std::span<const std::int32_t> keys, std::span<std::int32_t> values,
                             function_ref<void(std::size_t, std::span<const found_slot>)> report)
{
    operation op(*this);
    std::array<found_slot, find_many_chunk> slots;
    std::size_t offset = 0;
    for (std::size_t first = 0; first < keys.size(); first += find_many_chunk) {
        std::span<const std::int32_t> chunk = keys.subspan(first, std::min(find_many_chunk, keys.size() - first));
        // As find does: cells start loading while the lock's system call or
        // the optimistic read's start runs; stage 1 prefetches them again, so
        // only the first few unless a system call is coming.
        for (std::int32_t key : record_locking_ ? chunk : chunk.first(std::min(chunk.size(), early_prefetches)))
            prefetch_probe(key);
        std::size_t end = 0;
        // An attempt disturbed by a writer may have copied torn words into
        // `values`: the attempt that validates copies every value again.
        if (!reads_optimistically() || !read_optimistically([&] {
                end = find_chunk(refresh(), chunk, slots.data(), values, offset, true);
            })) {
            page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
            end = find_chunk(refresh(), chunk, slots.data(), values, offset, false);
        }
        offset = end;
        report(first, {slots.data(), chunk.size()});
    }
    return offset;
}

} // namespace netshm::core
