// Who owns each page of a table during an integrity check: every page belongs
// to exactly one of the master, the descriptor, the hash table, a binding or
// the free list, and a page claimed twice is reported by the caller.
#pragma once

#include "format/descriptor.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace netshm::core {

enum class page_role : std::uint8_t { none, master, descriptor, hash, first_page, follow_up, free };

// Pages are numbered 0..pages-1; callers pass only pages inside.
class page_owners {
public:
    explicit page_owners(std::int64_t pages) : owners_(static_cast<std::size_t>(pages)) {}

    std::int64_t pages() const noexcept { return static_cast<std::int64_t>(owners_.size()); }
    page_role role(std::int32_t page) const noexcept { return owners_[static_cast<std::size_t>(page)].role; }
    // Which chain owns a content page: the hash cell of a first page, the
    // first page of a follow-up page (so that a chain meeting itself is told
    // apart from two chains meeting).
    std::int32_t tag(std::int32_t page) const noexcept { return owners_[static_cast<std::size_t>(page)].tag; }
    void claim(std::int32_t page, page_role role, std::int32_t tag = 0)
    {
        owners_.at(static_cast<std::size_t>(page)) = {role, tag};
    }

    // The pages of the table's structure, which `h` (validated) places: the
    // master, the descriptor and every hash page.
    void claim_structure(const header &h)
    {
        claim(0, page_role::master);
        claim(h.descriptor_page, page_role::descriptor);
        for (int i = 0; i < h.extent_count; ++i) {
            const hash_extent &extent = h.extents[static_cast<std::size_t>(i)];
            for (std::int32_t page = extent.first_page; page < extent.first_page + extent.pages; ++page)
                claim(page, page_role::hash);
        }
    }

    // A page a pointer may name: inside the table, not the master, the
    // descriptor or a hash page.
    bool is_data_page(std::int64_t page) const noexcept
    {
        if (page <= 0 || page >= pages())
            return false;
        page_role r = role(static_cast<std::int32_t>(page));
        return r != page_role::master && r != page_role::descriptor && r != page_role::hash;
    }

    // What a page is, for messages: "outside the table", "a hash page", ...
    std::string describe(std::int64_t page) const
    {
        if (page < 0 || page >= pages())
            return "outside the table's " + std::to_string(pages()) + " pages";
        switch (role(static_cast<std::int32_t>(page))) {
        case page_role::none: return "a page nobody owns";
        case page_role::master: return "the master page";
        case page_role::descriptor: return "the descriptor page";
        case page_role::hash: return "a hash page";
        case page_role::first_page: return "the first page of a binding";
        case page_role::follow_up: return "a follow-up page";
        case page_role::free: return "a free page";
        }
        return "a page";
    }

private:
    struct owner {
        page_role role = page_role::none;
        std::int32_t tag = 0;
    };
    std::vector<owner> owners_;
};

} // namespace netshm::core
