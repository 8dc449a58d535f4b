/* Test-only hooks of the C ABI.  Not installed and not exported from
 * libnetshm.so: tests that need them link the static build (netshm_static). */
#ifndef NETSHM_TESTING_H
#define NETSHM_TESTING_H

#include "netshm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes the table grow exactly as OCamlnet does (only the pages one add needs,
 * appended one call at a time) and replace as remove + add, so that the same
 * operations produce byte-identical files.  Returns NETSHM_OK or NETSHM_EINVAL. */
int netshm_testing_mimic_ocamlnet(netshm_table *table);

/* Crash points for the recovery tests of NETSHM_MUTEX_LOCKING.  The engine of
 * this static library counts, per process, every store it makes into shared
 * memory (a word of the table, a run of words such as a value's fragment or
 * a zeroed range, and the lock area's counter, state and intent record).
 * netshm_testing_shared_stores returns the count so far;
 * netshm_testing_kill_before_store(n) makes the process kill itself with
 * SIGKILL just before its n-th store from now (n >= 1), as a crash there
 * would; n = 0 disarms it.  Returns NETSHM_OK, or NETSHM_EINVAL for n < 0. */
long long netshm_testing_shared_stores(void);
int netshm_testing_kill_before_store(long long n);

#ifdef __cplusplus
}
#endif

#endif /* NETSHM_TESTING_H */
