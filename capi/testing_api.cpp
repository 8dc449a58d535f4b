// The test-only hooks of capi/testing.h.  Built into the static library the
// tests link (netshm_static), never into libnetshm.so.
#include "boundary.hpp"
#include "handles.hpp"
#include "testing.h"
#include "util/store_hook.hpp"

#include <fmt/format.h>

using netshm::capi::guarded;
using netshm::capi::live;
namespace core = netshm::core;

extern "C" {

int netshm_testing_mimic_ocamlnet(netshm_table *table)
{
    return guarded([&] { live(table, "netshm_testing_mimic_ocamlnet").mimic_ocamlnet(); });
}

long long netshm_testing_shared_stores(void) { return core::testing::shared_stores(); }

int netshm_testing_kill_before_store(long long n)
{
    return guarded([&] {
        if (n < 0)
            core::throw_invalid(fmt::format("netshm_testing_kill_before_store: n is {}", n));
        core::testing::kill_before_store(n);
    });
}

} // extern "C"
