// Netshm format 1 (OCamlnet): page kinds, magic numbers and word offsets.
// All words are native-endian int32; a page has W = pagesize / 4 words.
#pragma once

#include <cstdint>

namespace netshm::core::layout {

constexpr std::int32_t word(std::uint32_t bits) { return static_cast<std::int32_t>(bits); }
// A word's bits, for printing magic numbers in hex.
constexpr std::uint32_t bits(std::int32_t word) { return static_cast<std::uint32_t>(word); }

constexpr unsigned min_pagesize = 160;
constexpr unsigned default_pagesize = 256;
// Not a format limit: bounds the page-size detection scan of existing objects.
constexpr unsigned max_pagesize = 1u << 20;
constexpr long long default_init_hint = 1000;
// A page size a table can have (an intent record's, say, read from page 0).
constexpr bool valid_pagesize(std::int64_t pagesize)
{
    return pagesize >= min_pagesize && pagesize <= max_pagesize && pagesize % 4 == 0;
}

// Page 0: four magic words, then the descriptor page's number.
constexpr std::int32_t file_magic[4] = {word(0xDE871209), word(0xDE881209), word(0xDE871309),
                                        word(0xDE87120A)};
constexpr int master_descriptor_page = 4;
constexpr int master_words_used = 5;

// The descriptor page: counters, the free list and the hash extents.
constexpr std::int32_t descriptor_magic = word(0x6712DE9F);
enum descriptor_word : int {
    d_magic = 0,
    d_total_pages = 1,
    d_hash_size = 2,
    d_claimed_cells = 3,
    d_bindings = 4,
    d_free_head = 5,
    d_free_count = 6,
    d_extents = 8,  // first page, page count: two words per extent
};
constexpr int max_extents = 16;
constexpr int descriptor_words_used = d_extents + 2 * max_extents;

// Hash pages: a 4-word header (written as zeros), then cells of 4 words.
constexpr int hash_page_header = 4;
constexpr int cell_words = 4;
enum cell_word : int { cell_key = 0, cell_ptr = 1, cell_spare_key = 2, cell_spare_ptr = 3 };
constexpr std::int32_t ptr_never_used = 0;
constexpr std::int32_t ptr_unbound = -1;

// First content page of a binding.
constexpr std::int32_t content_magic = word(0x12DE9F67);
enum content_word : int {
    c_magic = 0,
    c_key = 1,
    c_next_page = 2,
    c_older_binding = 3,
    c_value_offset = 4,
    c_value_length = 5,
    c_data = 6,
};

// Follow-up content pages.
constexpr std::int32_t followup_magic = word(0xDE9F6712);
enum followup_word : int { f_magic = 0, f_key = 1, f_next_page = 2, f_sequence = 3, f_data = 4 };
// Both kinds of content page keep magic, key and next page in the same words
// (a recovery walks a value's pages without knowing which is which).
static_assert(int{c_magic} == int{f_magic} && int{c_key} == int{f_key} && int{c_next_page} == int{f_next_page});

// Free pages.
constexpr std::int32_t free_magic = word(0xF3EEF3EE);
enum free_word : int { free_magic_word = 0, free_next = 1 };

constexpr int cells_per_page(int words_per_page) { return words_per_page / cell_words - 1; }

// Pages a value of `length` words occupies (OCamlnet's formula).
constexpr std::int64_t pages_for_value(std::int64_t length, int words_per_page)
{
    return (length + 1) / (words_per_page - f_data) + 1;
}

// Offset added to the key at probe attempt i: quadratic for 10 attempts, then linear.
constexpr std::int32_t probe_offset(std::int64_t attempt)
{
    return attempt <= 9 ? static_cast<std::int32_t>(attempt * attempt)
                        : static_cast<std::int32_t>(static_cast<std::uint32_t>(72 + attempt));
}

} // namespace netshm::core::layout
