// Quotient and remainder by a divisor known only at run time, by a multiply
// instead of a divide instruction (which costs tens of cycles on every hash
// lookup).  Lemire, Kaser and Kurz, "Faster remainder by direct computation"
// (2019): with a 64-bit reciprocal, exact for every 32-bit numerator.
#pragma once

#include <cstdint>

namespace netshm::core {

class fast_divisor {
public:
    fast_divisor() = default;
    // divisor >= 1; quotient() needs divisor >= 2.
    explicit fast_divisor(std::uint32_t divisor) noexcept
        : divisor_(divisor), reciprocal_(UINT64_MAX / divisor + 1)
    {
    }

    std::uint32_t quotient(std::uint32_t n) const noexcept
    {
        return static_cast<std::uint32_t>(high_product(reciprocal_, n));
    }
    std::uint32_t remainder(std::uint32_t n) const noexcept
    {
        return static_cast<std::uint32_t>(high_product(reciprocal_ * n, divisor_));
    }

private:
    static std::uint64_t high_product(std::uint64_t a, std::uint64_t b) noexcept
    {
        __extension__ using wide = unsigned __int128;
        return static_cast<std::uint64_t>((static_cast<wide>(a) * b) >> 64);
    }

    std::uint32_t divisor_ = 1;
    std::uint64_t reciprocal_ = 0;
};

} // namespace netshm::core
