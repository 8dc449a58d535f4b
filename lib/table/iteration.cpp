// Operations that call back: all bindings of a key, the whole table, blocks.
#include "table/answers.hpp"
#include "table/scopes.hpp"
#include "util/write_all.hpp"

#include <array>
#include <optional>

namespace netshm::core {

using namespace layout;

namespace {

// Bound cells whose first pages iter prefetches together.
constexpr std::size_t iter_batch = 32;

[[noreturn]] void bad_answer(const char *operation, int answer)
{
    throw_invalid(fmt::format("{}: the callback answered {}, which is not allowed here", operation, answer));
}

// Callbacks get a non-NULL pointer for an empty value too.
const std::int32_t *value_pointer(const std::vector<std::int32_t> &value)
{
    static const std::int32_t empty = 0;
    return value.empty() ? &empty : value.data();
}

// Moves along a key's chain of bindings, newest first, read-locking each
// binding before releasing the previous one (or the descriptor page).
class binding_walk {
public:
    binding_walk(std::int64_t total_pages, std::int32_t first) : limit_(total_pages), next_(first) {}
    std::int32_t next() const { return next_; }
    // Counts a step; a chain longer than the table has pages is a cycle.
    void step(const std::string &name, std::int32_t older)
    {
        if (++visited_ > limit_)
            throw error(errc::corrupt, fmt::format("{}: the chain of bindings through page {} has a cycle",
                                                   name, next_));
        next_ = older;
    }

private:
    std::int64_t limit_;
    std::int64_t visited_ = 0;
    std::int32_t next_;
};

} // namespace

int table::walk_bindings(std::int32_t key, function_ref<int(const binding &)> visit)
{
    operation op(*this);
    std::optional<page_lock_guard> held(std::in_place, locks_, descriptor_page_, lock_kind::read);
    header h = refresh();
    binding_walk walk(h.total_pages, bound_page(h, probe(h, key, false)));
    while (walk.next() != 0) {
        page_lock_guard binding_lock(locks_, walk.next(), lock_kind::read);
        held.emplace(std::move(binding_lock));
        binding b = read_binding(h, walk.next(), key);
        int answer;
        {
            callback_scope in_callback(*this);
            answer = visit(b);
        }
        if (answer < 0)
            return answer;
        if (answer == answer_break)
            return 0;
        walk.step(object_->name(), b.older);
    }
    return 0;
}

// The bindings of `key` as private copies, for a table without the mutex.
int table::visit_copied_bindings(std::int32_t key, function_ref<int(const std::vector<std::int32_t> &)> fn)
{
    operation op(*this);
    private_copy copy;
    copy_bindings(key, true, copy);
    return visit_copy(copy, [&](std::int32_t, const std::vector<std::int32_t> &value) { return fn(value); });
}

int table::find_all(std::int32_t key, function_ref<int(const std::int32_t *, std::size_t)> fn)
{
    if (reads_without_mutex())
        return visit_copied_bindings(key, [&](const std::vector<std::int32_t> &value) {
            int answer = fn(value_pointer(value), value.size());
            if (answer > 0)
                bad_answer("find_all", answer);
            return answer;
        });
    std::vector<std::int32_t> value;
    return walk_bindings(key, [&](const binding &b) {
        value.resize(static_cast<std::size_t>(b.length));
        copy_value(b, value.data());
        int answer = fn(value_pointer(value), value.size());
        if (answer > 0)
            bad_answer("find_all", answer);
        return answer;
    });
}

table::value_view table::spill_value(const header &h, std::int32_t page, std::int32_t key,
                                     std::vector<std::int32_t> &spill) const
{
    binding b = read_binding(h, page, key);
    spill.resize(static_cast<std::size_t>(b.length));
    copy_value(b, spill.data());
    return {value_pointer(spill), spill.size(), b.older};
}

int table::iter(function_ref<int(std::int32_t, const std::int32_t *, std::size_t)> fn)
{
    operation op(*this);
    if (reads_without_mutex()) {
        private_copy copy;
        copy_bindings(std::nullopt, true, copy);
        return visit_copy(copy, [&](std::int32_t key, const std::vector<std::int32_t> &value) {
            int answer = fn(key, value_pointer(value), value.size());
            if (answer > 0)
                bad_answer("iter", answer);
            return answer;
        });
    }
    // The descriptor page stays read-locked throughout, which excludes every
    // writer: the binding page locks OCamlnet adds would exclude nothing more.
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    header h = refresh();
    // One callback scope for the whole walk, which itself modifies nothing:
    // a value handed in place stays mapped until the walk ends.
    callback_scope in_callbacks(*this);
    std::vector<std::int32_t> spill;
    std::int64_t bindings_seen = 0;
    // The cells are read in order (the processor streams them); the pages
    // they name lie anywhere.  The bound cells are gathered a batch at a
    // time, each first page prefetched as its cell is read, so that the
    // batch's misses overlap; each pointer is validated when its binding is
    // visited, in cell order as before.
    struct bound_cell {
        std::int32_t page;  // the hash page holding the cell
        std::int32_t ptr;
        std::int32_t key;
    };
    std::array<bound_cell, iter_batch> batch;
    std::size_t gathered = 0;
    int result = 0;
    auto visit_batch = [&] {
        for (std::size_t i = 0; i < gathered; ++i) {
            const std::int32_t key = batch[i].key;
            check_content_page(h, batch[i].ptr, "hash cell pointer", batch[i].page);
            for (std::int32_t page = batch[i].ptr; page != 0;) {
                if (++bindings_seen > h.total_pages)
                    throw error(errc::corrupt, fmt::format("{}: more bindings than pages: a chain of bindings "
                                                           "of key {} has a cycle",
                                                           object_->name(), key));
                const value_view value = view_value(h, page, key, spill);
                const int answer = fn(key, value.words, value.length);
                if (answer < 0) {
                    result = answer;
                    return false;
                }
                if (answer != answer_continue)
                    bad_answer("iter", answer);
                page = value.older;
            }
        }
        gathered = 0;
        return true;
    };
    for_each_hash_page(h, [&](std::int32_t hash_page) {
        const std::int32_t *cells = page_words(hash_page) + hash_page_header;
        const std::int32_t *const end = cells + cell_words * h.cells_per_page;
        for (; cells != end; cells += cell_words) {
            const std::int32_t ptr = shared::load(cells + cell_ptr);
            if (ptr == ptr_unbound || ptr == ptr_never_used)
                continue;
            // Only a page inside the table; a bad one is named by its visit.
            if (ptr > 0 && ptr < h.total_pages)
                __builtin_prefetch(page_words(ptr));
            batch[gathered++] = {hash_page, ptr, shared::load(cells + cell_key)};
            if (gathered == iter_batch && !visit_batch())
                return false;
        }
        return true;
    });
    if (result == 0)
        visit_batch();
    return result;
}

int table::iter_keys(function_ref<int(std::int32_t)> fn)
{
    operation op(*this);
    if (reads_without_mutex()) {
        private_copy copy;
        copy_bindings(std::nullopt, false, copy);
        return visit_copy(copy, [&](std::int32_t key, const std::vector<std::int32_t> &) {
            int answer = fn(key);
            if (answer > 0)
                bad_answer("iter_keys", answer);
            return answer;
        });
    }
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    header h = refresh();
    int result = 0;
    for_each_cell(h, [&](std::int32_t cell_page, int cell_word) {
        cell_ref cell{cell_page, cell_word, true, load(cell_page, cell_word + cell_ptr), -1};
        if (bound_page(h, cell) == 0)
            return true;
        int answer;
        {
            callback_scope in_callback(*this);
            answer = fn(load(cell.page, cell.word + cell_key));
        }
        if (answer < 0) {
            result = answer;
            return false;
        }
        if (answer != answer_continue)
            bad_answer("iter_keys", answer);
        return true;
    });
    return result;
}

int table::find_blocks(std::int32_t key, function_ref<int(const std::int32_t *, std::size_t)> fn)
{
    // A value copied privately is handed over as one block.
    if (reads_without_mutex())
        return visit_copied_bindings(key, [&](const std::vector<std::int32_t> &value) {
            int answer = fn(value_pointer(value), value.size());
            if (answer == answer_continue)
                answer = fn(nullptr, 0);
            if (answer > answer_break)
                bad_answer("find_blocks", answer);
            return answer;
        });
    return walk_bindings(key, [&](const binding &b) {
        int answer = visit_fragments(b, fn);
        if (answer == answer_continue)
            answer = fn(nullptr, 0);
        if (answer > answer_break)
            bad_answer("find_blocks", answer);
        return answer;
    });
}

int table::write_blocks(bool announce_remove, std::int32_t key, function_ref<int(std::int32_t *, std::size_t)> fn)
{
    operation op(*this);
    check_writable("write_blocks");
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::write);
    header h = refresh_for_write();
    cell_ref cell = probe(h, key, false);
    binding_walk walk(h.total_pages, bound_page(h, cell));
    // Where the pointer to the current binding lives: the hash cell, or the
    // older-binding word of the previous binding that was kept.
    std::int32_t referrer_page = 0;
    std::optional<page_lock_guard> referrer_lock;
    std::optional<page_lock_guard> current_lock;
    while (walk.next() != 0) {
        std::int32_t page = walk.next();
        page_lock_guard binding_lock(locks_, page, lock_kind::write);
        current_lock.emplace(std::move(binding_lock));
        binding b = read_binding(h, page, key);

        bool remove_it = false;
        auto decide = [&](int answer) -> int {
            if (answer == answer_remove) {
                if (!announce_remove)
                    throw_invalid(fmt::format("write_blocks on {}: the callback answered REMOVE_BINDING, "
                                              "which was not announced",
                                              object_->name()));
                remove_it = true;
                return answer_continue;
            }
            if (answer < 0 || answer == answer_continue || answer == answer_next || answer == answer_break)
                return answer;
            bad_answer("write_blocks", answer);
        };
        int answer;
        {
            callback_scope in_callback(*this);
            answer = visit_fragments(b, [&](std::int32_t *fragment, std::size_t count) {
                return decide(fn(fragment, count));
            });
            if (answer == answer_continue)
                answer = decide(fn(nullptr, 0));
        }
        if (answer < 0)
            return answer;

        if (remove_it) {
            if (h.bindings == 0)
                throw error(errc::corrupt, fmt::format("{}: descriptor page {}: binding count 0 with key {} "
                                                       "bound",
                                                       object_->name(), descriptor_page_, key));
            mutate(
                [&] {
                    if (referrer_page == 0)
                        return intent_of(intent_op::remove, key, h, &cell, nullptr, &b);
                    // Not a cell but a word of a page: the index is the page, negated.
                    intent record = intent_of(intent_op::remove, key, h, nullptr, nullptr, &b);
                    record.cell_index = -referrer_page;
                    record.cell_old_key = c_older_binding;
                    record.cell_old_ptr = page;
                    return record;
                },
                [&] {
                    if (referrer_page == 0)
                        store(cell.page, cell.word + cell_ptr, b.older != 0 ? b.older : ptr_unbound);
                    else
                        store(referrer_page, c_older_binding, b.older);
                    store(descriptor_page_, d_bindings, static_cast<std::int32_t>(--h.bindings));
                    free_binding_pages(h, b.pages);
                });
        } else {
            referrer_page = page;
            if (announce_remove) {
                // emplace releases the previous referrer's lock first.
                referrer_lock.emplace(std::move(*current_lock));
                current_lock.reset();
            }
        }
        if (answer == answer_break)
            return 0;
        walk.step(object_->name(), b.older);
    }
    return 0;
}

