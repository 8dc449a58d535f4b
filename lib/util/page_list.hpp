// The pages of one value, in order: the first few inline, so that reading or
// writing a binding of a short value allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace netshm::core {

class page_list {
public:
    void push_back(std::int32_t page)
    {
        if (size_ < inline_capacity) {
            inline_[size_] = page;
        } else {
            if (size_ == inline_capacity)
                spilled_.assign(inline_.begin(), inline_.end());
            spilled_.push_back(page);
        }
        ++size_;
    }
    void reserve(std::size_t count)
    {
        if (count > inline_capacity)
            spilled_.reserve(count);
    }

    std::size_t size() const noexcept { return size_; }
    std::int32_t *begin() noexcept { return size_ <= inline_capacity ? inline_.data() : spilled_.data(); }
    std::int32_t *end() noexcept { return begin() + size_; }
    const std::int32_t *begin() const noexcept
    {
        return size_ <= inline_capacity ? inline_.data() : spilled_.data();
    }
    const std::int32_t *end() const noexcept { return begin() + size_; }
    std::int32_t operator[](std::size_t i) const noexcept { return begin()[i]; }
    std::int32_t front() const noexcept { return *begin(); }

private:
    static constexpr std::size_t inline_capacity = 4;
    std::array<std::int32_t, inline_capacity> inline_{};
    std::vector<std::int32_t> spilled_;
    std::size_t size_ = 0;
};

} // namespace netshm::core
