// The integrity check's walk over the pages the descriptor and the hash cells
// lead to: the free list, then each cell's chain of bindings and each value's
// follow-up pages.  Every page reached is claimed for one owner, so every
// loop ends within the table's page count.
#include "image/walk.hpp"

#include "format/cells.hpp"

#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

namespace {

const char *kind_of_magic(std::int32_t magic)
{
    return magic == content_magic    ? "a first content page's"
           : magic == followup_magic ? "a follow-up page's"
           : magic == free_magic     ? "a free page's"
                                     : nullptr;
}

const image_walk::page_kind free_page{page_role::free, free_magic, problem_kind::free_list, "free page"};
const image_walk::page_kind first_page{page_role::first_page, content_magic, problem_kind::content_page,
                                       "first content page"};
const image_walk::page_kind follow_up_page{page_role::follow_up, followup_magic, problem_kind::follow_up,
                                           "follow-up page"};

} // namespace

problem_kind image_walk::link_kind(const link &from)
{
    switch (from.which) {
    case link::free_head:
    case link::free_next: return problem_kind::free_list;
    case link::cell: return problem_kind::hash_cell;
    case link::older: return problem_kind::binding_chain;
    case link::next: return problem_kind::follow_up;
    }
    return problem_kind::free_list;
}

// Formatted only for a problem: most pointers are sound.
std::string image_walk::link_text(const link &from, std::int32_t page)
{
    switch (from.which) {
    case link::free_head: return fmt::format("page {}: the free list starts at page {}", from.referrer, page);
    case link::free_next: return fmt::format("page {}: the next free page is page {}", from.referrer, page);
    case link::cell:
        return fmt::format("page {}: cell {} (key {}) points to page {}", from.referrer, from.cell_index, from.key,
                           page);
    case link::older:
        return fmt::format("page {}: the older binding of key {} is page {}", from.referrer, from.key, page);
    case link::next: return fmt::format("page {}: the next page of the value is page {}", from.referrer, page);
    }
    return {};
}

// A pointer to a page that holds the magic of another kind of page is the
// pointer's fault, reported at the page holding the pointer, and the page is
// left to its real owner.  A page with a magic of no kind is itself damaged:
// reported at that page, which is claimed and walked on.
bool image_walk::enter(const link &from, std::int32_t page, const page_kind &kind, std::int32_t tag)
{
    if (!owners_->is_data_page(page)) {
        report(link_kind(from), from.referrer, fmt::format("{}, {}", link_text(from, page), owners_->describe(page)));
        return false;
    }
    page_role role = owners_->role(page);
    if (role == kind.role && owners_->tag(page) == tag) {
        report(link_kind(from), from.referrer, link_text(from, page) + ", already in this chain: a cycle");
        return false;
    }
    std::int32_t magic = load(page, 0);
    if (const char *other = kind_of_magic(magic); magic != kind.magic && other != nullptr) {
        report(link_kind(from), from.referrer,
               fmt::format("{}, which holds {} magic {:#010x}", link_text(from, page), other, bits(magic)));
        return false;
    }
    if (role != page_role::none) {
        report(problem_kind::page_shared, page,
               fmt::format("page {}: reached from page {} as a {}, but it is already {}", page, from.referrer,
                           kind.name, owners_->describe(page)));
        return false;
    }
    owners_->claim(page, kind.role, tag);
    if (magic != kind.magic)
        report(kind.damaged, page,
               fmt::format("page {}: bad {} magic {:#010x}, expected {:#010x}", page, kind.name, bits(magic),
                           bits(kind.magic)));
    return true;
}

void image_walk::walk_free_list()
{
    link from{link::free_head, descriptor_page_};
    for (std::int32_t page = free_head_; page != 0; page = load(page, free_next)) {
        if (!enter(from, page, free_page, 0))
            return;
        ++free_pages_found_;
        from = {link::free_next, page};
    }
}

void image_walk::walk_hash_table()
{
    cells_.reserve(static_cast<std::size_t>(header_.hash_size));
    std::int64_t index = 0;
    for_each_cell(header_, [&](std::int32_t page, int word) {
        const std::int64_t cell = index++;
        std::int32_t key = load(page, word + cell_key);
        std::int32_t ptr = load(page, word + cell_ptr);
        std::int32_t spare_key = load(page, word + cell_spare_key);
        std::int32_t spare_ptr = load(page, word + cell_spare_ptr);
        cells_.push_back({key, ptr});
        if (spare_key != 0 || spare_ptr != 0)
            report(problem_kind::hash_cell, page,
                   fmt::format("page {}: cell {} has spare words {} {}, which are 0 except during a resize", page,
                               cell, spare_key, spare_ptr));
        if (ptr == ptr_never_used)
            return;
        ++cells_in_use_;
        if (ptr == ptr_unbound)
            return;
        bound_cells_.push_back(cell);
        walk_bindings(static_cast<std::int32_t>(cell), page, key, ptr);
    });
}

void image_walk::walk_bindings(std::int32_t cell, std::int32_t hash_page, std::int32_t key, std::int32_t first)
{
    link from{link::cell, hash_page, cell, key};
    for (std::int32_t page = first; page != 0; page = load(page, c_older_binding)) {
        if (!enter(from, page, first_page, cell))
            return;
        ++bindings_found_;
        ++stats_.content_pages;
        walk_value(page, key);
        from = {link::older, page, 0, key};
    }
}

void image_walk::walk_value(std::int32_t first, std::int32_t key)
{
    if (std::int32_t stored = load(first, c_key); stored != key)
        report(problem_kind::content_page, first,
               fmt::format("page {}: first page of a binding of key {} holds key {}", first, key, stored));
    if (std::int32_t offset = load(first, c_value_offset); offset != 0)
        report(problem_kind::content_page, first, fmt::format("page {}: value offset {} is not 0", first, offset));
    std::int32_t length = load(first, c_value_length);
    if (length < 0)
        report(problem_kind::content_page, first, fmt::format("page {}: value length {} is negative", first, length));
    else
        stats_.value_bytes += 4 * static_cast<std::uint64_t>(length);

    std::int64_t pages = 1;
    link from{link::next, first};
    for (std::int32_t page = load(first, c_next_page); page != 0; page = load(page, f_next_page), ++pages) {
        if (!enter(from, page, follow_up_page, first))
            return;
        ++stats_.content_pages;
        if (std::int32_t stored = load(page, f_key); stored != key)
            report(problem_kind::follow_up, page,
                   fmt::format("page {}: follow-up page of key {} holds key {}", page, key, stored));
        if (std::int32_t sequence = load(page, f_sequence); sequence != pages)
            report(problem_kind::follow_up, page,
                   fmt::format("page {}: follow-up page has sequence number {}, expected {}", page, sequence, pages));
        from.referrer = page;
    }
    if (std::int64_t needed = pages_for_value(length, words_per_page_); length >= 0 && pages != needed)
        report(problem_kind::content_page, first,
               fmt::format("page {}: value length {} needs {} pages, but its chain has {}", first, length, needed,
                           pages));
}

} // namespace netshm::core
