// Joining the processes that use a table with mutex locking
// (doc/locking.md, "Who has the table open"): the presence, and the lock
// area's set-up by the first of them.
#include "table/table.hpp"

#include "core/error.hpp"
#include "table/existing_table.hpp"

#include <fmt/format.h>

namespace netshm::core {

using namespace layout;

namespace {

const char *operation_name(intent_op op)
{
    switch (op) {
    case intent_op::none: return "none";
    case intent_op::add: return "add";
    case intent_op::replace: return "replace";
    case intent_op::remove: return "remove";
    case intent_op::resize_rehash: return "hash resize (rehash)";
    case intent_op::resize_copy: return "hash resize (copy)";
    case intent_op::reinitialise: return "re-initialisation";
    }
    return "unknown";
}

// What a lock area left by earlier mutex-locking processes says must not be
// papered over by initialising it afresh.
void refuse_unfinished(const lock_area &area, const std::string &name)
{
    if (!area.is_initialised())
        return;
    intent in_flight = area.read_intent();
    if (in_flight.op != intent_op::none)
        throw error(errc::corrupt, fmt::format("{}: an operation ({} of key {}) was in flight when its writer "
                                               "died; crash recovery is not implemented yet: re-initialise the "
                                               "table",
                                               name, operation_name(in_flight.op), in_flight.key));
    if (area.is_corrupt())
        throw error(errc::corrupt, fmt::format("{}: marked corrupt after a writer died while it changed the "
                                               "table; re-initialise the table",
                                               name));
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
            table(object, locking_method::none, static_cast<int>(fresh / 4), nullptr).write_new_table(init);
            written = true;
        } else {
            // Never write a lock area into an object that holds no table.
            std::int32_t descriptor_page = 0;
            detect_table(*object, pagesize, descriptor_page);
        }
        writer = writer_mutex::of(state, object->fd());
        if (!written)
            refuse_unfinished(writer->area(), name);
        writer->area().initialise();
    };
    present.emplace(presence::mutex_locking(object->shared_locks(), set_up_as_first));
    if (written)
        init = -1;
    return writer ? writer : writer_mutex::of(state, object->fd());
}

} // namespace netshm::core
