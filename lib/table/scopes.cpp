// Groups: lock scopes that span operations (doc/locking.md, "Groups").
#include "table/scopes.hpp"

namespace netshm::core {

void table::group_begin(bool write)
{
    operation op(*this);
    if (write)
        check_writable("group_begin_write");
    locks_.begin_group();
    if (!write)
        return;
    try {
        // Released (deferred) at once: the group keeps the lock to its end.
        page_lock_guard descriptor_lock(locks_, descriptor_page_, lock_kind::write);
    } catch (...) {
        locks_.end_group();
        throw;
    }
}

void table::group_end()
{
    // Before the operation waits for the object's mutex, which the group's
    // own thread holds until it ends the group: a call from any other thread
    // would wait for that.  (An inherited table is refused by the operation.)
    if (generation_ == fork_generation())
        locks_.check_group_end();
    operation op(*this, false);
    locks_.end_group();
}

} // namespace netshm::core
