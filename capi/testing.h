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

#ifdef __cplusplus
}
#endif

#endif /* NETSHM_TESTING_H */
