/* A library user's C program, built against an installed netshm or netshm as
 * a Meson subproject: creates, names and removes a POSIX object. */
#include <netshm.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    netshm_descr *descr = NULL;
    char name[64];
    int rc;

    if (strcmp(netshm_version(), NETSHM_VERSION_STRING) != 0) {
        fprintf(stderr, "header %s, library %s\n", NETSHM_VERSION_STRING, netshm_version());
        return 1;
    }
    rc = netshm_create_unique(NETSHM_TYPE_POSIX, "/netshm-consumer-XXXXXX", 0600, &descr);
    if (rc != NETSHM_OK) {
        fprintf(stderr, "create_unique: %s\n", netshm_last_error());
        return 1;
    }
    snprintf(name, sizeof name, "%s", netshm_name(descr));
    rc = netshm_close(descr);
    if (rc == NETSHM_OK)
        rc = netshm_unlink(NETSHM_TYPE_POSIX, name);
    if (rc != NETSHM_OK) {
        fprintf(stderr, "%s\n", netshm_last_error());
        return 1;
    }
    printf("C consumer, netshm %s: created and removed %s\n", netshm_version(), name);
    return 0;
}
