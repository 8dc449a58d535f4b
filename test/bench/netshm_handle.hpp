// A netshm table opened through the public C API for the benchmark programs:
// the object opened and managed (page size: the table's, or 256 when new),
// closed with its descriptor; failures thrown as bench::failure.
#pragma once

#include "bench_common.hpp"

#include <netshm.h>

namespace bench {

inline void check_netshm(int rc, const char *what)
{
    if (rc != NETSHM_OK)
        throw failure(std::string(what) + ": " + netshm_strerror(rc) + ": " + netshm_last_error());
}

class netshm_handle {
public:
    netshm_handle(netshm_type type, const std::string &name, int oflags, netshm_locking locking)
    {
        check_netshm(netshm_open(type, name.c_str(), oflags, 0600, &descr_), "netshm_open");
        int rc = netshm_manage(descr_, locking, 0, -1, &table_);
        if (rc != NETSHM_OK) {
            netshm_close(descr_);
            check_netshm(rc, "netshm_manage");
        }
    }
    ~netshm_handle()
    {
        netshm_table_close(table_);
        netshm_close(descr_);
    }
    netshm_handle(const netshm_handle &) = delete;
    netshm_handle &operator=(const netshm_handle &) = delete;

    netshm_table *table() const { return table_; }

private:
    netshm_descr *descr_ = nullptr;
    netshm_table *table_ = nullptr;
};

} // namespace bench
