// A shared mapping of the first bytes of an object (RAII).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace netshm::core {

class mapping {
public:
    mapping() noexcept = default;
    // Maps `bytes` bytes of `fd` shared, writable or not; `name` is for messages.
    mapping(int fd, std::size_t bytes, bool writable, std::string_view name);
    mapping(mapping &&other) noexcept;
    mapping &operator=(mapping &&other) noexcept;
    mapping(const mapping &) = delete;
    mapping &operator=(const mapping &) = delete;
    ~mapping();

    std::int32_t *words() const noexcept { return static_cast<std::int32_t *>(base_); }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    void *base_ = nullptr;
    std::size_t bytes_ = 0;
};

} // namespace netshm::core
