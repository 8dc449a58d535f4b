// The hash index: the validated descriptor (refresh), locating cells, probing,
// and growing by extents with a rehash (doc/format.md, "Growth").
#include "table/scopes.hpp"

#include "format/cells.hpp"
#include "util/error.hpp"

#include <climits>
#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

namespace {

std::int64_t last_hash_page(const header &h)
{
    const hash_extent &last = h.extents[static_cast<std::size_t>(h.extent_count - 1)];
    return static_cast<std::int64_t>(last.first_page) + last.pages - 1;
}

} // namespace

table::first_cell table::prefetch_probe(std::int32_t key) const noexcept
{
    if (!header_validated_)
        return {};
    cell_ref cell = cell_at(validated_, probe_index(validated_, key, 0));
    __builtin_prefetch(page_words(cell.page) + cell.word);
    return {cell, structure_validations_};
}

table::cell_ref table::probe(const header &h, std::int32_t key, bool spare, first_cell first) const
{
    int shift = spare ? cell_spare_key : cell_key;
    std::int64_t limit = h.hash_size + 10;
    const bool first_known = &h == &validated_ && first.validation != 0 && first.validation == structure_validations_;
    for (std::int64_t attempt = 0; attempt <= limit; ++attempt) {
        cell_ref cell = attempt == 0 && first_known ? first.cell : cell_at(h, probe_index(h, key, attempt));
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
    shared::zero(page_words(static_cast<std::int32_t>(first)),
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

const header &table::refresh_descriptor()
{
    const std::int32_t *words = page_words(descriptor_page_);
    descriptor_change change =
        header_validated_ ? compare_descriptor(words, validated_words_) : descriptor_change::structure;
    if (change == descriptor_change::none)
        return validated_;
    header_validated_ = false;
    std::string problem;
    if (change == descriptor_change::counters) {
        for (int i = d_claimed_cells; i <= d_free_count; ++i)
            validated_words_[static_cast<std::size_t>(i)] = load(descriptor_page_, i);
        problem = validate_counters(validated_words_, validated_);
    } else {
        load_descriptor(words, validated_words_);
        std::int64_t pages_available = mapped_pages_;
        if (std::int32_t total = validated_words_[d_total_pages]; total > mapped_pages_) {
            // Another process grew the object: map what the object really holds.
            pages_available =
                static_cast<std::int64_t>(object_->size() / (static_cast<std::uint64_t>(words_per_page_) * 4));
            if (total <= pages_available)
                map_pages(total);
        }
        problem = validate_header(validated_words_, descriptor_page_, pages_available, cells_per_page_, validated_);
        ++structure_validations_;
    }
    if (!problem.empty())
        corrupt(problem);
    header_validated_ = true;
    return validated_;
}

void table::resize_hash(header &h)
{
    // Its own operation for a recovery: the first pass is undone, the
    // second and third finished (doc/locking.md, "Recovery when a writer dies").
    intent record;
    mutate(
        [&] {
            record = intent_of(intent_op::resize_rehash, 0, h);
            return record;
        },
        [&] {
            add_hash_extent(h);
            rehash_into_spares(h);
            shared::pages pages{base_, words_per_page_};
            record.op = intent_op::resize_copy;
            record_next_pass(record);
            copy_spares(pages, h);
            record.cell_index = resize_spares_copied;
            record_next_pass(record);
            clear_spares(pages, h);
        });
}

void table::rehash_into_spares(const header &h)
{
    // Every bound cell moves through the spare words to its place in the
    // larger table; cells without a binding (ptr -1) are dropped.
    for_each_cell(h, [&](std::int32_t page, int word) {
        std::int32_t ptr = load(page, word + cell_ptr);
        if (ptr == ptr_never_used || ptr == ptr_unbound)
            return;
        std::int32_t key = load(page, word + cell_key);
        cell_ref target = probe(h, key, true);
        if (target.found)
            throw error(errc::corrupt, fmt::format("{}: page {}: key {} is in the hash table twice",
                                                   object_->name(), page, key));
        store(target.page, target.word + cell_spare_key, key);
        store(target.page, target.word + cell_spare_ptr, ptr);
    });
}

} // namespace netshm::core
