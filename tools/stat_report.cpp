#include "stat_report.hpp"

#include <fmt/format.h>
#include <iterator>

namespace netshm_tool {

namespace {

double fill_percent(const netshm::stats &s)
{
    return s.hash_cells == 0 ? 0.0 : 100.0 * static_cast<double>(s.claimed_cells) / static_cast<double>(s.hash_cells);
}

// The pages of content (first and follow-up pages) a binding takes, in bytes.
double bytes_per_binding(const netshm::stats &s)
{
    return s.bindings == 0 ? 0.0
                           : static_cast<double>(s.content_pages) * s.pagesize / static_cast<double>(s.bindings);
}

} // namespace

std::string stat_text(const netshm::stats &s, std::string_view indent)
{
    std::string text;
    auto line = [&](std::string_view label, const std::string &value) {
        fmt::format_to(std::back_inserter(text), "{}{:<18} {}\n", indent, label, value);
    };
    line("page size", fmt::format("{} bytes", s.pagesize));
    line("object size", fmt::format("{} bytes", s.object_bytes));
    line("pages", fmt::format("{} (free {}, hash {}, content {})", s.total_pages, s.free_pages, s.hash_pages,
                              s.content_pages));
    line("hash extents", fmt::format("{}", s.extents));
    line("hash cells", fmt::format("{}, claimed {} ({:.1f} % full)", s.hash_cells, s.claimed_cells, fill_percent(s)));
    line("bindings", fmt::format("{}", s.bindings));
    line("distinct keys", fmt::format("{}", s.distinct_keys));
    line("value bytes", fmt::format("{}", s.value_bytes));
    line("bytes per binding", fmt::format("{:.1f} (content pages)", bytes_per_binding(s)));
    line("longest probe", fmt::format("{}", s.longest_probe));
    return text;
}

std::string stat_json(const netshm::stats &s)
{
    return fmt::format("{{\"pagesize\":{},\"object_bytes\":{},\"total_pages\":{},\"free_pages\":{},"
                       "\"hash_pages\":{},\"content_pages\":{},\"extents\":{},\"hash_cells\":{},"
                       "\"claimed_cells\":{},\"fill_percent\":{:.2f},\"bindings\":{},\"distinct_keys\":{},"
                       "\"value_bytes\":{},\"bytes_per_binding\":{:.2f},\"longest_probe\":{}}}",
                       s.pagesize, s.object_bytes, s.total_pages, s.free_pages, s.hash_pages, s.content_pages,
                       s.extents, s.hash_cells, s.claimed_cells, fill_percent(s), s.bindings, s.distinct_keys,
                       s.value_bytes, bytes_per_binding(s), s.longest_probe);
}

} // namespace netshm_tool
