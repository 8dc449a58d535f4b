/* Holds a write group on a table for the tools suite's --wait test:
   group_holder OBJ record|mutex manages the existing table OBJ ("/name": a
   POSIX object, else a file), begins a write group, prints "held", and keeps
   it until its standard input closes. */
#include <netshm.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: group_holder OBJ record|mutex\n");
        return 2;
    }
    const char *name = argv[1];
    netshm_type type = name[0] == '/' && strchr(name + 1, '/') == NULL ? NETSHM_TYPE_POSIX : NETSHM_TYPE_FILE;
    netshm_locking locking = strcmp(argv[2], "mutex") == 0 ? NETSHM_MUTEX_LOCKING : NETSHM_RECORD_LOCKING;
    netshm_descr *descr = NULL;
    netshm_table *table = NULL;
    int rc = netshm_open(type, name, O_RDWR, 0, &descr);
    if (rc == NETSHM_OK)
        rc = netshm_manage(descr, locking, 0, -1, &table);
    if (rc == NETSHM_OK)
        rc = netshm_group_begin_write(table);
    if (rc != NETSHM_OK) {
        fprintf(stderr, "group_holder: %s\n", netshm_last_error());
        return 2;
    }
    printf("held\n");
    fflush(stdout);
    char byte;
    while (read(0, &byte, 1) > 0) {
    }
    netshm_group_end(table);
    netshm_table_close(table);
    netshm_close(descr);
    return 0;
}
