// check and stat: the integrity walk over the whole object, run on a mapping
// of its own so that an object that shrank under the table's mapping is
// reported, not touched.
#include "table/scopes.hpp"

namespace netshm::core {

integrity_report table::check()
{
    operation op(*this);
    page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::read);
    std::uint64_t bytes = object_->size();
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    if (bytes / page_bytes <= static_cast<std::uint64_t>(descriptor_page_))
        return check_image(nullptr, bytes, words_per_page_, descriptor_page_);
    mapping whole(object_->fd(), static_cast<std::size_t>(bytes), false, object_->name());
    return check_image(whole.words(), bytes, words_per_page_, descriptor_page_);
}

table_stats table::stat()
{
    integrity_report report = check();
    if (!report.problems.empty())
        throw error(errc::corrupt, fmt::format("{}: {}", object_->name(), report.problems.front().message));
    return report.stats;
}

} // namespace netshm::core
