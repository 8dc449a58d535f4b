#include "check_problems.hpp"

#include <cstdint>
#include <fmt/format.h>
#include <string_view>

namespace netshm_tool {

namespace {

std::string kind_name(netshm::problem_kind kind)
{
    using enum netshm::problem_kind;
    switch (kind) {
    case master: return "master page";
    case descriptor: return "descriptor page";
    case object_size: return "object size";
    case extent: return "hash extent";
    case hash_cell: return "hash cell";
    case probe: return "probe";
    case content_page: return "content page";
    case follow_up: return "follow-up page";
    case binding_chain: return "binding chain";
    case free_list: return "free list";
    case page_shared: return "page shared";
    case page_lost: return "page lost";
    case count: return "count";
    case tail: return "tail";
    }
    // A kind of a later library.
    return fmt::format("kind {}", static_cast<int>(kind));
}

std::string where(std::int32_t page) { return page < 0 ? "object" : fmt::format("page {}", page); }

// The library's messages start with the page ("page 7: ..."), which the
// report already names first.
std::string_view without_page(std::string_view message, std::int32_t page)
{
    std::string prefix = where(page) + ": ";
    return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

} // namespace

std::string problem_line(const netshm::problem &p)
{
    return fmt::format("{}: {}: {}", where(p.page), kind_name(p.kind), without_page(p.message, p.page));
}

} // namespace netshm_tool