void table::dump(int fd)
{
    static constexpr std::string_view dump_write = "dump: write to file descriptor";
    operation op(*this);
    // One snapshot gives the length and the bindings: the descriptor's lock,
    // or a private copy without the mutex.
    std::optional<page_lock_guard> descriptor_lock;
    private_copy copy;
    if (reads_without_mutex())
        copy_bindings(std::nullopt, true, copy);
    else {
        descriptor_lock.emplace(locks_, descriptor_page_, lock_kind::read);
        copy.length = refresh().bindings;
    }
    std::string text = fmt::format("<shm length={}\n", copy.length);
    auto print = [&](std::int32_t key, const std::int32_t *value, std::size_t length) {
        fmt::format_to(std::back_inserter(text), "  {} => [| ", key);
        for (std::size_t i = 0; i < length; ++i) {
            if (i > 0)
                text += "; ";
            fmt::format_to(std::back_inserter(text), "{}", value[i]);
        }
        text += " |]\n";
        if (text.size() >= 1 << 16) {
            write_all(fd, text, dump_write);
            text.clear();
        }
        return 0;
    };
    if (descriptor_lock)
        iter(print);
    else
        visit_copy(copy, [&](std::int32_t key, const std::vector<std::int32_t> &value) {
            return print(key, value_pointer(value), value.size());
        });
    text += ">\n";
    write_all(fd, text, dump_write);
}

} // namespace netshm::core
