#include "image/new_table.hpp"

#include "format/growth.hpp"
#include "format/lock_area_layout.hpp"
#include "image/unfinished_table.hpp"
#include "shm/mapping.hpp"
#include "util/error.hpp"
#include "util/shared_words.hpp"

#include <algorithm>
#include <climits>
#include <fmt/format.h>
#include <iterator>

namespace netshm::core {

using namespace layout;

long long init_hint(long long init, int words_per_page, const std::string &name)
{
    long long hint = init < 0 ? default_init_hint : init;
    if (hint > INT32_MAX / 2)
        throw error(errc::too_big, fmt::format("{}: init hint {} is too large", name, hint));
    std::int64_t hash_pages = initial_hash_pages(hint, words_per_page);
    if (2 + hash_pages > INT32_MAX || hash_pages * cells_per_page(words_per_page) > INT32_MAX)
        throw error(errc::too_big, fmt::format("{}: init hint {} needs a hash table too large for the "
                                               "format",
                                               name, hint));
    return hint;
}

void refuse_foreign_content(const shm_object &object)
{
    const std::uint64_t size = object.size();
    if (size == 0)
        return;
    // One look at page 0: its first words, and whether the object is a
    // creation that never finished.
    mapping whole(object.fd(), size, false, object.name());
    const std::int32_t *words = whole.words();
    const bool zeros = is_all_zero(words, std::min<std::uint64_t>(size, sizeof file_magic));
    bool table = size >= sizeof file_magic;
    for (std::size_t i = 0; table && i < std::size(file_magic); ++i)
        table = shared::load(words + i) == file_magic[i];
    if (!zeros && !table && !(size >= lock_area_end_bytes && is_unfinished_table(words, size)))
        throw error(errc::exists, fmt::format("{}: the object holds {} bytes that are not a netshm table; a new "
                                              "table is never written over them (empty the object first, e.g. "
                                              "open it with O_TRUNC, or remove it)",
                                              object.name(), size));
}

std::int64_t write_new_table_image(shm_object &object, int words_per_page, long long hint, bool keep_lock_area)
{
    std::int64_t hash_pages = initial_hash_pages(hint, words_per_page);
    std::int64_t total = 2 + hash_pages;
    std::int64_t hash_size = hash_pages * cells_per_page(words_per_page);
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page) * 4;
    std::uint64_t old_size = object.size();
    std::uint64_t new_size = static_cast<std::uint64_t>(total) * page_bytes;
    object.grow_to(new_size);
    mapping whole(object.fd(), std::max(old_size, new_size), true, object.name());
    std::int32_t *words = whole.words();
    const std::size_t whole_words = whole.bytes() / sizeof(std::int32_t);
    if (keep_lock_area) {
        // Other mutex-locking processes read the lock area meanwhile, a word
        // at a time; the bytes of a last partial word are nobody's word.
        shared::zero(words, la_magic);
        shared::zero(words + la_end, whole_words - la_end);
        if (const std::size_t tail = whole.bytes() % sizeof(std::int32_t); tail != 0)
            shared::zero_unraced(words + whole_words, tail);
    } else {
        shared::zero_unraced(words, whole.bytes());
    }
    auto store = [pages = shared::pages{words, words_per_page}](std::int64_t page, int word, std::int32_t value) {
        pages.store(page, word, value);
    };
    const std::int32_t d = 1;
    store(d, d_magic, descriptor_magic);
    store(d, d_total_pages, static_cast<std::int32_t>(total));
    store(d, d_hash_size, static_cast<std::int32_t>(hash_size));
    store(d, d_extents, 2);
    store(d, d_extents + 1, static_cast<std::int32_t>(hash_pages));
    store(0, master_descriptor_page, d);
    for (int i = 0; i < 4; ++i)
        store(0, i, file_magic[i]);
    return total;
}

} // namespace netshm::core
