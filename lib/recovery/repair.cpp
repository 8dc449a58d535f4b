// The repair of a table (repair.hpp): which bindings are kept, and the order
// of its stores.
//
// What is kept.  Every page past the master, descriptor and hash pages with
// the first-content-page magic, value offset 0, a length >= 0 and exactly the
// follow-up pages that length needs (follow-up magic, the same key, sequence
// numbers 1, 2, ..., the last one's next page 0) is an intact binding.  The
// chains are walked from every cell's pointer (primary words, then spare
// words: see the order below) through the older-binding links:
//  - an intact binding of the cell's key whose pages no kept binding owns is
//    kept, in chain order;
//  - a first content page of the key that is not intact (or shares a page
//    with a kept binding) is dropped, and the walk goes on through its
//    older-binding word, which usually survives the damage;
//  - a link to a page that holds no first content page (a follow-up, free
//    or garbage page, a page outside the data pages) drops the binding it
//    named, and ends the chain: the bindings behind it can no longer be told
//    from pages a killed writer took;
//  - a link to another key's first content page ends the chain and drops
//    nothing: that binding belongs to its own key's chain (a resize's copy
//    pass killed between a cell's key and pointer leaves such a link).
// A key found in several cells keeps the chain of the first cell, then the
// others' behind it.  Intact bindings no chain leads to are orphans: an add
// or replace killed before its cell pointer was published (never visible), or
// a remove killed before it freed the pages (already gone): their pages are
// reclaimed, like pages nobody owns.
//
// The order of the stores, so that a repair killed at any store leaves a
// table that the next repair repairs to the same bindings:
//  1. the older-binding links of kept bindings that skipped a dropped one;
//     the old index now leads to the same kept bindings;
//  2. the new index into the spare words of every cell: the primary words
//     still hold the old index, and the walk reads both;
//  3. the spare words copied over the primary words (format/cells.hpp's
//     resize pass): whatever mix of old and new the primaries hold, the
//     spares hold the new index;
//  4. the free list, page by page, then the descriptor's counters: only
//     pages no kept binding owns are written;
//  5. the spare words zeroed, the master page's words and the bytes after
//     the table's pages restored, and last a dead writer's intent record
//     and the corrupt mark of page 0 cleared (what they describe is
//     repaired; the mutex's own words are left alone).
// A hash resize killed in its rehash or copy pass leaves the same two views
// (primaries and spares), which the walk joins as well.
#include "recovery/repair.hpp"

#include "format/cells.hpp"
#include "format/descriptor.hpp"
#include "format/layout.hpp"
#include "format/lock_area_layout.hpp"
#include "image/integrity.hpp"
#include "image/page_owners.hpp"
#include "image/probe_reach.hpp"
#include "util/error.hpp"
#include "util/shared_words.hpp"

#include <fmt/format.h>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace netshm::core {

using namespace layout;

namespace {

struct intact_binding {
    std::int32_t key;
    std::int32_t older;
    std::vector<std::int32_t> pages;  // the first page, then the follow-up pages
};

// The kept bindings of one key, newest first.
struct kept_key {
    std::int32_t key;
    std::vector<std::int32_t> first_pages;
};

class table_repair {
public:
    table_repair(std::int32_t *words, std::uint64_t bytes, int words_per_page, std::int32_t descriptor_page,
                 const std::string &name)
        : pages_{words, words_per_page},
          bytes_(bytes),
          words_per_page_(words_per_page),
          descriptor_page_(descriptor_page),
          name_(name)
    {
    }

    repair_report run()
    {
        read_header();
        mark_old_free_list();
        find_intact_bindings();
        walk_every_chain();
        relink_kept_bindings();
        write_index();
        write_free_list_and_counters();
        finish();
        return report_;
    }

private:
    [[noreturn]] void cannot_repair(const std::string &why) const
    {
        throw error(errc::corrupt, fmt::format("{}: cannot repair: {}", name_, why));
    }

    // The structure only: the counters are rebuilt, whatever they say.
    void read_header()
    {
        const auto available = static_cast<std::int64_t>(bytes_ / (static_cast<std::uint64_t>(words_per_page_) * 4));
        if (available <= descriptor_page_)
            cannot_repair(fmt::format("the object's {} bytes do not hold the descriptor page", bytes_));
        descriptor_words words;
        load_descriptor(pages_.at(descriptor_page_, 0), words);
        std::string first_fault;
        auto fault = [&first_fault](problem_kind, std::string message) {
            if (first_fault.empty())
                first_fault = std::move(message);
        };
        if (!read_structure(words, descriptor_page_, available, cells_per_page(words_per_page_), h_, fault))
            cannot_repair(first_fault);
        owners_.emplace(h_.total_pages);
        owners_->claim_structure(h_);
    }

