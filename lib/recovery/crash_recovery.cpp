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

    // Empty when every word the mutation changes is in its state before the
    // mutation or after it (or, for the free list of a replace, in between):
    // the table is as the dead writer left it.  Otherwise what shows that a
    // writer that knows nothing of the record (OCamlnet with record locking)
    // changed the table since, and undoing the record would overwrite newer
    // data (doc/locking.md, "Recovery when a writer dies").
    std::string overtaken() const
    {
        // A record that makes no sense is damage, reported by the undo.
        const header before = snapshot_header();
        const descriptor_snapshot &s = record_.snapshot;
        const std::int32_t d = descriptor_page_;
        auto word_of = [&](int i) { return pages_.load(d, i); };
        auto differs = [&](const char *what, std::int32_t now, std::initializer_list<std::int64_t> allowed) {
            for (std::int64_t value : allowed)
                if (now == value)
                    return std::string();
            return fmt::format("the descriptor's {} is {}, neither the {} it recorded nor what the write makes of it",
                               what, now, *allowed.begin());
        };
        const intent_op op = record_.op;
        const bool resize = op == intent_op::resize_rehash || op == intent_op::resize_copy;
        std::string why;
        auto first_of = [&why](std::string problem) {
            if (why.empty())
                why = std::move(problem);
        };
        const std::int32_t total = word_of(d_total_pages);
        const std::int32_t hash_size = word_of(d_hash_size);
        if (resize) {
            // The resize only appends an extent: every counter is as recorded.
            if (total < s.total_pages || hash_size < s.hash_size)
                first_of(fmt::format("the table shrank from {} pages and {} cells to {} and {}", s.total_pages,
                                     s.hash_size, total, hash_size));
            first_of(differs("claimed cell count", word_of(d_claimed_cells), {s.claimed_cells}));
            first_of(differs("binding count", word_of(d_bindings), {s.bindings}));
            first_of(differs("free list head", word_of(d_free_head), {s.free_head}));
            first_of(differs("free page count", word_of(d_free_count), {s.free_count}));
            return why;
        }
        const std::int32_t n = record_.allocated_count;
        const std::int32_t m = record_.freed_count;
        const bool grows = n > 0 && record_.allocated_first >= s.total_pages;
        first_of(differs("hash size", hash_size, {s.hash_size}));
        if (grows) {
            if (total < s.total_pages || total > s.total_pages + geometric_growth(s.total_pages, n))
                first_of(fmt::format("the table has {} pages where the write that grew it found {}", total,
                                     s.total_pages));
        } else {
            first_of(differs("page count", total, {s.total_pages}));
        }
        // Pages a growth appended join the free list before the allocation;
        // the allocation takes the highest first, so its first page tells
        // how many (the page count may be restored already by a recoverer
        // that died).
        const std::int64_t g = grows ? std::int64_t{record_.allocated_first} - s.total_pages + 1 : 0;
        const std::int64_t c = s.claimed_cells, b = s.bindings, f = s.free_count;
        const std::int32_t freed_head = last_freed_page();
        switch (op) {
        case intent_op::add:
            first_of(differs("claimed cell count", word_of(d_claimed_cells), {c, c + 1}));
            first_of(differs("binding count", word_of(d_bindings), {b, b + 1}));
            first_of(differs("free page count", word_of(d_free_count), {f, f + g - n}));
            first_of(differs("free list head", word_of(d_free_head), {s.free_head, record_.free_head_after}));
            break;
        case intent_op::replace:
            first_of(differs("claimed cell count", word_of(d_claimed_cells), {c}));
            first_of(differs("binding count", word_of(d_bindings), {b}));
            first_of(differs("free page count", word_of(d_free_count), {f, f + g - n, f + g - n + m}));
            first_of(differs("free list head", word_of(d_free_head),
                             {s.free_head, record_.free_head_after, freed_head}));
            break;
        default:
            first_of(differs("claimed cell count", word_of(d_claimed_cells), {c}));
            first_of(differs("binding count", word_of(d_bindings), {b, b - 1}));
            first_of(differs("free page count", word_of(d_free_count), {f, f + m}));
            first_of(differs("free list head", word_of(d_free_head), {s.free_head, freed_head}));
            break;
        }
        first_of(changed_word_overtaken(before));
        first_of(allocation_overtaken());
        return why;
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
    // The page the free list's head is after the freed chain was pushed on
    // it (its last page), or 0 if the chain cannot be followed.
    std::int32_t last_freed_page() const
    {
        std::int64_t page = record_.freed_first;
        for (std::int32_t i = 1; i < record_.freed_count && in_object(page); ++i)
            page = pages_.load(page, c_next_page);
        return record_.freed_count > 0 && in_object(page) ? static_cast<std::int32_t>(page) : 0;
    }

    bool in_object(std::int64_t page) const noexcept { return page > descriptor_page_ && page < pages_available_; }

    // The hash cell (or older-binding word) the write changes: its old words,
    // or the new ones.
    std::string changed_word_overtaken(const header &before) const
    {
        const intent_op op = record_.op;
        std::int64_t freed_older = in_object(record_.freed_first) ? pages_.load(record_.freed_first, c_older_binding)
                                                                  : ptr_unbound;
        std::int64_t index = record_.cell_index;
        if (index < 0) {
            // write_blocks unlinking a binding: the newer binding's older-binding word.
            if (!before.is_data_page(-index))
                return {};
            std::int32_t now = pages_.load(-index, c_older_binding);
            if (now == record_.cell_old_ptr || now == freed_older)
                return {};
            return fmt::format("page {}: the older binding is {}, neither the {} it recorded nor {}", -index, now,
                               record_.cell_old_ptr, freed_older);
        }
        if (index >= before.hash_size)
            return {};  // the undo reports what makes no sense
        cell_place cell = locate_cell(before, index);
        std::int32_t key = pages_.load(cell.page, cell.word + cell_key);
        std::int32_t ptr = pages_.load(cell.page, cell.word + cell_ptr);
        std::int64_t new_key = op == intent_op::add ? record_.key : record_.cell_old_key;
        std::int64_t new_ptr = op == intent_op::remove ? (freed_older != 0 ? freed_older : ptr_unbound)
                                                       : record_.allocated_first;
        bool unchanged = key == record_.cell_old_key && ptr == record_.cell_old_ptr;
        bool after = (key == new_key || key == record_.cell_old_key) && (ptr == new_ptr || ptr == record_.cell_old_ptr);
        if (unchanged || after)
            return {};
        return fmt::format("hash cell {} holds key {} and pointer {}, neither as recorded (key {}, pointer {}) nor "
                           "as the write leaves it",
                           index, key, ptr, record_.cell_old_key, record_.cell_old_ptr);
    }

    // The first page the write takes from the free list: still free, or
    // written by this write (its key, or before the key its free link, which
    // is the next page written before the magic).
    std::string allocation_overtaken() const
    {
        std::int32_t page = record_.allocated_first;
        if (record_.allocated_count <= 0 || page >= record_.snapshot.total_pages || !in_object(page))
            return {};
        std::int32_t magic = pages_.load(page, c_magic);
        if (magic == free_magic)
            return {};
        std::int32_t key = pages_.load(page, c_key);
        std::int32_t link = record_.allocated_count > 1 ? pages_.load(page, c_next_page) : record_.free_head_after;
        if (magic == content_magic && (key == record_.key || key == link))
            return {};
        return fmt::format("page {} it took from the free list holds magic {:#010x} and key {}", page,
                           static_cast<std::uint32_t>(magic), key);
    }

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
        return check_image(nullptr, bytes, words_per_page, descriptor_page, interrupted_writes::ignore);
    mapping whole(object.fd(), static_cast<std::size_t>(bytes), false, object.name());
    return check_image(whole.words(), bytes, words_per_page, descriptor_page, interrupted_writes::ignore);
}

