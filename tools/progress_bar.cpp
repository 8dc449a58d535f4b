#include "progress_bar.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace netshm_tool {

namespace {

// Shorter runs show no bar at all.
constexpr auto quiet_time = std::chrono::milliseconds(500);
constexpr auto redraw_interval = std::chrono::milliseconds(100);
constexpr std::uint64_t bar_width = 40;

} // namespace

progress_bar::progress_bar(std::string_view label, std::uint64_t total)
    : label_(label), total_(total), terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_)
{
}

progress_bar::~progress_bar()
{
    // Ends the bar's line, so that what follows (a summary, an error) starts
    // on a line of its own.
    if (drawn_)
        fmt::print(stderr, "\n");
}

void progress_bar::update(std::uint64_t done)
{
    if (!terminal_)
        return;
    auto now = std::chrono::steady_clock::now();
    if (done < total_ && (now - start_ < quiet_time || now - last_draw_ < redraw_interval))
        return;
    if (done == total_ && !drawn_)
        return;
    last_draw_ = now;
    draw(done);
}

void progress_bar::draw(std::uint64_t done)
{
    std::uint64_t filled = total_ == 0 ? bar_width : done * bar_width / total_;
    std::uint64_t percent = total_ == 0 ? 100 : done * 100 / total_;
    fmt::print(stderr, "\r{} [{:#<{}}{:.<{}}] {:3}% {}/{}", label_, "", filled, "", bar_width - filled, percent,
               done, total_);
    std::fflush(stderr);
    drawn_ = true;
}

} // namespace netshm_tool
