// The text of one progress bar line, laid out for a terminal of a given width.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace netshm_tool {

// "LABEL [#####.....]  45% 4500/10000" when the total is known (total > 0),
// "LABEL [   <=>    ] 12.3 s" otherwise. The line is at most `columns` - 1
// characters: the last column stays empty, so a terminal never wraps it. On
// narrow terminals the counts, then the label, then the bar are dropped.
std::string progress_line(std::string_view label, std::uint64_t done, std::uint64_t total,
                          std::chrono::steady_clock::duration elapsed, unsigned columns);

} // namespace netshm_tool
