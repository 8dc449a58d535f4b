#include "image/unfinished_table.hpp"

#include "format/lock_area_layout.hpp"
#include "shm/mapping.hpp"
#include "util/shared_words.hpp"

namespace netshm::core {

using namespace layout;

namespace {

// Page 0's words 0-4 as a creation writes them: the descriptor page number,
// then the magic word by word; false once the magic is complete.
bool master_unfinished(const std::int32_t *words)
{
    std::int32_t descriptor_page = shared::load(words + master_descriptor_page);
    if (descriptor_page != 0 && descriptor_page != 1)
        return false;
    int magic_words = 0;
    while (magic_words < 4 && shared::load(words + magic_words) == file_magic[magic_words])
        ++magic_words;
    if (magic_words == 4 || (magic_words > 0 && descriptor_page == 0))
        return false;
    for (int i = magic_words; i < 4; ++i)
        if (shared::load(words + i) != 0)
            return false;
    return true;
}

bool lock_area_unused_or_ours(const std::int32_t *words)
{
    if (shared::load(words + la_magic) == lock_area_magic)
        return true;
    for (int i = la_magic; i < la_end; ++i)
        if (shared::load(words + i) != 0)
            return false;
    return true;
}

// The first word from `from` on that is not zero, or `count`.
std::uint64_t first_nonzero(const std::int32_t *words, std::uint64_t from, std::uint64_t count)
{
    while (from < count && shared::load(words + from) == 0)
        ++from;
    return from;
}

} // namespace

bool is_unfinished_table(const std::int32_t *words, std::uint64_t size)
{
    if (size < lock_area_end_bytes || size % 4 != 0)
        return false;
    if (!master_unfinished(words) || !lock_area_unused_or_ours(words))
        return false;
    const std::uint64_t count = size / 4;
    // Nothing past the lock area: no store of this creation is there yet,
    // and a foreign file of zeros looks the same (is_all_zero).
    std::uint64_t descriptor = first_nonzero(words, la_end, count);
    if (descriptor == count)
        return false;
    std::uint64_t pagesize = descriptor * 4;
    if (pagesize > max_pagesize || shared::load(words + descriptor) != descriptor_magic)
        return false;
    return first_nonzero(words, descriptor + descriptor_words_used, count) == count;
}

bool is_all_zero(const std::int32_t *words, std::uint64_t size)
{
    const auto *bytes = reinterpret_cast<const unsigned char *>(words);
    for (std::uint64_t i = size - size % 4; i < size; ++i)
        if (__atomic_load_n(bytes + i, __ATOMIC_RELAXED) != 0)
            return false;
    return first_nonzero(words, 0, size / 4) == size / 4;
}

bool holds_unfinished_table(const shm_object &object)
{
    std::uint64_t size = object.size();
    if (size < lock_area_end_bytes)
        return false;
    mapping whole(object.fd(), size, false, object.name());
    return is_unfinished_table(whole.words(), size);
}

} // namespace netshm::core