void apply(shm_object &object, const intent &record)
{
    switch (record.op) {
    case intent_op::none: break;
    case intent_op::add:
    case intent_op::replace:
    case intent_op::remove: interrupted_mutation(object, record).undo(); break;
    case intent_op::resize_rehash: interrupted_mutation(object, record).undo_rehash(); break;
    case intent_op::resize_copy: interrupted_mutation(object, record).finish_resize(); break;
    case intent_op::reinitialise: redo_reinitialisation(object, record); break;
    }
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
        std::string overtaken;
        if (record.op != intent_op::none && record.op != intent_op::reinitialise)
            overtaken = interrupted_mutation(object, record).overtaken();
        if (overtaken.empty())
            apply(object, record);
        else
            // Left alone; what the dead writer left half done, the check finds.
            area.clear_intent();
        integrity_report report = check_object(object, pagesize);
        if (!report.problems.empty())
            throw error(errc::corrupt,
                        fmt::format("{}: a writer died during {}, and the table is damaged after {}: {}",
                                    object.name(), describe(record),
                                    overtaken.empty() ? "its recovery"
                                                      : "later writes that did not know of it (" + overtaken + ")",
                                    report.problems.front().message));
    } catch (const error &e) {
        if (e.code() == errc::corrupt)
            area.set_corrupt(true);
        throw;
    }
    area.clear_intent();
}

} // namespace netshm::core
