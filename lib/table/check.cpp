// check and stat: the integrity walk over the whole object, run on a mapping
// of its own so that an object that shrank under the table's mapping is
// reported, not touched.  Without the writer mutex the walk runs on a
// private copy of the object, taken optimistically: objects only grow while
// a table is open on them, so the bytes measured stay mapped.
#include "table/scopes.hpp"

#include <vector>

namespace netshm::core {

integrity_report table::check()
{
    operation op(*this);
    if (reads_without_mutex())
        return check_private_copy();
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    std::uint64_t bytes = object_->size();
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    if (bytes / page_bytes <= static_cast<std::uint64_t>(descriptor_page_))
        return check_image(nullptr, bytes, words_per_page_, descriptor_page_);
    mapping whole(object_->fd(), static_cast<std::size_t>(bytes), false, object_->name());
    return check_image(whole.words(), bytes, words_per_page_, descriptor_page_);
}

integrity_report table::check_private_copy()
{
    std::uint64_t bytes = 0;
    std::vector<std::int32_t> image;
    read_optimistically([&] {
        bytes = object_->size();
        image.resize(static_cast<std::size_t>(bytes / 4));
        if (bytes / 4 == 0)
            return;
        mapping whole(object_->fd(), static_cast<std::size_t>(bytes), false, object_->name());
        shared::copy_out(image.data(), whole.words(), image.size());
    });
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    if (bytes / page_bytes <= static_cast<std::uint64_t>(descriptor_page_))
        return check_image(nullptr, bytes, words_per_page_, descriptor_page_);
    return check_image(image.data(), bytes, words_per_page_, descriptor_page_);
}

table_stats table::stat()
{
    integrity_report report = check();
    if (!report.problems.empty())
        throw error(errc::corrupt, fmt::format("{}: {}", object_->name(), report.problems.front().message));
    return report.stats;
}

} // namespace netshm::core
