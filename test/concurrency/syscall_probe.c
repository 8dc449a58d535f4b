/*
 * The program syscall_counts.py runs under `strace -f -c -e trace=fcntl,lseek`
 * to count the system calls of each table operation.
 *
 *   syscall_probe setup PATH
 *       creates the table the measurements use (page size 256): keys 0..199
 *       with 4-word values, key 1000 with one binding, keys 5000..5099 to
 *       remove, key 2000 with a value of 5000 words (84 pages).
 *   syscall_probe OPERATION PATH COUNT outside|inside
 *       opens and manages PATH, then runs OPERATION COUNT times: outside a
 *       group, or inside one plain group after one warm-up call that takes
 *       the operation's locks.  Running it with COUNT 0 and COUNT N gives the
 *       cost of one operation as the difference of the two, divided by N.
 *
 * Exit status 0 on success, 1 with a message if an operation failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <netshm.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static netshm_table *table;
static int dev_null = -1;
static int step; /* distinct keys for add and remove */
static int32_t large_buffer[5000]; /* find_into_large: the 5000-word value */

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", what, netshm_strerror(rc), netshm_last_error());
        exit(1);
    }
}

static int value_fn(const int32_t *value, size_t len, void *ctx)
{
    (void)value, (void)len, (void)ctx;
    return 0;
}

static int binding_fn(int32_t key, const int32_t *value, size_t len, void *ctx)
{
    (void)key, (void)value, (void)len, (void)ctx;
    return 0;
}

static int key_fn(int32_t key, void *ctx)
{
    (void)key, (void)ctx;
    return 0;
}

static int block_fn(const int32_t *frag, size_t len, void *ctx)
{
    (void)frag, (void)len, (void)ctx;
    return NETSHM_CONTINUE;
}

static int write_block_fn(int32_t *frag, size_t len, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < len; ++i)
        frag[i] += 1;
    return NETSHM_CONTINUE;
}

static int empty_group(netshm_table *t, void *ctx)
{
    (void)t, (void)ctx;
    return 0;
}

static int increment(netshm_table *t, void *ctx)
{
    int32_t value[4];
    size_t len = 0;
    (void)ctx;
    int rc = netshm_find_into(t, 1, value, 4, &len);
    if (rc != NETSHM_OK)
        return rc;
    value[0] += 1;
    return netshm_replace(t, 1, value, len);
}

static void run(const char *operation)
{
    const int32_t small[4] = {1, 2, 3, 4};
    int32_t buffer[4];
    int32_t *copy = NULL;
    int32_t *base = NULL;
    size_t len = 0, pages = 0, words = 0;

    if (strcmp(operation, "add") == 0) {
        check(netshm_add(table, 7000 + step++, small, 4), operation);
    } else if (strcmp(operation, "replace") == 0) {
        check(netshm_replace(table, 1, small, 4), operation);
    } else if (strcmp(operation, "remove") == 0) {
        check(netshm_remove(table, 5000 + step++), operation);
    } else if (strcmp(operation, "mem") == 0) {
        check(netshm_mem(table, 1), operation);
    } else if (strcmp(operation, "find") == 0) {
        check(netshm_find(table, 1, &copy, &len), operation);
        netshm_free(copy);
    } else if (strcmp(operation, "find_large") == 0) {
        check(netshm_find(table, 2000, &copy, &len), operation);
        netshm_free(copy);
    } else if (strcmp(operation, "find_into_large") == 0) {
        check(netshm_find_into(table, 2000, large_buffer, 5000, &len), operation);
    } else if (strcmp(operation, "find_into") == 0) {
        check(netshm_find_into(table, 1, buffer, 4, &len), operation);
    } else if (strcmp(operation, "find_all") == 0) {
        check(netshm_find_all(table, 1000, value_fn, NULL), operation);
    } else if (strcmp(operation, "iter") == 0) {
        check(netshm_iter(table, binding_fn, NULL), operation);
    } else if (strcmp(operation, "iter_keys") == 0) {
        check(netshm_iter_keys(table, key_fn, NULL), operation);
    } else if (strcmp(operation, "length") == 0) {
        check(netshm_length(table, &len), operation);
    } else if (strcmp(operation, "find_blocks") == 0) {
        check(netshm_find_blocks(table, 1000, block_fn, NULL), operation);
    } else if (strcmp(operation, "write_blocks") == 0) {
        check(netshm_write_blocks(table, 0, 1000, write_block_fn, NULL), operation);
    } else if (strcmp(operation, "group") == 0) {
        check(netshm_group(table, empty_group, NULL), operation);
    } else if (strcmp(operation, "group_write") == 0) {
        check(netshm_group_write(table, empty_group, NULL), operation);
    } else if (strcmp(operation, "group_find_replace") == 0) {
        check(netshm_group(table, increment, NULL), operation);
    } else if (strcmp(operation, "group_write_find_replace") == 0) {
        check(netshm_group_write(table, increment, NULL), operation);
    } else if (strcmp(operation, "dump") == 0) {
        check(netshm_dump(table, dev_null), operation);
    } else if (strcmp(operation, "memory") == 0) {
        check(netshm_memory(table, &base, &pages, &words), operation);
    } else {
        fprintf(stderr, "unknown operation %s\n", operation);
        exit(2);
    }
}

static void setup(const char *path)
{
    netshm_descr *descr = NULL;
    const int32_t small[4] = {1, 2, 3, 4};
    check(netshm_open(NETSHM_TYPE_FILE, path, O_RDWR | O_CREAT | O_TRUNC, 0600, &descr), "open");
    check(netshm_manage(descr, NETSHM_RECORD_LOCKING, 256, 1000, &table), "manage");
    for (int32_t key = 0; key < 200; ++key)
        check(netshm_add(table, key, small, 4), "add");
    check(netshm_add(table, 1000, small, 4), "add");
    for (int32_t key = 5000; key < 5100; ++key)
        check(netshm_add(table, key, small, 4), "add");
    int32_t *large = calloc(5000, sizeof *large);
    if (large == NULL)
        exit(1);
    check(netshm_add(table, 2000, large, 5000), "add");
    free(large);
    check(netshm_table_close(table), "table_close");
    check(netshm_close(descr), "close");
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "setup") == 0) {
        setup(argv[2]);
        return 0;
    }
    if (argc != 5 || (strcmp(argv[4], "outside") != 0 && strcmp(argv[4], "inside") != 0)) {
        fprintf(stderr, "usage: %s setup PATH | %s OPERATION PATH COUNT outside|inside\n", argv[0], argv[0]);
        return 2;
    }
    const char *operation = argv[1];
    const int count = atoi(argv[3]);
    const int inside = strcmp(argv[4], "inside") == 0;
    netshm_descr *descr = NULL;
    dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    /* NETSHM_PROBE_LOCKING=mutex: the operations of mutex_syscalls.py. */
    const char *method = getenv("NETSHM_PROBE_LOCKING");
    const netshm_locking locking =
        method != NULL && strcmp(method, "mutex") == 0 ? NETSHM_MUTEX_LOCKING : NETSHM_RECORD_LOCKING;
    check(netshm_open(NETSHM_TYPE_FILE, argv[2], O_RDWR, 0, &descr), "open");
    check(netshm_manage(descr, locking, 0, -1, &table), "manage");
    if (inside) {
        check(netshm_group_begin(table), "group_begin");
        run(operation);
    }
    for (int i = 0; i < count; ++i)
        run(operation);
    if (inside)
        check(netshm_group_end(table), "group_end");
    check(netshm_table_close(table), "table_close");
    check(netshm_close(descr), "close");
    return 0;
}
