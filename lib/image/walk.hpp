// The walk behind check_image (internal to lib/image): one pass over an image
// of the whole object that checks the master and descriptor pages, walks the
// free list, every hash cell and the bindings behind it, claims each page for
// its one owner, then compares what it found with the descriptor's counters.
#pragma once

#include "format/descriptor.hpp"
#include "format/layout.hpp"
#include "image/integrity.hpp"
#include "image/page_owners.hpp"
#include "image/probe_reach.hpp"
#include "util/shared_words.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netshm::core {

class image_walk {
public:
    // What a pointer should lead to.
    struct page_kind {
        page_role role;
        std::int32_t magic;
        problem_kind damaged;  // what a page of this kind with a bad word is reported as
        const char *name;
    };

    image_walk(const std::int32_t *words, std::uint64_t bytes, int words_per_page, std::int32_t descriptor_page,
               interrupted_writes interrupted);
    integrity_report run();

private:
    // walk_descriptor.cpp: what makes the rest walkable.  false: stop here.
    bool check_size();
    void check_master();
    // Page 0's intent record and state (format/lock_area_layout.hpp).
    void check_interrupted_write();
    bool read_descriptor();

    // walk_chains.cpp: every page reached from the descriptor and the cells.
    // A pointer being followed, and the page holding it.
    struct link {
        enum pointer { free_head, free_next, cell, older, next } which;
        std::int32_t referrer;
        std::int32_t cell_index = 0;  // for a cell's pointer
        std::int32_t key = 0;         // for a cell's or an older-binding pointer
    };
    // How a bad pointer is reported, and "page 3: the next free page is page 9".
    static problem_kind link_kind(const link &from);
    static std::string link_text(const link &from, std::int32_t page);
    // Claims `page` for a chain (`tag`, see page_owners) as a page of `kind`;
    // false, with the problem reported, when the walk cannot go on there.
    bool enter(const link &from, std::int32_t page, const page_kind &kind, std::int32_t tag);
    void walk_free_list();
    void walk_hash_table();
    void walk_bindings(std::int32_t cell, std::int32_t hash_page, std::int32_t key, std::int32_t first);
    void walk_value(std::int32_t first, std::int32_t key);

    // walk_totals.cpp: what only the whole walk can tell.
    void check_probing();
    void report_lost_pages();
    void check_counters();
    void check_tail();

    std::int32_t load(std::int32_t page, int word) const
    {
        return shared::load(words_ + static_cast<std::int64_t>(page) * words_per_page_ + word);
    }
    void report(problem_kind kind, std::int64_t page, std::string message)
    {
        problems_.push_back({kind, static_cast<std::int32_t>(page), std::move(message)});
    }

    interrupted_writes interrupted_;
    const std::int32_t *words_;
    std::uint64_t bytes_;
    int words_per_page_;
    int cells_per_page_;
    std::int32_t descriptor_page_;
    std::vector<problem> problems_;
    table_stats stats_{};

    // The descriptor, read once; a counter that breaks its rule is reported
    // and then left out of the comparisons.
    header header_{};
    std::optional<std::int64_t> claimed_cells_;
    std::optional<std::int64_t> bindings_;
    std::optional<std::int64_t> free_count_;
    std::int32_t free_head_ = 0;

    std::optional<page_owners> owners_;
    std::vector<hash_cell> cells_;
    std::vector<std::int64_t> bound_cells_;  // cells whose pointer names a binding
    std::int64_t cells_in_use_ = 0;  // ptr != 0
    std::int64_t bindings_found_ = 0;
    std::int64_t free_pages_found_ = 0;
};

} // namespace netshm::core
