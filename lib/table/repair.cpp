// repair: the table layer of recovery/repair.hpp.  The exclusive lock is the
// descriptor page's write lock (with mutex locking the writer mutex, the
// sequence counter odd), which every reader and writer of this library and of
// OCamlnet takes first; the object is mapped whole, as check does, since the
// descriptor the table validated last may be what needs repairing.
#include "table/scopes.hpp"

namespace netshm::core {

repair_report table::repair()
{
    operation op(*this);
    check_writable("repair");
    page_lock_guard exclusive(locks_, descriptor_page_, page_lock_guard::for_repair{});
    std::uint64_t bytes = object_->size();
    std::uint64_t page_bytes = static_cast<std::uint64_t>(words_per_page_) * 4;
    std::optional<mapping> whole;
    if (bytes / page_bytes > static_cast<std::uint64_t>(descriptor_page_))
        whole.emplace(object_->fd(), static_cast<std::size_t>(bytes), true, object_->name());
    // Whatever the repair stored, the header refresh() validated is stale.
    header_validated_ = false;
    return repair_image(whole ? whole->words() : nullptr, bytes, words_per_page_, descriptor_page_, object_->name());
}

} // namespace netshm::core