    // The old free list as far as it is sound, so that pages_reclaimed counts
    // only pages that were not free already.
    void mark_old_free_list()
    {
        was_free_.assign(static_cast<std::size_t>(h_.total_pages), false);
        std::int32_t page = pages_.load(descriptor_page_, d_free_head);
        while (page != 0 && h_.is_data_page(page) && !was_free_[static_cast<std::size_t>(page)] &&
               pages_.load(page, free_magic_word) == free_magic) {
            was_free_[static_cast<std::size_t>(page)] = true;
            page = pages_.load(page, free_next);
        }
    }

    void find_intact_bindings()
    {
        binding_at_.assign(static_cast<std::size_t>(h_.total_pages), -1);
        for (std::int32_t page = 1; page < h_.total_pages; ++page) {
            if (!h_.is_data_page(page) || pages_.load(page, c_magic) != content_magic)
                continue;
            if (std::optional<intact_binding> found = read_intact(page)) {
                binding_at_[static_cast<std::size_t>(page)] = static_cast<std::int32_t>(intact_.size());
                intact_.push_back(std::move(*found));
            }
        }
    }

    std::optional<intact_binding> read_intact(std::int32_t first) const
    {
        intact_binding b{pages_.load(first, c_key), pages_.load(first, c_older_binding), {first}};
        const std::int32_t length = pages_.load(first, c_value_length);
        if (pages_.load(first, c_value_offset) != 0 || length < 0)
            return std::nullopt;
        const std::int64_t needed = pages_for_value(length, words_per_page_);
        if (needed > h_.total_pages)
            return std::nullopt;
        std::int32_t page = pages_.load(first, c_next_page);
        for (std::int64_t sequence = 1; sequence < needed; ++sequence) {
            // Distinct sequence numbers make the pages distinct.
            if (!h_.is_data_page(page) || pages_.load(page, f_magic) != followup_magic ||
                pages_.load(page, f_key) != b.key || pages_.load(page, f_sequence) != sequence)
                return std::nullopt;
            b.pages.push_back(page);
            page = pages_.load(page, f_next_page);
        }
        if (page != 0)
            return std::nullopt;
        return b;
    }

    void walk_every_chain()
    {
        for_each_cell(h_, [&](std::int32_t page, int word) {
            walk_chain(pages_.load(page, word + cell_key), pages_.load(page, word + cell_ptr));
            walk_chain(pages_.load(page, word + cell_spare_key), pages_.load(page, word + cell_spare_ptr));
        });
    }

    void walk_chain(std::int32_t key, std::int32_t page)
    {
        if (page == ptr_never_used || page == ptr_unbound)
            return;
        // Each step keeps a binding (claiming its pages) or drops a page
        // never dropped before: the walk ends within the table's pages.
        while (page != 0) {
            if (!h_.is_data_page(page)) {
                ++report_.bindings_dropped;  // the link named no binding
                return;
            }
            if (owners_->role(page) != page_role::none || dropped_.contains(page))
                return;  // reached before, from another head or a cycle
            const std::int32_t found = binding_at_[static_cast<std::size_t>(page)];
            if (found >= 0) {
                const intact_binding &b = intact_[static_cast<std::size_t>(found)];
                // A link to another key's binding is the link's fault (or a
                // resize's copy pass caught between a cell's two words): that
                // binding is kept by its own key's chain, or reclaimed.
                if (b.key != key)
                    return;
                if (!owns_any(b)) {
                    keep(key, b);
                    page = b.older;
                    continue;
                }
            }
            const bool of_this_key = pages_.load(page, c_magic) == content_magic && pages_.load(page, c_key) == key;
            if (!of_this_key && pages_.load(page, c_magic) == content_magic)
                return;  // another key's damaged binding: the same
            dropped_.insert(page);
            ++report_.bindings_dropped;
            if (!of_this_key)
                return;
            page = pages_.load(page, c_older_binding);
        }
    }

    bool owns_any(const intact_binding &b) const
    {
        for (std::int32_t page : b.pages)
            if (owners_->role(page) != page_role::none)
                return true;
        return false;
    }

    void keep(std::int32_t key, const intact_binding &b)
    {
        owners_->claim(b.pages.front(), page_role::first_page);
        for (std::size_t i = 1; i < b.pages.size(); ++i)
            owners_->claim(b.pages[i], page_role::follow_up);
        auto [at, added] = key_index_.try_emplace(key, kept_.size());
        if (added)
            kept_.push_back({key, {}});
        kept_[at->second].first_pages.push_back(b.pages.front());
        ++report_.bindings_kept;
    }

