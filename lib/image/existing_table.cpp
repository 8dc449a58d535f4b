#include "image/existing_table.hpp"

#include "format/layout.hpp"
#include "image/detect_pagesize.hpp"
#include "shm/mapping.hpp"
#include "util/error.hpp"

namespace netshm::core {

unsigned detect_table(const shm_object &object, unsigned requested, std::int32_t &descriptor_page)
{
    std::uint64_t size = object.size();
    mapping whole(object.fd(), size, false, object.name());
    unsigned found = detect_pagesize(whole.words(), size, requested, object.name());
    descriptor_page = whole.words()[layout::master_descriptor_page];
    return found;
}

descriptor_candidates find_descriptor_candidates(const shm_object &object)
{
    std::uint64_t size = object.size();
    descriptor_candidates found;
    if (size < layout::master_words_used * 4)
        return found;
    mapping whole(object.fd(), size, false, object.name());
    const std::int32_t d = whole.words()[layout::master_descriptor_page];
    found.pagesizes = pagesizes_with_descriptor_magic(whole.words(), size, d);
    if (!found.pagesizes.empty())
        found.page = d;
    return found;
}

unsigned pagesize_or_default(const shm_object &object, std::uint64_t size)
{
    try {
        mapping whole(object.fd(), size, false, object.name());
        return detect_pagesize(whole.words(), size, 0, object.name());
    } catch (const error &e) {
        if (e.code() != errc::corrupt)
            throw;
        return layout::default_pagesize;
    }
}

} // namespace netshm::core
