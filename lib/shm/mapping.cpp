#include "shm/mapping.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <string>
#include <sys/mman.h>
#include <utility>

namespace netshm::core {

mapping::mapping(int fd, std::size_t bytes, bool writable, std::string_view name) : bytes_(bytes)
{
    int protection = PROT_READ | (writable ? PROT_WRITE : 0);
    void *base = ::mmap(nullptr, bytes, protection, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        throw_system(errno, "mmap " + std::to_string(bytes) + " bytes of", name);
    base_ = base;
}

mapping::mapping(mapping &&other) noexcept
    : base_(std::exchange(other.base_, nullptr)), bytes_(std::exchange(other.bytes_, 0))
{
}

mapping &mapping::operator=(mapping &&other) noexcept
{
    if (this != &other) {
        if (base_ != nullptr)
            ::munmap(base_, bytes_);
        base_ = std::exchange(other.base_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

mapping::~mapping()
{
    if (base_ != nullptr)
        ::munmap(base_, bytes_);
}

} // namespace netshm::core
