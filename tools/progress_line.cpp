#include "progress_line.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <vector>

namespace netshm_tool {

namespace {

// Narrower bars say nothing; wider ones only make the eye travel.
constexpr std::size_t min_bar = 4;
constexpr std::size_t max_bar = 60;
// The width of the moving marker of a bar without a total.
constexpr std::size_t marker = 3;

std::string known_bar(std::uint64_t done, std::uint64_t total, std::size_t width)
{
    auto filled = static_cast<std::size_t>(std::min(done, total) * width / total);
    return fmt::format("[{:#<{}}{:.<{}}]", "", filled, "", width - filled);
}

// A marker that moves back and forth, four steps a second.
std::string activity_bar(std::chrono::steady_clock::duration elapsed, std::size_t width)
{
    std::size_t travel = width > marker ? width - marker : 0;
    auto step = static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() / 250);
    std::size_t at = travel == 0 ? 0 : step % (2 * travel);
    if (at > travel)
        at = 2 * travel - at;
    std::size_t shown = std::min(marker, width);
    return fmt::format("[{:<{}}{}{:<{}}]", "", at, std::string_view("<=>").substr(0, shown), "",
                       width - at - shown);
}

} // namespace

std::string progress_line(std::string_view label, std::uint64_t done, std::uint64_t total,
                          std::chrono::steady_clock::duration elapsed, unsigned columns)
{
    std::size_t room = columns > 1 ? columns - 1 : 0;
    std::string amount;
    std::string counts;
    if (total > 0) {
        amount = fmt::format("{:3}%", std::min(done, total) * 100 / total);
        counts = fmt::format("{}/{}", done, total);
    } else {
        amount = fmt::format("{:.1f} s", std::chrono::duration<double>(elapsed).count());
    }
    // The richest layout that leaves the bar at least min_bar wide.
    struct layout {
        std::string_view before, after;
    };
    std::string with_counts = amount + " " + counts;
    const std::vector<layout> layouts = {
        {label, counts.empty() ? amount : with_counts}, {label, amount}, {{}, amount}};
    for (const layout &l : layouts) {
        std::size_t text = (l.before.empty() ? 0 : l.before.size() + 1) + 2 + 1 + l.after.size();
        if (text + min_bar > room)
            continue;
        std::size_t width = std::min(max_bar, room - text);
        std::string bar = total > 0 ? known_bar(done, total, width) : activity_bar(elapsed, width);
        return l.before.empty() ? fmt::format("{} {}", bar, l.after)
                                : fmt::format("{} {} {}", l.before, bar, l.after);
    }
    return amount.size() <= room ? amount : std::string();
}

} // namespace netshm_tool
