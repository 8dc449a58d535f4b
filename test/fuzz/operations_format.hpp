// The input format of fuzz_operations, and a writer of it for the seed corpus.
//
//   byte 0   setup: bit 0 record locking; bits 1-2 page size (page_sizes)
//   byte 1   the init hint of the new table
//   then operations, each an opcode byte (modulo op_count) and its arguments:
//     key       one byte: an index into the key pool (modulo pool_size)
//     value     one selector byte (see value_kind), then for value_words the
//               words themselves (4 bytes each, little-endian)
//     plan      one byte per binding of the key, for block callbacks
//               (see plan_bits)
// Past the end of the input every byte reads as 0, so any input is valid.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netshm_fuzz::ops {

constexpr unsigned page_sizes[] = {160, 200, 256, 1024};
constexpr size_t pool_size = 16;

enum opcode : uint8_t {
    op_add,             // key, value
    op_replace,         // key, value
    op_remove,          // key
    op_find,            // key
    op_find_into,       // key, capacity byte: 0 need - 1, 1 need, 2 need + 3, 3 none
    op_mem,             // key
    op_find_all,        // key
    op_length,          //
    op_iter,            // (iter and iter_keys against the model)
    op_find_blocks,     // key, plans
    op_write_blocks,    // key, announce byte (0 mod 8: REMOVE_BINDING not announced), plans
    op_group_toggle,    // byte: bit 0 end rather than begin (when a group is open), bit 1 a write group
    op_group_call,      // byte: bits 0-1 count - 1 of nested operations, bit 2 a write group,
                        // bit 3 the body answers 0 (else -100); then the nested operations
    op_burst,           // count - 1 byte, start key (4 bytes): that many fresh keys
    op_add_fresh,       // key (4 bytes), value
    op_remanage,        // byte: bit 0 re-initialise with init = bits 2-7, bit 1 give the page size
    op_reopen_read_only,//
    op_check,           // netshm_check and netshm_stat against the model
    op_dump,            //
    op_self_locked,     // key: modifying from callbacks is refused
    op_count
};

// Value selector: the low 3 bits choose the kind, the high 5 bits (h) a size.
enum value_kind : uint8_t {
    value_empty = 0,
    value_short = 1,     // 1 + h % 8 words
    value_boundary = 2,  // first + k * follow + d words, k = h % 3, d = h / 3 % 3 - 1: page boundaries
    value_medium = 3,    // 9 + 4 * h words
    value_long = 4,      // 100 + 28 * h words, several pages
    value_words = 5,     // h % 8 words read from the input
    value_extremes = 6,  // 1 + h words of INT32_MIN, INT32_MAX, 0, -1
    value_kinds = 7,     // 7 is value_short too
};

// A block callback's plan for one binding.
enum plan_bits : uint8_t {
    plan_write = 1u << 0,   // write_blocks: XOR a mask into every word
    plan_remove = 1u << 1,  // answer REMOVE_BINDING at call (bits 2-3) modulo the calls
    // bits 4-5: the stop answer: 0 none, 1 NEXT, 2 BREAK, 3 -100; at call (bits 6-7) modulo the calls
};

constexpr uint8_t value_selector(value_kind kind, uint8_t size) { return static_cast<uint8_t>(kind | size << 3); }
constexpr uint8_t plan(bool write, int remove_at, int stop, int stop_at)
{
    return static_cast<uint8_t>((write ? plan_write : 0) | (remove_at >= 0 ? plan_remove | (remove_at & 3) << 2 : 0) |
                                (stop & 3) << 4 | (stop_at & 3) << 6);
}

// Writes inputs of this format (the seed corpus).
class writer {
public:
    writer(bool record_locking, uint8_t pagesize_index, uint8_t init)
    {
        bytes_.push_back(static_cast<uint8_t>((record_locking ? 1 : 0) | (pagesize_index & 3) << 1));
        bytes_.push_back(init);
    }
    writer &op(opcode code, std::initializer_list<uint8_t> args = {})
    {
        bytes_.push_back(code);
        bytes_.insert(bytes_.end(), args);
        return *this;
    }
    writer &word(int32_t w)
    {
        for (int i = 0; i < 4; ++i)
            bytes_.push_back(static_cast<uint8_t>(static_cast<uint32_t>(w) >> (8 * i)));
        return *this;
    }
    const std::vector<uint8_t> &bytes() const { return bytes_; }

private:
    std::vector<uint8_t> bytes_;
};

} // namespace netshm_fuzz::ops
