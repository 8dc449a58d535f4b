// A table's statistics (table::stat, netshm_stat) as `netshm stat` and `netshm bench`
// print them.
#pragma once

#include <netshm.hpp>

#include <string>
#include <string_view>

namespace netshm_tool {

// "label  value" lines; every line starts with `indent`.
std::string stat_text(const netshm::stats &stats, std::string_view indent = "");
// One JSON object, members named as the struct's fields plus fill_percent and
// bytes_per_binding.
std::string stat_json(const netshm::stats &stats);

} // namespace netshm_tool
