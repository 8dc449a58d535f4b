#include "recovery/crash_recovery.hpp"

#include "format/cells.hpp"
#include "format/growth.hpp"
#include "image/integrity.hpp"
#include "image/new_table.hpp"
#include "shm/mapping.hpp"
#include "util/error.hpp"
#include "util/shared_words.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

const char *operation_name(intent_op op) noexcept
{
    switch (op) {
    case intent_op::none: return "no recorded operation";
    case intent_op::add: return "add";
    case intent_op::replace: return "replace";
    case intent_op::remove: return "remove";
    case intent_op::resize_rehash: return "hash resize (rehash)";
    case intent_op::resize_copy: return "hash resize (copy)";
    case intent_op::reinitialise: return "re-initialisation";
    }
    return "unknown operation";
}

namespace {

std::string describe(const intent &record)
{
    return fmt::format("{} of key {}", operation_name(record.op), record.key);
}

[[noreturn]] void unrecoverable(const shm_object &object, const intent &record, const std::string &what)
{
    throw error(errc::corrupt, fmt::format("{}: cannot recover from a writer that died during {}: {}",
                                           object.name(), describe(record), what));
}

bool valid_pagesize(std::int64_t pagesize) noexcept
{
    return pagesize >= min_pagesize && pagesize <= max_pagesize && pagesize % 4 == 0;
}

// The state before an add, replace or remove, or a resize's first pass,
// restored; or a resize's second pass finished.  Every page number, count
// and word read from the record or the object is checked before use.
class interrupted_mutation {
public:
    interrupted_mutation(shm_object &object, const intent &record)
        : object_(object),
          record_(record),
          words_per_page_(record.pagesize / 4),
          bytes_(object.size()),
          pages_available_(static_cast<std::int64_t>(bytes_ / static_cast<std::uint64_t>(record.pagesize))),
          whole_(object.fd(), bytes_, true, object.name()),
          pages_{whole_.words(), words_per_page_}
    {
        if (pages_available_ < 3)
            damaged(fmt::format("the object's {} bytes hold no table of page size {}", bytes_, record.pagesize));
        descriptor_page_ = pages_.load(0, master_descriptor_page);
        if (descriptor_page_ < 1 || descriptor_page_ >= pages_available_)
            damaged(fmt::format("page 0 names descriptor page {}", descriptor_page_));
    }

    void undo()
    {
        header before = snapshot_header();
        restore_changed_word(before);
        rebind_freed(before);
        give_back_allocated(before);
        restore_descriptor(before);
        zero_from(before.total_pages);
    }

    void undo_rehash()
    {
        header before = snapshot_header();
        clear_spares(pages_, before);
        restore_descriptor(before);
        zero_from(before.total_pages);
    }

    void finish_resize()
    {
        descriptor_words words;
        load_descriptor(pages_.at(descriptor_page_, 0), words);
        header now;
        if (std::string problem =
                validate_header(words, descriptor_page_, pages_available_, cells_per_page(words_per_page_), now);
            !problem.empty())
            damaged(problem);
        if (now.extent_count != record_.snapshot.extents + 1)
            damaged(fmt::format("the resize from {} hash extents left {}", record_.snapshot.extents,
                                now.extent_count));
        if (record_.cell_index != resize_spares_copied)
            copy_spares(pages_, now);
        clear_spares(pages_, now);
    }

private:
    [[noreturn]] void damaged(const std::string &what) const { unrecoverable(object_, record_, what); }

    // The descriptor as the snapshot has it: the counters and sizes of the
    // record, the extents the snapshot counts.
    header snapshot_header() const
    {
        const descriptor_snapshot &s = record_.snapshot;
        if (s.extents < 1 || s.extents > max_extents)
            damaged(fmt::format("its snapshot counts {} hash extents", s.extents));
        descriptor_words words;
        load_descriptor(pages_.at(descriptor_page_, 0), words);
        auto set = [&words](int i, std::int32_t value) { words[static_cast<std::size_t>(i)] = value; };
        set(d_total_pages, s.total_pages);
        set(d_hash_size, s.hash_size);
        set(d_claimed_cells, s.claimed_cells);
        set(d_bindings, s.bindings);
        set(d_free_head, s.free_head);
        set(d_free_count, s.free_count);
        for (int i = 2 * s.extents; i < 2 * max_extents; ++i)
            set(d_extents + i, 0);
        header before;
        std::string problem =
            validate_header(words, descriptor_page_, pages_available_, cells_per_page(words_per_page_), before);
        if (problem.empty() && before.extent_count != s.extents)
            problem = fmt::format("{} hash extents where the snapshot counts {}", before.extent_count, s.extents);
        if (!problem.empty())
            damaged("its snapshot of the descriptor: " + problem);
        return before;
    }

