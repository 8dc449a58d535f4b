#include "image/new_table.hpp"

#include "format/growth.hpp"
#include "format/lock_area_layout.hpp"
#include "image/unfinished_table.hpp"
#include "shm/mapping.hpp"
#include "util/error.hpp"
#include "util/shared_words.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <fmt/format.h>
#include <iterator>
#include <unistd.h>

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
    std::uint64_t size = object.size();
    if (size == 0)
        return;
    std::int32_t head[4] = {};
    std::size_t wanted = static_cast<std::size_t>(std::min<std::uint64_t>(size, sizeof head));
    std::size_t got = 0;
    while (got < wanted) {
        ssize_t n = ::pread(object.fd(), reinterpret_cast<char *>(head) + got, wanted - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_system(errno, "read", object.name());
        if (n == 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    const bool zeros = std::all_of(std::begin(head), std::end(head), [](std::int32_t w) { return w == 0; });
    const bool table = wanted == sizeof head && std::equal(std::begin(head), std::end(head), std::begin(file_magic));
    if (!zeros && !table && !holds_unfinished_table(object))
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
