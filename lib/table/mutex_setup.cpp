// Joining the processes that use a table with mutex locking
// (doc/locking.md, "Who has the table open"): the presence, and the lock
// area's set-up by the first of them.
#include "table/table.hpp"

#include "core/error.hpp"
#include "table/crash_recovery.hpp"
#include "table/existing_table.hpp"
#include "table/new_table.hpp"

#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

namespace {

// What earlier mutex-locking processes left in the lock area, before it is
// initialised afresh: a write left unfinished is recovered (with the page
// size of its record, or the table's), and a table marked corrupt refused.
void finish_earlier_writes(shm_object &object, lock_area &area, unsigned requested_pagesize)
{
    if (!area.is_initialised())
        return;
    if (area.is_corrupt())
        throw error(errc::corrupt, fmt::format("{}: marked corrupt after a writer died while it changed the "
                                               "table and its recovery found damage; re-initialise the table",
                                               object.name()));
    if (lock_area::stable(area.read_begin()) && !area.in_flight())
        return;
    std::int32_t descriptor_page = 0;
    unsigned pagesize = area.in_flight() ? 0 : detect_table(object, requested_pagesize, descriptor_page);
    recover_interrupted_write(object, area, pagesize);
}

} // namespace

std::shared_ptr<writer_mutex> table::join_mutex_locking(const std::shared_ptr<shm_object> &object,
                                                        unsigned pagesize, long long &init,
                                                        std::optional<presence> &present)
{
    const std::string &name = object->name();
    // The mutex lives in the object: locking it stores there.
    if (!object->writable())
        throw error(errc::read_only, fmt::format("{}: mutex locking needs a descriptor open for writing", name));
    lock_state &state = object->locks();
    std::shared_ptr<writer_mutex> writer;
    bool written = false;
    // No other process has the object open with mutex or record locking
    // while this runs (the setup lock and the presence of the others).
    auto set_up_as_first = [&] {
        std::uint64_t size = object->size();
        if (size == 0 || init >= 0) {
            // Page 0 must exist before the lock area can be mapped.
            unsigned fresh = pagesize != 0 ? pagesize
                             : size == 0   ? default_pagesize
                                           : pagesize_or_default(*object, size);
            int words_per_page = static_cast<int>(fresh / 4);
            write_new_table_image(*object, words_per_page, init_hint(init, words_per_page, name), false);
            written = true;
        }
        std::int32_t descriptor_page = 0;
        if (!written && size < lock_area_end_bytes)
            detect_table(*object, pagesize, descriptor_page);  // no table fits: says why
        writer = writer_mutex::of(state, object->fd());
        if (!written) {
            finish_earlier_writes(*object, writer->area(), pagesize);
            // Never write a lock area into an object that holds no table.
            detect_table(*object, pagesize, descriptor_page);
        }
        writer->area().initialise();
    };
    present.emplace(presence::mutex_locking(object->shared_locks(), set_up_as_first));
    if (written)
        init = -1;
    return writer ? writer : writer_mutex::of(state, object->fd());
}

} // namespace netshm::core