    void restore_descriptor(const header &before)
    {
        const std::int32_t d = descriptor_page_;
        pages_.store(d, d_total_pages, static_cast<std::int32_t>(before.total_pages));
        pages_.store(d, d_hash_size, static_cast<std::int32_t>(before.hash_size));
        pages_.store(d, d_claimed_cells, static_cast<std::int32_t>(before.claimed_cells));
        pages_.store(d, d_bindings, static_cast<std::int32_t>(before.bindings));
        pages_.store(d, d_free_head, before.free_head);
        pages_.store(d, d_free_count, static_cast<std::int32_t>(before.free_count));
        for (int i = 2 * before.extent_count; i < 2 * max_extents; ++i)
            if (pages_.load(d, d_extents + i) != 0)
                pages_.store(d, d_extents + i, 0);
    }

    // The hash cell (or, for write_blocks, the older-binding word of a
    // page) the mutation changed in place.
    void restore_changed_word(const header &before)
    {
        std::int64_t index = record_.cell_index;
        std::int32_t old_ptr = record_.cell_old_ptr;
        if (index < 0) {
            std::int64_t page = -index;
            if (!before.is_data_page(page) || record_.cell_old_key != c_older_binding)
                damaged(fmt::format("it changed word {} of page {}, not an older-binding word of a content page",
                                    record_.cell_old_key, page));
            if (old_ptr != 0 && !before.is_data_page(old_ptr))
                damaged(fmt::format("page {}: the older binding {} it recorded is not a content page", page,
                                    old_ptr));
            pages_.store(page, c_older_binding, old_ptr);
            return;
        }
        if (index >= before.hash_size)
            damaged(fmt::format("hash cell {} is beyond the {} cells", index, before.hash_size));
        if (old_ptr != ptr_never_used && old_ptr != ptr_unbound && !before.is_data_page(old_ptr))
            damaged(fmt::format("hash cell {}: the pointer {} it recorded is not a content page", index, old_ptr));
        cell_place cell = locate_cell(before, index);
        pages_.store(cell.page, cell.word + cell_key, record_.cell_old_key);
        pages_.store(cell.page, cell.word + cell_ptr, old_ptr);
    }

    // The freed binding's pages become content pages again: freeing changed
    // only their magic and key words.
    void rebind_freed(const header &before)
    {
        std::int32_t count = record_.freed_count;
        if (count < 0 || count > before.total_pages)
            damaged(fmt::format("it freed {} pages of a table of {}", count, before.total_pages));
        std::int32_t page = record_.freed_first;
        for (std::int32_t i = 0; i < count; ++i) {
            if (!before.is_data_page(page))
                damaged(fmt::format("page {} of the binding it freed is not a content page", page));
            pages_.store(page, c_magic, i == 0 ? content_magic : followup_magic);
            pages_.store(page, c_key, record_.key);
            page = pages_.load(page, c_next_page);
        }
    }

    // Each page of the allocated chain goes back on the free list, linked as
    // it was: a page still free keeps its link in word 1, a written one has
    // it as its next page in word 2 (written before its magic), the last one
    // links to the head the allocation left.  Pages the mutation appended
    // come first, from the highest down to the table's end, and are dropped
    // with the growth (zero_from): the object grows before the record is
    // written, but a record may name pages beyond it all the same (OCamlnet
    // writes none, a damaged one), so they are skipped unread (a growth
    // appends at most geometric_growth pages, which bounds a damaged
    // record's first page).
    void give_back_allocated(const header &before)
    {
        std::int32_t count = record_.allocated_count;
        std::int64_t page = record_.allocated_first;
        // Appended pages, the first down to the table's end, come first.
        std::int64_t appended = std::max<std::int64_t>(0, page - before.total_pages + 1);
        if (count < 0 || count > before.total_pages + appended)
            damaged(fmt::format("it allocated {} pages from page {} in a table of {}", count, page,
                                before.total_pages));
        if (appended > geometric_growth(before.total_pages, count))
            damaged(fmt::format("page {} it allocated lies {} pages beyond the table's {}, more than it grows by",
                                page, appended, before.total_pages));
        if (count <= appended)
            return;
        std::int32_t i = 0;
        if (appended > 0) {
            i = static_cast<std::int32_t>(appended);
            page = before.free_head;
            if (page == 0)
                damaged(fmt::format("the {} pages it allocated end after {}", count, i));
        }
        for (; i < count; ++i) {
            bool last = i + 1 == count;
            if (!before.is_data_page(page))
                damaged(fmt::format("page {} it allocated is not a content page", page));
            std::int32_t magic = pages_.load(page, c_magic);
            std::int64_t link;
            if (magic == free_magic)
                link = pages_.load(page, free_next);
            else if (magic == content_magic || magic == followup_magic)
                link = pages_.load(page, c_next_page);
            else
                damaged(fmt::format("page {} it allocated has magic {:#010x}", page, static_cast<std::uint32_t>(magic)));
            if (last)
                link = record_.free_head_after;
            if (link != 0 && !before.is_data_page(link))
                damaged(fmt::format("page {} it allocated links to page {}, not a free page", page, link));
            // The link first: a page keeping a content magic keeps it in word 2 too.
            pages_.store(page, free_next, static_cast<std::int32_t>(link));
            pages_.store(page, free_magic_word, free_magic);
            if (!last && link == 0)
                damaged(fmt::format("the {} pages it allocated end after {}", count, i + 1));
            page = link;
        }
    }

