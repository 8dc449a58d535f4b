// The engine's probe_reach (lib/image/probe_reach.hpp) against probing one
// attempt at a time, as DESIGN §5 states it, on random hash tables: small
// ones, nearly full ones, none free, keys that collide and keys whose probe
// sums wrap around int32 in the middle of the linear part.
#include "image/probe_reach.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using netshm::core::hash_cell;
using netshm::core::probe_outcome;

probe_outcome probe_one_by_one(const std::vector<hash_cell> &cells, std::int64_t target)
{
    const auto size = static_cast<std::int64_t>(cells.size());
    const std::int32_t key = cells[static_cast<std::size_t>(target)].key;
    for (std::int64_t attempt = 0; attempt <= size + 10; ++attempt) {
        const std::int64_t offset = attempt <= 9 ? attempt * attempt : 72 + attempt;
        const auto sum = static_cast<std::int32_t>(static_cast<std::uint32_t>(key) + static_cast<std::uint32_t>(offset));
        const std::int64_t cell = ((sum % size) + size) % size;
        const hash_cell &c = cells[static_cast<std::size_t>(cell)];
        if (c.ptr == 0 || c.key == key)
            return cell == target ? probe_outcome{attempt + 1, cell} : probe_outcome{0, cell};
    }
    return {0, -1};
}

} // namespace

TEST_CASE("probe_reach: the same answer as probing one attempt at a time", "[check][probe]")
{
    std::mt19937_64 rng(GENERATE(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u));
    std::uint64_t checked = 0, wrapped = 0, unreached = 0;
    for (int table = 0; table < 300; ++table) {
        const std::int64_t size = 9 + static_cast<std::int64_t>(rng() % 120);
        const int free_per_mille = table % 10 == 0 ? 0 : static_cast<int>(rng() % 800);
        // Keys from a few residues, near 0 or near either end of int32.
        std::vector<std::int32_t> bases = {0, INT32_MAX - static_cast<std::int32_t>(rng() % 400),
                                           INT32_MIN + static_cast<std::int32_t>(rng() % 400)};
        std::vector<hash_cell> cells(static_cast<std::size_t>(size));
        for (hash_cell &c : cells) {
            const std::int64_t base = bases[rng() % bases.size()];
            const std::int64_t key = base + static_cast<std::int64_t>(rng() % 5) -
                                     (base > 0 ? 1 : -1) * static_cast<std::int64_t>(rng() % 4) * size;
            c.key = static_cast<std::int32_t>(std::clamp<std::int64_t>(key, INT32_MIN, INT32_MAX));
            c.ptr = static_cast<int>(rng() % 1000) < free_per_mille ? 0 : (rng() % 4 == 0 ? -1 : 7);
        }
        const netshm::core::probe_reach reach(cells);
        bool any_free = false;
        for (const hash_cell &c : cells)
            any_free = any_free || c.ptr == 0;
        CHECK(reach.full() == !any_free);
        for (std::int64_t target = 0; target < size; ++target) {
            const hash_cell &c = cells[static_cast<std::size_t>(target)];
            if (c.ptr == 0)
                continue;
            const probe_outcome expected = probe_one_by_one(cells, target);
            const probe_outcome got = reach.reach(target);
            INFO("table " << table << ", size " << size << ", cell " << target << ", key " << c.key);
            CHECK(got.probes == expected.probes);
            CHECK(got.stop == expected.stop);
            ++checked;
            unreached += expected.probes == 0 ? 1 : 0;
            // A probe sum wraps from INT32_MAX to INT32_MIN within the attempts.
            wrapped += static_cast<std::int64_t>(c.key) + 72 + size + 10 > INT32_MAX ? 1 : 0;
        }
    }
    CHECK(checked > 5000);
    CHECK(wrapped > 500);
    CHECK(unreached > 500);
}
