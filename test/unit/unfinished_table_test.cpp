// The rule that recognises an unfinished table (lib/image/unfinished_table.hpp,
// doc/format.md "Re-initialisation and creation"): every prefix of a
// creation's stores is one, a finished table and anything foreign are not.
#include "format/layout.hpp"
#include "format/lock_area_layout.hpp"
#include "image/unfinished_table.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

namespace {

using namespace netshm::core::layout;
using netshm::core::is_all_zero;
using netshm::core::is_unfinished_table;

using image = std::vector<std::int32_t>;

bool unfinished(const image &words)
{
    return is_unfinished_table(words.data(), words.size() * sizeof(std::int32_t));
}

// The stores of a creation at page size `pagesize` (3 pages), in order.
struct store {
    std::size_t word;
    std::int32_t value;
};
std::vector<store> creation_stores(unsigned pagesize)
{
    const std::size_t d = pagesize / 4;
    return {{d + d_magic, descriptor_magic}, {d + d_total_pages, 3}, {d + d_hash_size, 7},
            {d + d_extents, 2},               {d + d_extents + 1, 1}, {master_descriptor_page, 1},
            {0, file_magic[0]},               {1, file_magic[1]},     {2, file_magic[2]},
            {3, file_magic[3]}};
}

bool all_zero(const image &words) { return is_all_zero(words.data(), words.size() * sizeof(std::int32_t)); }

TEST_CASE("unfinished table: every prefix of a creation's stores from the first is one, the whole creation "
          "is not",
          "[unit][initialisation]")
{
    const unsigned pagesize = GENERATE(160u, 256u, 4096u);
    CAPTURE(pagesize);
    const std::vector<store> stores = creation_stores(pagesize);
    image words(3 * pagesize / 4, 0);
    // Before the first store: zeros, which a foreign file may be too.
    CHECK(all_zero(words));
    CHECK_FALSE(unfinished(words));
    for (const store &s : stores) {
        words[s.word] = s.value;
        CHECK_FALSE(all_zero(words));
        if (&s != &stores.back())
            CHECK(unfinished(words));
    }
    CHECK_FALSE(unfinished(words));
}

TEST_CASE("unfinished table: a mutex-mode lock area is allowed, other words are not", "[unit][initialisation]")
{
    image words(3 * 64, 0);
    words[64] = descriptor_magic;
    words[la_magic] = lock_area_magic;
    words[la_sequence] = 7;
    CHECK(unfinished(words));
    words[la_magic] = 0;
    CHECK_FALSE(unfinished(words));
}

TEST_CASE("unfinished table: foreign contents are never taken for one", "[unit][initialisation]")
{
    image zeros(3 * 64, 0);
    CHECK_FALSE(unfinished(zeros));
    SECTION("data past the descriptor's words") {
        image words = zeros;
        words[64] = descriptor_magic;
        words[64 + descriptor_words_used] = 1;
        CHECK_FALSE(unfinished(words));
    }
    SECTION("a first nonzero word that is not a descriptor magic") {
        image words = zeros;
        words[100] = 5;
        CHECK_FALSE(unfinished(words));
    }
    SECTION("a descriptor magic inside page 0's smallest size") {
        image words = zeros;
        words[la_end - 1] = descriptor_magic;
        CHECK_FALSE(unfinished(words));
    }
    SECTION("page 0's words not a prefix of a creation's") {
        image words = zeros;
        words[64] = descriptor_magic;
        words[1] = file_magic[1];  // without word 0
        words[master_descriptor_page] = 1;
        CHECK_FALSE(unfinished(words));
        words = zeros;
        words[64] = descriptor_magic;
        words[0] = file_magic[0];  // before the descriptor page number
        CHECK_FALSE(unfinished(words));
        words = zeros;
        words[64] = descriptor_magic;
        words[master_descriptor_page] = 2;
        CHECK_FALSE(unfinished(words));
    }
    SECTION("too small, or not whole words") {
        image words = zeros;
        words[40] = descriptor_magic;
        CHECK(is_unfinished_table(words.data(), 4 * 80));
        CHECK_FALSE(is_unfinished_table(words.data(), lock_area_end_bytes - 4));
        CHECK_FALSE(is_unfinished_table(words.data(), 4 * 80 + 2));
    }
}

} // namespace
