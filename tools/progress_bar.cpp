#include "progress_bar.hpp"

#include "progress_line.hpp"

#include <atomic>
#include <cstdio>
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace netshm_tool {

namespace {

// Shorter runs show no bar at all.
constexpr auto quiet_time = std::chrono::milliseconds(500);
constexpr auto redraw_interval = std::chrono::milliseconds(100);
// When the terminal does not say its width.
constexpr unsigned fallback_columns = 80;

std::atomic<bool> silenced = false;

unsigned terminal_columns()
{
    winsize size{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_col == 0)
        return fallback_columns;
    return size.ws_col;
}

// Carriage return, then "erase to the end of the line" (ECMA-48 EL).
constexpr std::string_view line_start = "\r";
constexpr std::string_view erase_rest = "\x1b[K";

} // namespace

void progress_bar::silence() { silenced = true; }

progress_bar::progress_bar(std::string_view label, std::uint64_t total)
    : label_(label), total_(total), terminal_(!silenced && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_)
{
}

progress_bar::~progress_bar()
{
    if (drawn_) {
        fmt::print(stderr, "{}{}", line_start, erase_rest);
        std::fflush(stderr);
    }
}

void progress_bar::update(std::uint64_t done)
{
    done_ = done;
    if (!terminal_)
        return;
    auto now = std::chrono::steady_clock::now();
    if (now - start_ < quiet_time || now - last_draw_ < redraw_interval)
        return;
    last_draw_ = now;
    draw();
}

void progress_bar::draw()
{
    std::string line = progress_line(label_, done_, total_, last_draw_ - start_, terminal_columns());
    fmt::print(stderr, "{}{}{}", line_start, line, erase_rest);
    std::fflush(stderr);
    drawn_ = true;
}

} // namespace netshm_tool
