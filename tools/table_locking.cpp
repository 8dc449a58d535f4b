#include "table_locking.hpp"

#include <fmt/format.h>

namespace netshm_tool {

std::optional<netshm::locking> locking_of(const arguments &args)
{
    std::string word = args.value("--locking").value_or("auto");
    if (word == "auto")
        return std::nullopt;
    if (word == "record")
        return netshm::locking::record;
    if (word == "mutex")
        return netshm::locking::mutex;
    if (word == "none")
        return netshm::locking::none;
    throw usage_error(fmt::format("--locking '{}' is not one of auto, record, mutex, none", word));
}

netshm::table manage_with_locking(const arguments &args, netshm::descriptor &descr, unsigned pagesize,
                                  std::optional<long long> init)
{
    if (std::optional<netshm::locking> chosen = locking_of(args))
        return netshm::table::manage(descr, *chosen, pagesize, init);
    try {
        return netshm::table::manage(descr, netshm::locking::record, pagesize, init);
    } catch (const netshm::busy &) {
        // Open with mutex locking in another process: join it.
        return netshm::table::manage(descr, netshm::locking::mutex, pagesize, init);
    }
}

} // namespace netshm_tool
