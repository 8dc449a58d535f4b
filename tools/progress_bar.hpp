// A progress bar on standard error for the commands that can take long.
//
// It is drawn only when standard error is a terminal, only once the work has
// taken a moment, and never after `--quiet` (progress_bar::silence). It fits
// the terminal's width, read at each redraw (so a resized terminal is
// followed), redraws its line in place and erases it when it ends, so that
// what the command prints afterwards starts on a clean line.
//
//     progress_bar bar("loading", bindings.size());
//     for (...) { ...; bar.update(done); }        // or bar.advance(n)
//
// Work that reports no progress (one library call) shows activity and the
// time elapsed instead:
//
//     auto problems = with_activity("checking", [&] { return table.check(); });
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace netshm_tool {

class progress_bar {
public:
    // total 0: the amount of work is unknown; the bar shows activity.
    progress_bar(std::string_view label, std::uint64_t total);
    ~progress_bar();
    progress_bar(const progress_bar &) = delete;
    progress_bar &operator=(const progress_bar &) = delete;

    void update(std::uint64_t done);
    void advance(std::uint64_t by = 1) { update(done_ + by); }

    // No bar from now on, for the whole run (the tool's --quiet).
    static void silence();

private:
    void draw();

    std::string label_;
    std::uint64_t total_;
    std::uint64_t done_ = 0;
    bool terminal_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
};

// Runs `work` while a bar without a total, redrawn by a thread of its own,
// shows that it is still going; returns what `work` returns.
template <class Work>
auto with_activity(std::string_view label, Work &&work)
{
    progress_bar bar(label, 0);
    // Destroyed first: asks the thread to stop and joins it before the bar goes.
    std::jthread redraw([&bar](std::stop_token stop) {
        while (!stop.stop_requested()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            bar.update(0);
        }
    });
    return work();
}

} // namespace netshm_tool
