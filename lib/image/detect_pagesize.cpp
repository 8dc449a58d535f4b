#include "image/detect_pagesize.hpp"

#include "format/descriptor.hpp"
#include "format/layout.hpp"
#include "image/unfinished_table.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

namespace {

// Empty if a table of this page size has a valid descriptor page d, else why not.
std::string check_pagesize(const std::int32_t *words, std::uint64_t size, std::int32_t d,
                           unsigned pagesize)
{
    int words_per_page = static_cast<int>(pagesize / 4);
    std::uint64_t descriptor_end = static_cast<std::uint64_t>(d) * pagesize + descriptor_words_used * 4;
    if (descriptor_end > size)
        return fmt::format("descriptor page {} lies past the end of the object ({} bytes)", d, size);
    descriptor_words descriptor;
    load_descriptor(words + static_cast<std::int64_t>(d) * words_per_page, descriptor);
    header h;
    return validate_header(descriptor, d, static_cast<std::int64_t>(size / pagesize), cells_per_page(words_per_page), h);
}

// Why an object without page 0's magic holds no table: an unfinished
// creation and an object of zeros are told apart from a foreign file
// (doc/format.md, "Re-initialisation and creation").
std::string no_magic_message(const std::int32_t *words, std::uint64_t size, const std::string &name)
{
    if (is_unfinished_table(words, size))
        return fmt::format("{}: an unfinished table: its creation (or re-initialisation) stopped before page 0's "
                           "magic was written; manage it through a descriptor open for writing, or with init >= 0, "
                           "to create the table",
                           name);
    if (is_all_zero(words, size))
        return fmt::format("{}: all {} bytes are zero: no table, or one whose creation stopped before its first "
                           "store; manage it with init >= 0 to create the table",
                           name, size);
    return fmt::format("{}: page 0: bad file magic", name);
}

// The largest page size at which descriptor page d lies in the object.
std::uint64_t largest_pagesize(std::uint64_t size, std::int32_t d)
{
    const std::uint64_t descriptor_bytes = descriptor_words_used * 4;
    if (size < descriptor_bytes)
        return 0;
    return std::min<std::uint64_t>((size - descriptor_bytes) / static_cast<std::uint64_t>(d), max_pagesize);
}

} // namespace

unsigned detect_pagesize(const std::int32_t *words, std::uint64_t size, unsigned requested,
                         const std::string &name)
{
    if (size < master_words_used * 4)
        throw error(errc::corrupt, fmt::format("{}: {} bytes is too small for a table", name, size));
    for (int i = 0; i < 4; ++i)
        if (words[i] != file_magic[i])
            throw error(errc::corrupt, no_magic_message(words, size, name));
    std::int32_t d = words[master_descriptor_page];
    if (d < 1)
        throw error(errc::corrupt, fmt::format("{}: page 0: bad descriptor page number {}", name, d));

    std::uint64_t descriptor_bytes = descriptor_words_used * 4;
    if (size < static_cast<std::uint64_t>(d) * min_pagesize + descriptor_bytes)
        throw error(errc::corrupt, fmt::format("{}: {} bytes is too small for a table with its descriptor at "
                                               "page {}",
                                               name, size, d));
    std::string problem;
    if (requested != 0) {
        problem = check_pagesize(words, size, d, requested);
        if (problem.empty())
            return requested;
    }
    unsigned found = 0;
    // The magic first: most page sizes fail there, before any message is made.
    for (unsigned pagesize : pagesizes_with_descriptor_magic(words, size, d)) {
        if (pagesize == requested || !check_pagesize(words, size, d, pagesize).empty())
            continue;
        if (requested != 0)
            throw error(errc::invalid, fmt::format("{}: the table has page size {}, not {}", name,
                                                   pagesize, requested));
        // OCamlnet's re-initialisation with a larger page size leaves the old
        // descriptor in place: refuse to guess which table is the live one.
        if (found != 0)
            throw error(errc::invalid, fmt::format("{}: a valid descriptor page exists for page sizes {} and "
                                                   "{} (a re-initialised table?): give the page size",
                                                   name, found, pagesize));
        found = pagesize;
    }
    if (found != 0)
        return found;
    if (requested != 0)
        throw error(errc::corrupt, fmt::format("{}: {}", name, problem));
    throw error(errc::corrupt, fmt::format("{}: no page size from {} to {} bytes gives a valid "
                                           "descriptor page (not a netshm table?)",
                                           name, min_pagesize, largest_pagesize(size, d)));
}

std::vector<unsigned> pagesizes_with_descriptor_magic(const std::int32_t *words, std::uint64_t size, std::int32_t d)
{
    std::vector<unsigned> found;
    if (d < 1)
        return found;
    const std::uint64_t largest = largest_pagesize(size, d);
    for (unsigned pagesize = min_pagesize; pagesize <= largest; pagesize += 4)
        if (words[static_cast<std::uint64_t>(d) * (pagesize / 4)] == descriptor_magic)
            found.push_back(pagesize);
    return found;
}

} // namespace netshm::core
