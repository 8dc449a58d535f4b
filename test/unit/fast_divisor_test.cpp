// fast_divisor (lib/util/fast_divisor.hpp) against the divide instruction:
// the edges of the 32-bit range and random numerators, for the divisors a
// table uses (cells per page from 9, hash table sizes up to 2^31-1).
#include "util/fast_divisor.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

using netshm::core::fast_divisor;

TEST_CASE("fast_divisor: quotient and remainder equal / and %", "[fast_divisor]")
{
    std::mt19937 random(20261127);
    std::vector<std::uint32_t> divisors = {1, 2, 3, 7, 9, 15, 16, 63, 1000, 65535, 65536, 131071,
                                           (1u << 31) - 1, 1u << 31, UINT32_MAX};
    for (int i = 0; i < 200; ++i)
        divisors.push_back(random() % (1u << (1 + i % 31)) + 1);
    for (std::uint32_t divisor : divisors) {
        fast_divisor fast(divisor);
        std::vector<std::uint32_t> numerators = {0, 1, divisor - 1, divisor, divisor + 1, 2 * divisor - 1,
                                                 (1u << 31) - 1, 1u << 31, UINT32_MAX - 1, UINT32_MAX};
        for (int i = 0; i < 2000; ++i)
            numerators.push_back(static_cast<std::uint32_t>(random()));
        for (std::uint32_t n : numerators) {
            CAPTURE(divisor, n);
            REQUIRE(fast.remainder(n) == n % divisor);
            if (divisor >= 2)
                REQUIRE(fast.quotient(n) == n / divisor);
        }
    }
}
