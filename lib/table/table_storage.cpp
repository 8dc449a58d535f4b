// The object under a table: following its size, growing it, the free list and
// the content pages of bindings.
#include "table/table.hpp"

#include "core/error.hpp"
#include "core/store_hook.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

namespace {

[[noreturn]] void corrupt(const std::string &name, std::string message)
{
    throw error(errc::corrupt, fmt::format("{}: {}", name, message));
}

std::uint32_t hex(std::int32_t word) { return static_cast<std::uint32_t>(word); }

} // namespace

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

const header &table::refresh()
{
    const std::int32_t *words = page_words(descriptor_page_);
    descriptor_change change =
        header_validated_ ? compare_descriptor(words, validated_words_) : descriptor_change::structure;
    if (change == descriptor_change::none)
        return validated_;
    header_validated_ = false;
    if (change == descriptor_change::counters) {
        for (int i = d_claimed_cells; i <= d_free_count; ++i)
            validated_words_[static_cast<std::size_t>(i)] = load(descriptor_page_, i);
    } else {
        load_descriptor(words, validated_words_);
        if (std::int32_t total = validated_words_[d_total_pages]; total > mapped_pages_) {
            // Another process grew the object: map what the object really holds.
            std::int64_t available = static_cast<std::int64_t>(object_->size() / (static_cast<std::uint64_t>(words_per_page_) * 4));
            if (total > available)
                corrupt(object_->name(), fmt::format("descriptor page {}: total page count {} exceeds the "
                                                     "object's {} pages",
                                                     descriptor_page_, total, available));
            map_pages(total);
        }
        std::string problem =
            read_structure(validated_words_, descriptor_page_, mapped_pages_, cells_per_page_, validated_);
        if (!problem.empty())
            corrupt(object_->name(), std::move(problem));
    }
    std::string problem = read_counters(validated_words_, validated_);
    if (!problem.empty())
        corrupt(object_->name(), std::move(problem));
    header_validated_ = true;
    return validated_;
}

void table::grow_object(header &h, std::int64_t new_total)
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
        zero_words(page_words(static_cast<std::int32_t>(h.total_pages)),
                   (std::min(old_size, static_cast<std::uint64_t>(new_total) * page_bytes) - table_end) / 4);
}

void table::check_content_page(const header &h, std::int32_t page, const char *what,
                               std::int32_t referrer) const
{
    if (!h.is_data_page(page))
        corrupt(object_->name(), fmt::format("page {}: {} {} is outside the content pages", referrer, what, page));
}

table::binding table::read_binding(const header &h, std::int32_t page, std::int32_t key) const
{
    const std::string &name = object_->name();
    if (std::int32_t magic = load(page, c_magic); magic != content_magic)
        corrupt(name, fmt::format("page {}: bad content page magic {:#010x}", page, hex(magic)));
    if (std::int32_t stored = load(page, c_key); stored != key)
        corrupt(name, fmt::format("page {}: binding of key {} found for key {}", page, stored, key));
    std::int32_t next = load(page, c_next_page);
    binding b{page, load(page, c_older_binding), load(page, c_value_length), {}};
    if (b.older != 0)
        check_content_page(h, b.older, "older binding", page);
    if (std::int32_t offset = load(page, c_value_offset); offset != 0)
        corrupt(name, fmt::format("page {}: value offset {} is not 0", page, offset));
    if (b.length < 0 || pages_for_value(b.length, words_per_page_) > h.total_pages)
        corrupt(name, fmt::format("page {}: value length {} is impossible", page, b.length));
    b.pages.reserve(static_cast<std::size_t>(pages_for_value(b.length, words_per_page_)));
    b.pages.push_back(page);
    std::int64_t remaining = b.length - std::min<std::int64_t>(b.length, words_per_page_ - c_data);
    std::int32_t current = page;
    for (std::int32_t sequence = 1; remaining > 0; ++sequence) {
        if (next == 0)
            corrupt(name, fmt::format("page {}: value of length {} ends {} words early", current, b.length,
                                      remaining));
        check_content_page(h, next, "next value page", current);
        if (std::int32_t magic = load(next, f_magic); magic != followup_magic)
            corrupt(name, fmt::format("page {}: bad follow-up page magic {:#010x}", next, hex(magic)));
        if (std::int32_t stored = load(next, f_key); stored != key)
            corrupt(name, fmt::format("page {}: follow-up page of key {} found for key {}", next, stored, key));
        if (std::int32_t stored = load(next, f_sequence); stored != sequence)
            corrupt(name, fmt::format("page {}: sequence number {} where {} was expected", next, stored, sequence));
        current = next;
        next = load(current, f_next_page);
        b.pages.push_back(current);
        remaining -= std::min<std::int64_t>(remaining, words_per_page_ - f_data);
    }
    if (next != 0)
        corrupt(name, fmt::format("page {}: the value continues past its length {}", current, b.length));
    return b;
}

int table::visit_fragments(const binding &b, function_ref<int(std::int32_t *, std::size_t)> fn) const
{
    std::int64_t remaining = b.length;
    for (std::size_t i = 0; i < b.pages.size(); ++i) {
        int offset = i == 0 ? int{c_data} : int{f_data};
        std::int64_t count = std::min<std::int64_t>(remaining, words_per_page_ - offset);
        int answer = fn(page_words(b.pages[i]) + offset, static_cast<std::size_t>(count));
        if (answer != 0)
            return answer;
        remaining -= count;
    }
    return 0;
}

void table::copy_value(const binding &b, std::int32_t *out) const
{
    visit_fragments(b, [&out](const std::int32_t *fragment, std::size_t count) {
        if (count > 0)
            std::memcpy(out, fragment, count * sizeof(std::int32_t));
        out += count;
        return 0;
    });
}

std::int32_t table::write_binding(std::int32_t key, std::span<const std::int32_t> value, std::int32_t older,
                                  const page_list &pages)
{
    // The magic, then the key, last (doc/locking.md, "Writers"): while a page
    // keeps the free magic, word 1 still holds its free-list link, which a
    // recovery gives it back with.
    const std::int32_t *source = value.data();
    std::int64_t remaining = static_cast<std::int64_t>(value.size());
    for (std::size_t i = 0; i < pages.size(); ++i) {
        std::int32_t page = pages[i];
        std::int32_t next = i + 1 < pages.size() ? pages[i + 1] : 0;
        bool first = i == 0;
        if (first) {
            store(page, c_next_page, next);
            store(page, c_older_binding, older);
            store(page, c_value_offset, 0);
            store(page, c_value_length, static_cast<std::int32_t>(value.size()));
        } else {
            store(page, f_next_page, next);
            store(page, f_sequence, static_cast<std::int32_t>(i));
        }
        int offset = first ? int{c_data} : int{f_data};
        std::int64_t count = std::min<std::int64_t>(remaining, words_per_page_ - offset);
        if (count > 0)
            store_words(page_words(page) + offset, source, static_cast<std::size_t>(count));
        source += count;
        remaining -= count;
        publish(page, c_magic, first ? content_magic : followup_magic);
        store(page, c_key, key);
    }
    return pages.front();
}

} // namespace netshm::core
