// The integrity check's first steps: the object's size, the master page and
// the descriptor page, by the rules of format/descriptor.hpp that opening a
// table applies too.  Damage here makes the rest of the table unwalkable,
// except for counters out of their range, which are reported and left out of
// the final comparisons.
#include "image/walk.hpp"

#include "format/lock_area_layout.hpp"

#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

bool image_walk::check_size()
{
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    if (words_ != nullptr && bytes_ / page_bytes > static_cast<std::uint64_t>(descriptor_page_))
        return true;
    report(problem_kind::object_size, -1,
           fmt::format("the object's {} bytes do not hold page 0 and descriptor page {} (pages of {} bytes)", bytes_,
                       descriptor_page_, page_bytes));
    return false;
}

void image_walk::check_master()
{
    for (int i = 0; i < 4; ++i) {
        if (std::int32_t magic = load(0, i); magic != file_magic[i]) {
            report(problem_kind::master, 0,
                   fmt::format("page 0: bad master magic: word {} is {:#010x}, expected {:#010x}", i, bits(magic),
                               bits(file_magic[i])));
            break;
        }
    }
    if (std::int32_t d = load(0, master_descriptor_page); d != descriptor_page_)
        report(problem_kind::master, 0,
               fmt::format("page 0: the descriptor page pointer is {}, but the table was opened with descriptor page {}",
                           d, descriptor_page_));
}

void image_walk::check_interrupted_write()
{
    // Every page holds the lock area's 40 words (static_assert in the layout).
    std::int32_t op = load(0, la_intent_op);
    if (op != static_cast<std::int32_t>(intent_op::none)) {
        const char *name = op > 0 && op <= intent_op_last ? operation_name(static_cast<intent_op>(op))
                                                          : "an unknown operation";
        report(problem_kind::descriptor, 0,
               fmt::format("page 0: a writer died during {} of key {} (its intent record is still there), and "
                           "nobody recovered the table since: the next writer or opener using this library with "
                           "record or mutex locking recovers it",
                           name, load(0, la_intent_key)));
    }
    if (load(0, la_state) != lock_area_consistent)
        report(problem_kind::descriptor, 0,
               "page 0: marked corrupt: a writer died while it changed the table, and its recovery found damage "
               "it could not repair");
}

bool image_walk::read_descriptor()
{
    const std::int32_t d = descriptor_page_;
    descriptor_words words;
    load_descriptor(words_ + static_cast<std::int64_t>(d) * words_per_page_, words);
    // The object's size is a problem of the object as a whole.
    auto fault = [this, d](problem_kind kind, std::string message) {
        report(kind, kind == problem_kind::object_size ? -1 : d, std::move(message));
    };
    const std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    if (!read_structure(words, d, static_cast<std::int64_t>(bytes_ / page_bytes), cells_per_page_, header_, fault))
        return false;
    const unsigned faults = read_counters(words, header_, fault);
    if ((faults & claimed_cells_fault) == 0)
        claimed_cells_ = header_.claimed_cells;
    if ((faults & bindings_fault) == 0)
        bindings_ = header_.bindings;
    if ((faults & free_count_fault) == 0)
        free_count_ = header_.free_count;
    // A free list head read_counters refused is not walked.
    free_head_ = (faults & free_head_fault) == 0 ? header_.free_head : 0;

    stats_.total_pages = static_cast<std::uint64_t>(header_.total_pages);
    stats_.hash_cells = static_cast<std::uint64_t>(header_.hash_size);
    stats_.claimed_cells = static_cast<std::uint64_t>(claimed_cells_.value_or(0));
    stats_.extents = static_cast<std::uint64_t>(header_.extent_count);
    owners_.emplace(header_.total_pages);
    owners_->claim_structure(header_);
    for (int i = 0; i < header_.extent_count; ++i)
        stats_.hash_pages += static_cast<std::uint64_t>(header_.extents[static_cast<std::size_t>(i)].pages);
    return true;
}

} // namespace netshm::core
