// A progress bar on standard error for long runs: drawn only when standard
// error is a terminal, and only once the work has taken a moment.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace netshm_tool {

class progress_bar {
public:
    progress_bar(std::string_view label, std::uint64_t total);
    ~progress_bar();
    progress_bar(const progress_bar &) = delete;
    progress_bar &operator=(const progress_bar &) = delete;

    void update(std::uint64_t done);

private:
    void draw(std::uint64_t done);

    std::string label_;
    std::uint64_t total_;
    bool terminal_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
};

} // namespace netshm_tool
