#include "image/walk.hpp"

#include <algorithm>

namespace netshm::core {

image_walk::image_walk(const std::int32_t *words, std::uint64_t bytes, int words_per_page,
                       std::int32_t descriptor_page, interrupted_writes interrupted)
    : interrupted_(interrupted),
      words_(words),
      bytes_(bytes),
      words_per_page_(words_per_page),
      cells_per_page_(layout::cells_per_page(words_per_page)),
      descriptor_page_(descriptor_page)
{
}

integrity_report image_walk::run()
{
    stats_.pagesize = static_cast<std::uint32_t>(words_per_page_) * 4;
    stats_.object_bytes = bytes_;
    if (check_size()) {
        // The master page names the descriptor page, but the table was
        // managed (and is locked) through the one it named then: a master
        // page damaged since is reported, and the walk goes on.
        check_master();
        if (interrupted_ == interrupted_writes::report)
            check_interrupted_write();
        if (read_descriptor()) {
            walk_free_list();
            walk_hash_table();
            check_probing();
            report_lost_pages();
            check_counters();
            check_tail();
        }
    }
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const problem &a, const problem &b) { return a.page < b.page; });
    return {std::move(problems_), stats_};
}

integrity_report check_image(const std::int32_t *words, std::uint64_t bytes, int words_per_page,
                             std::int32_t descriptor_page, interrupted_writes interrupted)
{
    return image_walk(words, bytes, words_per_page, descriptor_page, interrupted).run();
}

} // namespace netshm::core
