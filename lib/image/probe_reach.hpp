// Whether probing (doc/format.md, "Hash table") finds each bound key in the cell that holds it,
// for a whole hash table at once.  Probing every key on its own costs O(S)
// per key when keys collide, O(S^2) for a table of keys congruent modulo S;
// here a probe costs O(log S): after its first 10 attempts a probe visits
// consecutive cells, so the precomputed length of each run of non-free cells
// tells at once where it meets a free cell.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace netshm::core {

struct hash_cell {
    std::int32_t key;
    std::int32_t ptr;  // 0 free, -1 claimed, else bound
};

struct probe_outcome {
    std::int64_t probes;  // cells probing visits to reach the target, 0 if it does not reach it
    std::int64_t stop;    // the cell where probing stops, -1 if it gives up after S + 10 cells
};

class probe_reach {
public:
    // cells: the whole hash table, S cells; it must outlive this object.
    explicit probe_reach(const std::vector<hash_cell> &cells);

    // Probing for the key of cell `target` (a non-free cell).
    probe_outcome reach(std::int64_t target) const;
    // No free cell: probing for an absent key never ends.
    bool full() const noexcept { return !cells_.empty() && free_after_[0] >= size_; }

private:
    // How many cells lie from `start` (cyclically) to the first non-free cell
    // holding `key`: the target's own cell unless the key is in several.
    std::int64_t distance_to_key(std::int32_t key, std::int64_t start, std::int64_t target) const;

    const std::vector<hash_cell> &cells_;
    std::int64_t size_;
    // Non-free cells from each cell on, cyclically; S when there is no free cell.
    std::vector<std::int32_t> free_after_;
    // (key, cell) of every non-free cell whose key is in several, sorted.
    std::vector<std::pair<std::int32_t, std::int32_t>> repeated_;
};

} // namespace netshm::core