    // Step 1.
    void relink_kept_bindings()
    {
        for (const kept_key &k : kept_) {
            for (std::size_t i = 0; i < k.first_pages.size(); ++i) {
                const std::int32_t older = i + 1 < k.first_pages.size() ? k.first_pages[i + 1] : 0;
                if (pages_.load(k.first_pages[i], c_older_binding) != older)
                    pages_.store(k.first_pages[i], c_older_binding, older);
            }
        }
    }

    // Steps 2 and 3: every kept key probed into a fresh index.
    void write_index()
    {
        std::vector<hash_cell> fresh(static_cast<std::size_t>(h_.hash_size), hash_cell{0, ptr_never_used});
        for (const kept_key &k : kept_) {
            std::int64_t attempt = 0;
            std::int64_t cell = probe_index(h_, k.key, attempt);
            while (fresh[static_cast<std::size_t>(cell)].ptr != ptr_never_used) {
                if (++attempt > h_.hash_size + 10)
                    cannot_repair(fmt::format("{} keys do not fit in the hash table's {} cells", kept_.size(),
                                              h_.hash_size));
                cell = probe_index(h_, k.key, attempt);
            }
            fresh[static_cast<std::size_t>(cell)] = {k.key, k.first_pages.front()};
        }
        std::size_t index = 0;
        for_each_cell(h_, [&](std::int32_t page, int word) {
            const hash_cell &c = fresh[index++];
            store_if_changed(page, word + cell_spare_key, c.key);
            store_if_changed(page, word + cell_spare_ptr, c.ptr);
        });
        copy_spares(pages_, h_);
    }

    // Step 4: every page nobody owns is free, in increasing order.
    void write_free_list_and_counters()
    {
        std::vector<std::int32_t> free_pages;
        for (std::int32_t page = 1; page < h_.total_pages; ++page)
            if (owners_->role(page) == page_role::none)
                free_pages.push_back(page);
        for (std::size_t i = 0; i < free_pages.size(); ++i) {
            const std::int32_t page = free_pages[i];
            store_if_changed(page, free_next, i + 1 < free_pages.size() ? free_pages[i + 1] : 0);
            store_if_changed(page, free_magic_word, free_magic);
            if (!was_free_[static_cast<std::size_t>(page)])
                ++report_.pages_reclaimed;
        }
        store_if_changed(descriptor_page_, d_claimed_cells, static_cast<std::int32_t>(kept_.size()));
        store_if_changed(descriptor_page_, d_bindings, static_cast<std::int32_t>(report_.bindings_kept));
        store_if_changed(descriptor_page_, d_free_head, free_pages.empty() ? 0 : free_pages.front());
        store_if_changed(descriptor_page_, d_free_count, static_cast<std::int32_t>(free_pages.size()));
    }

    // Step 5.
    void finish()
    {
        clear_spares(pages_, h_);
        for (int i = 0; i < 4; ++i)
            store_if_changed(0, i, file_magic[i]);
        store_if_changed(0, master_descriptor_page, descriptor_page_);
        const std::uint64_t end = bytes_ / sizeof(std::int32_t);
        for (std::uint64_t w = static_cast<std::uint64_t>(h_.total_pages) * static_cast<std::uint64_t>(words_per_page_);
             w < end; ++w)
            if (shared::load(pages_.base + w) != 0)  // a hole read stays a hole
                shared::store(pages_.base + w, 0);
        store_if_changed(0, la_state, lock_area_consistent);
        store_if_changed(0, la_intent_op, static_cast<std::int32_t>(intent_op::none));
    }

    void store_if_changed(std::int32_t page, int word, std::int32_t value)
    {
        if (pages_.load(page, word) != value)
            pages_.store(page, word, value);
    }

    shared::pages pages_;
    std::uint64_t bytes_;
    int words_per_page_;
    std::int32_t descriptor_page_;
    const std::string &name_;
    header h_{};
    std::optional<page_owners> owners_;
    std::vector<bool> was_free_;
    std::vector<intact_binding> intact_;
    std::vector<std::int32_t> binding_at_;  // index into intact_ of the binding starting at a page, or -1
    std::unordered_set<std::int32_t> dropped_;
    std::vector<kept_key> kept_;
    std::unordered_map<std::int32_t, std::size_t> key_index_;
    repair_report report_;
};

} // namespace

repair_report repair_image(std::int32_t *words, std::uint64_t bytes, int words_per_page,
                           std::int32_t descriptor_page, const std::string &name)
{
    if (integrity_report sound = check_image(words, bytes, words_per_page, descriptor_page); sound.problems.empty())
        return {sound.stats.bindings, 0, 0};
    repair_report report = table_repair(words, bytes, words_per_page, descriptor_page, name).run();
    if (integrity_report after = check_image(words, bytes, words_per_page, descriptor_page); !after.problems.empty())
        throw error(errc::corrupt, fmt::format("{}: the repair left a problem: {}", name, after.problems.front().message));
    return report;
}

} // namespace netshm::core