    // Pages past the table are zero (doc/format.md); reading a hole stores
    // nothing, so a full file system is never touched.
    void zero_from(std::int64_t page)
    {
        std::int32_t *words = whole_.words();
        std::uint64_t end = bytes_ / sizeof(std::int32_t);
        for (std::uint64_t w = static_cast<std::uint64_t>(page) * static_cast<std::uint64_t>(words_per_page_); w < end;
             ++w) {
            if (shared::load(words + w) != 0)
                shared::store(words + w, 0);
        }
    }

    shm_object &object_;
    const intent &record_;
    int words_per_page_;
    std::uint64_t bytes_;
    std::int64_t pages_available_;
    mapping whole_;
    shared::pages pages_;
    std::int32_t descriptor_page_ = 0;
};

void redo_reinitialisation(shm_object &object, const intent &record)
{
    int words_per_page = record.pagesize / 4;
    long long hint = record.reinit_hint;
    if (hint < 0)
        unrecoverable(object, record, fmt::format("it recorded the size hint {}", hint));
    try {
        init_hint(hint, words_per_page, object.name());
    } catch (const error &e) {
        unrecoverable(object, record, e.what());
    }
    write_new_table_image(object, words_per_page, hint, true);
}

integrity_report check_object(const shm_object &object, unsigned pagesize)
{
    std::uint64_t bytes = object.size();
    int words_per_page = static_cast<int>(pagesize / 4);
    // Table objects name descriptor page 1; the check reports a master page
    // that says otherwise.
    const std::int32_t descriptor_page = 1;
    if (bytes / pagesize <= static_cast<std::uint64_t>(descriptor_page))
        return check_image(nullptr, bytes, words_per_page, descriptor_page);
    mapping whole(object.fd(), static_cast<std::size_t>(bytes), false, object.name());
    return check_image(whole.words(), bytes, words_per_page, descriptor_page);
}

} // namespace

void recover_interrupted_write(shm_object &object, lock_area &area, unsigned pagesize)
{
    try {
        const intent record = area.read_intent();
        if (record.op != intent_op::none) {
            if (!valid_pagesize(record.pagesize))
                unrecoverable(object, record, fmt::format("it recorded page size {}", record.pagesize));
            pagesize = static_cast<unsigned>(record.pagesize);
        }
        switch (record.op) {
        case intent_op::none: break;
        case intent_op::add:
        case intent_op::replace:
        case intent_op::remove: interrupted_mutation(object, record).undo(); break;
        case intent_op::resize_rehash: interrupted_mutation(object, record).undo_rehash(); break;
        case intent_op::resize_copy: interrupted_mutation(object, record).finish_resize(); break;
        case intent_op::reinitialise: redo_reinitialisation(object, record); break;
        }
        integrity_report report = check_object(object, pagesize);
        if (!report.problems.empty())
            throw error(errc::corrupt, fmt::format("{}: a writer died during {}, and the table is damaged after "
                                                   "its recovery: {}",
                                                   object.name(), describe(record),
                                                   report.problems.front().message));
    } catch (const error &e) {
        if (e.code() == errc::corrupt)
            area.set_corrupt(true);
        throw;
    }
    area.clear_intent();
}

} // namespace netshm::core
