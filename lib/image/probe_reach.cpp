#include "image/probe_reach.hpp"

#include "format/cells.hpp"

#include <algorithm>
#include <climits>

namespace netshm::core {

probe_reach::probe_reach(const std::vector<hash_cell> &cells)
    : cells_(cells), size_(static_cast<std::int64_t>(cells.size())), free_after_(cells.size(), 0)
{
    auto is_free = [&](std::int64_t i) { return cells_[static_cast<std::size_t>(i)].ptr == layout::ptr_never_used; };
    std::int64_t free_cell = 0;
    while (free_cell < size_ && !is_free(free_cell))
        ++free_cell;
    if (free_cell == size_) {
        std::fill(free_after_.begin(), free_after_.end(), static_cast<std::int32_t>(size_));
    } else {
        // Backwards around the table from a free cell, so each run is counted once.
        for (std::int64_t step = 1; step < size_; ++step) {
            std::int64_t i = (free_cell - step + size_) % size_;
            free_after_[static_cast<std::size_t>(i)] =
                is_free(i) ? 0 : free_after_[static_cast<std::size_t>((i + 1) % size_)] + 1;
        }
    }

    for (std::int64_t i = 0; i < size_; ++i)
        if (!is_free(i))
            repeated_.emplace_back(cells_[static_cast<std::size_t>(i)].key, static_cast<std::int32_t>(i));
    std::sort(repeated_.begin(), repeated_.end());
    auto alone = [&](std::size_t n) {
        std::int32_t key = repeated_[n].first;
        return (n == 0 || repeated_[n - 1].first != key) && (n + 1 == repeated_.size() || repeated_[n + 1].first != key);
    };
    std::size_t kept = 0;
    for (std::size_t n = 0; n < repeated_.size(); ++n)
        if (!alone(n))
            repeated_[kept++] = repeated_[n];
    repeated_.resize(kept);
}

std::int64_t probe_reach::distance_to_key(std::int32_t key, std::int64_t start, std::int64_t target) const
{
    auto first = std::lower_bound(repeated_.begin(), repeated_.end(), std::pair<std::int32_t, std::int32_t>{key, INT32_MIN});
    if (first == repeated_.end() || first->first != key)
        return (target - start + size_) % size_;
    auto last = std::upper_bound(first, repeated_.end(), std::pair<std::int32_t, std::int32_t>{key, INT32_MAX});
    auto at_or_after = std::lower_bound(first, last, std::pair<std::int32_t, std::int32_t>{key, static_cast<std::int32_t>(start)});
    std::int64_t cell = at_or_after != last ? at_or_after->second : first->second;
    return (cell - start + size_) % size_;
}

probe_outcome probe_reach::reach(std::int64_t target) const
{
    const std::int32_t key = cells_[static_cast<std::size_t>(target)].key;
    const std::int64_t limit = size_ + 10;
    auto sum_at = [key](std::int64_t attempt) { return probe_sum(key, attempt); };
    auto cell_at = [this](std::int32_t sum) { return cell_of_sum(sum, size_); };
    auto stop_at = [target](std::int64_t cell, std::int64_t attempt) {
        return cell == target ? probe_outcome{attempt + 1, cell} : probe_outcome{0, cell};
    };

    std::int64_t attempt = 0;
    for (; attempt < 10 && attempt <= limit; ++attempt) {
        std::int64_t cell = cell_at(sum_at(attempt));
        const hash_cell &c = cells_[static_cast<std::size_t>(cell)];
        if (c.ptr == layout::ptr_never_used || c.key == key)
            return stop_at(cell, attempt);
    }
    // From attempt 10 on the sum grows by one per attempt: consecutive cells,
    // in at most two runs (the int32 sum may wrap around once).
    while (attempt <= limit) {
        std::int32_t sum = sum_at(attempt);
        std::int64_t start = cell_at(sum);
        std::int64_t length = std::min(limit - attempt + 1, std::int64_t{INT32_MAX} - sum + 1);
        std::int64_t to_free = free_after_[static_cast<std::size_t>(start)];
        if (to_free >= size_)
            to_free = INT64_MAX;
        std::int64_t to_key = distance_to_key(key, start, target);
        std::int64_t distance = std::min(to_free, to_key);
        if (distance < length)
            return stop_at((start + distance) % size_, attempt + distance);
        attempt += length;
    }
    return {0, -1};
}

} // namespace netshm::core
