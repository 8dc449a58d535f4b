// The object under a table: mapping it, growing it, the free list, and runs
// of shared words stored one atomic word at a time (with mutex locking,
// optimistic readers read while a writer stores: a plain memset or memcpy
// racing them would be a data race).
#include "table/table.hpp"

#include "format/growth.hpp"
#include "util/error.hpp"
#include "util/store_hook.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

void table::corrupt(std::string_view message) const
{
    throw error(errc::corrupt, fmt::format("{}: {}", object_->name(), message));
}

void table::check_writable(const char *what) const
{
    if (!writable_)
        throw error(errc::read_only, fmt::format("{} on {}: the table is read-only", what, object_->name()));
    if (locks_.state().callbacks_active > 0)
        throw error(errc::self_locked, fmt::format("{} on {}: cannot modify table locked by caller", what,
                                                   object_->name()));
}

void table::map_pages(std::int64_t pages)
{
    mapping fresh(object_->fd(), static_cast<std::size_t>(pages) * static_cast<std::size_t>(words_per_page_) * 4,
                  writable_, object_->name());
    if (locks_.state().callbacks_active > 0)
        retired_.push_back(std::move(mapping_));
    mapping_ = std::move(fresh);
    base_ = mapping_.words();
    mapped_pages_ = pages;
    header_validated_ = false;
}

void table::grow_object(const header &h, std::int64_t new_total)
{
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    std::uint64_t old_size = object_->size();
    // Other processes see the object grow: a crash point like a store.
    testing::before_shared_store();
    object_->grow_to(static_cast<std::uint64_t>(new_total) * page_bytes);
    map_pages(new_total);
    // Pages past the table are zero in a sound object; clear what an earlier
    // writer may have left there before handing the pages out.
    std::uint64_t table_end = static_cast<std::uint64_t>(h.total_pages) * page_bytes;
    if (old_size > table_end)
        shared::zero(page_words(static_cast<std::int32_t>(h.total_pages)),
                   (std::min(old_size, static_cast<std::uint64_t>(new_total) * page_bytes) - table_end) / 4);
}

std::int64_t table::reserve_growth(const header &h, std::int64_t count)
{
    std::int64_t missing = count - h.free_count;
    if (h.total_pages + missing > INT32_MAX)
        throw error(errc::too_big, fmt::format("{}: the table would exceed 2^31-1 pages", object_->name()));
    std::int64_t wanted = mimic_ocamlnet_ ? missing : geometric_growth(h.total_pages, missing);
    wanted = std::min(wanted, INT32_MAX - h.total_pages);
    try {
        grow_object(h, h.total_pages + wanted);
        return wanted;
    } catch (const error &e) {
        // A full file system (or the file size limit) may still hold the
        // pages this write needs.
        bool full = e.sys_errno() == ENOSPC || e.sys_errno() == EFBIG;
        if (!full || wanted == missing)
            throw;
    }
    grow_object(h, h.total_pages + missing);
    return missing;
}

table::allocation table::plan_allocation(const header &h, std::int64_t count)
{
    allocation plan{h.free_count >= count ? 0 : reserve_growth(h, count), {}, 0};
    plan.pages.reserve(static_cast<std::size_t>(count));
    std::int64_t from_growth = std::min(count, plan.growth);
    std::int32_t page = h.free_head;
    if (plan.growth > 0) {
        // Growth pushes pages total..total+growth-1 in that order: the
        // newest is the head.
        std::int64_t top = h.total_pages + plan.growth;
        for (std::int64_t i = 0; i < from_growth; ++i)
            plan.pages.push_back(static_cast<std::int32_t>(top - 1 - i));
        if (from_growth < plan.growth)
            page = static_cast<std::int32_t>(top - 1 - from_growth);
    }
    // Walk and check the free list's pages, so that a damaged list changes nothing.
    const std::string &name = object_->name();
    for (std::int64_t i = from_growth; i < count; ++i) {
        if (page == 0)
            throw error(errc::corrupt, fmt::format("{}: descriptor page {}: the free list ends after {} pages but "
                                                   "counts {}",
                                                   name, descriptor_page_, i - from_growth, h.free_count));
        if (!h.is_data_page(page))
            throw error(errc::corrupt, fmt::format("{}: page {} on the free list is outside the content pages",
                                                   name, page));
        if (std::int32_t magic = load(page, free_magic_word); magic != free_magic)
            throw error(errc::corrupt, fmt::format("{}: page {} on the free list has magic {:#010x}", name, page,
                                                   static_cast<std::uint32_t>(magic)));
        std::int32_t next = load(page, free_next);
        if (next != 0 && !h.is_data_page(next))
            throw error(errc::corrupt, fmt::format("{}: page {}: free list link {} is outside the content pages",
                                                   name, page, next));
        plan.pages.push_back(page);
        page = next;
    }
    if (count - from_growth > 1) {
        page_list sorted(plan.pages);
        std::sort(sorted.begin(), sorted.end());
        if (auto repeat = std::adjacent_find(sorted.begin(), sorted.end()); repeat != sorted.end())
            throw error(errc::corrupt, fmt::format("{}: the free list has a cycle through page {}", name, *repeat));
    }
    plan.free_head_after = page;
    return plan;
}

void table::append_free_pages(header &h, std::int64_t growth)
{
    std::int64_t old_total = h.total_pages;
    h.total_pages = old_total + growth;
    store(descriptor_page_, d_total_pages, static_cast<std::int32_t>(h.total_pages));
    for (std::int64_t page = old_total; page < h.total_pages; ++page) {
        store(static_cast<std::int32_t>(page), free_magic_word, free_magic);
        store(static_cast<std::int32_t>(page), free_next, h.free_head);
        h.free_head = static_cast<std::int32_t>(page);
    }
    h.free_count += growth;
}

void table::free_binding_pages(header &h, const page_list &pages)
{
    for (std::int32_t page : pages) {
        store(page, free_magic_word, free_magic);
        store(page, free_next, h.free_head);
        h.free_head = page;
    }
    h.free_count += static_cast<std::int64_t>(pages.size());
    store(descriptor_page_, d_free_head, h.free_head);
    store(descriptor_page_, d_free_count, static_cast<std::int32_t>(h.free_count));
}

void table::store_words(std::int32_t *target, const std::int32_t *source, std::size_t count) noexcept
{
    // Only mutex locking has readers that race a writer.
    if (locks_.writer() == nullptr)
        shared::copy_in_unraced(target, source, count);
    else
        shared::copy_in(target, source, count);
}

} // namespace netshm::core
