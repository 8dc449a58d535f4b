/*
 * netshm's side of the live interop test (run_live_interop.py): this library working on
 * a table at the same time as OCamlnet's Netshm processes (live_peer.ml, which takes the
 * same arguments and prints the same lines).
 *
 * Usage: live_peer_c COMMAND KIND NAME LOCKFILE ARG...
 *   KIND NAME LOCKFILE   file PATH -  |  posix /SHM LOCKFILE (netshm_open_posix_lockfile)
 *   init  KEYS PAGESIZE INIT        create the table, bind counters 0..KEYS-1 to count 0
 *   count ID KEYS N EVERY VARIANT   as the OCaml peer, each increment a group { find;
 *                                   replace } of VARIANT: "write" (netshm_group_write),
 *                                   "begin" (netshm_group_begin_write ... netshm_group_end)
 *                                   or "plain" (netshm_group, retried on NETSHM_EDEADLK)
 *   write ID KEYS MILLIS            self-checking patterns and added keys, as the OCaml peer
 *   read  ID KEYS MILLIS            reads and checks them (find_into, find, iter) through
 *                                   a read-only table (O_RDONLY)
 *   dump                            netshm_dump, then every binding sorted by key (O_RDONLY)
 *   unlink                          netshm_unlink / netshm_unlink_posix_lockfile
 * Handshake, alarm and exit status as in live_peer.ml.
 */
#define _POSIX_C_SOURCE 200809L

#include <netshm.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

enum { MAX_PATTERN = 300, MAX_KEYS = 1024, MAX_WRITERS = 128, GROW_EVERY = 16 };

static struct {
    const char *kind, *name, *lockfile;
} object;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("live_peer_c: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(3);
}

static void check(int rc, const char *what) {
    if (rc < 0) fail("%s: %s (%d): %s", what, netshm_strerror(rc), rc, netshm_last_error());
}

static long number(const char *s) {
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0') fail("not a number: %s", s);
    return n;
}

static double milliseconds(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

/* A counter of count n is bound to 1 + n mod 97 words, all equal to n. */
static size_t counter_length(int32_t n) { return 1 + (size_t)(n % 97); }

/* A pattern word w = ID << 24 | seq is written as 1 + w mod 300 words, all equal to w. */
static size_t pattern_length(int32_t w) { return 1 + (size_t)(w % 300); }

/* The value's common word; a failure naming the key and what is wrong. */
static int32_t uniform_word(const char *what, int32_t key, const int32_t *v, size_t n,
                            size_t (*expected_length)(int32_t)) {
    if (n == 0) fail("%s: key %d: empty value", what, key);
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0])
            fail("%s: key %d: torn value of %zu words: word 0 = %d, word %zu = %d", what, key, n,
                 v[0], i, v[i]);
    if (v[0] < 0 || n != expected_length(v[0]))
        fail("%s: key %d: value %d has %zu words, expected %zu", what, key, v[0], n,
             v[0] < 0 ? 0 : expected_length(v[0]));
    return v[0];
}

static netshm_descr *open_object(int oflags) {
    netshm_descr *d = NULL;
    if (strcmp(object.kind, "file") == 0)
        check(netshm_open(NETSHM_TYPE_FILE, object.name, oflags, 0600, &d), "netshm_open");
    else if (strcmp(object.kind, "posix") == 0)
        check(netshm_open_posix_lockfile(object.name, object.lockfile, oflags, 0600, &d),
              "netshm_open_posix_lockfile");
    else
        fail("unknown kind %s", object.kind);
    return d;
}

static netshm_table *manage(netshm_descr *d, unsigned pagesize, long long init) {
    netshm_table *t = NULL;
    check(netshm_manage(d, NETSHM_RECORD_LOCKING, pagesize, init, &t), "netshm_manage");
    return t;
}

static void close_both(netshm_table *t, netshm_descr *d) {
    check(netshm_table_close(t), "netshm_table_close");
    check(netshm_close(d), "netshm_close");
}

static void handshake(void) {
    char line[16];
    puts("ready");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin) || strcmp(line, "go\n") != 0) fail("expected go");
}

static int32_t filled[MAX_PATTERN];

static int replace_filled(netshm_table *t, int32_t key, int32_t w, size_t len) {
    for (size_t i = 0; i < len; i++) filled[i] = w;
    return netshm_replace(t, key, filled, len);
}

static void init(long keys, long pagesize, long hint) {
    netshm_descr *d = open_object(O_RDWR | O_CREAT);
    netshm_table *t = manage(d, (unsigned)pagesize, hint);
    for (int32_t k = 0; k < keys; k++)
        check(replace_filled(t, k, 0, counter_length(0)), "netshm_replace");
    close_both(t, d);
    puts("ok");
}

/* ------------------------------------------------------------------ count */

struct increment_job {
    int32_t id, key, i, every;
    int modified;  /* the group changed the table: it must not be retried */
};

static int increment(netshm_table *t, void *ctx) {
    struct increment_job *inc = ctx;
    int32_t v[MAX_PATTERN];
    size_t len;
    int rc = netshm_find_into(t, inc->key, v, MAX_PATTERN, &len);
    if (rc < 0) return rc;
    int32_t c = uniform_word("count", inc->key, v, len, counter_length);
    rc = replace_filled(t, inc->key, c + 1, counter_length(c + 1));
    if (rc < 0) return rc;
    inc->modified = 1;
    if (inc->every > 0 && inc->i % inc->every == 0) {
        const int32_t extra[2] = {inc->id, inc->i};
        rc = netshm_add(t, 1000000 + 100000 * inc->id + inc->i, extra, 2);
    }
    return rc;
}

static void count(long id, long keys, long n, long every, const char *variant) {
    netshm_descr *d = open_object(O_RDWR);
    netshm_table *t = manage(d, 0, -1);
    handshake();
    long deadlocks = 0;
    for (int32_t i = 0; i < n; i++) {
        struct increment_job inc = {(int32_t)id, (int32_t)((5 * i + 3 * id) % keys), i,
                                (int32_t)every, 0};
        int rc;
        if (strcmp(variant, "write") == 0) {
            rc = netshm_group_write(t, increment, &inc);
        } else if (strcmp(variant, "begin") == 0) {
            check(netshm_group_begin_write(t), "netshm_group_begin_write");
            rc = increment(t, &inc);
            int end = netshm_group_end(t);
            if (rc >= 0) rc = end;
        } else if (strcmp(variant, "plain") == 0) {
            while ((rc = netshm_group(t, increment, &inc)) == NETSHM_EDEADLK && !inc.modified)
                deadlocks++;
        } else {
            fail("unknown variant %s", variant);
        }
        if (rc == NETSHM_EDEADLK && inc.modified)
            fail("count: NETSHM_EDEADLK after the group modified the table (i = %d): %s", i,
                 netshm_last_error());
        check(rc, variant);
    }
    close_both(t, d);
    printf("done id=%ld groups=%ld deadlocks=%ld\n", id, n, deadlocks);
}

/* ------------------------------------------------------- write and read */

static int remove_add(netshm_table *t, void *ctx) {
    const int32_t *key_len = ctx;
    int rc = netshm_remove(t, key_len[0]);
    return rc < 0 ? rc : netshm_add(t, key_len[0], filled, (size_t)key_len[1]);
}

static void write_patterns(long id, long keys, long millis) {
    netshm_descr *d = open_object(O_RDWR);
    netshm_table *t = manage(d, 0, -1);
    handshake();
    double stop = milliseconds() + (double)millis;
    long seq = 0;
    while (milliseconds() < stop) {
        seq++;
        int32_t key = (int32_t)(seq % keys);
        int32_t w = (int32_t)(id << 24 | (seq & 0xFFFFFF));
        size_t len = pattern_length(w);
        /* Every third write is a group { remove; add }: readers must never see it half-done. */
        if (seq % 3 == 0) {
            for (size_t i = 0; i < len; i++) filled[i] = w;
            int32_t key_len[2] = {key, (int32_t)len};
            check(netshm_group_write(t, remove_add, key_len), "netshm_group_write");
        } else {
            check(replace_filled(t, key, w, len), "netshm_replace");
        }
        if (seq % GROW_EVERY == 0)
            check(netshm_add(t, (int32_t)(1000000 + 100000 * id + seq / GROW_EVERY), filled, len),
                  "netshm_add");
    }
    close_both(t, d);
    printf("done id=%ld writes=%ld\n", id, seq);
}

static long seen[MAX_WRITERS];

static void note(int32_t key, const int32_t *v, size_t len) {
    int32_t w = uniform_word("read", key, v, len, pattern_length);
    seen[(w >> 24) % MAX_WRITERS]++;
}

static int note_binding(int32_t key, const int32_t *v, size_t len, void *ctx) {
    (*(long *)ctx)++;
    note(key, v, len);
    return 0;
}

static void read_patterns(long id, long keys, long millis) {
    netshm_descr *d = open_object(O_RDONLY); /* a read-only table: read locks only */
    netshm_table *t = manage(d, 0, -1);
    handshake();
    double stop = milliseconds() + (double)millis;
    long reads = 0;
    while (milliseconds() < stop) {
        reads++;
        int32_t key = (int32_t)(reads % keys);
        if (reads % 50 == 0) {
            long bound = 0;
            check(netshm_iter(t, note_binding, &bound), "netshm_iter");
            if (bound < keys) fail("read: iter saw %ld bindings, expected at least %ld", bound, keys);
        } else if (reads % 2 == 0) {
            int32_t v[MAX_PATTERN];
            size_t len;
            int rc = netshm_find_into(t, key, v, MAX_PATTERN, &len);
            if (rc == NETSHM_ENOTFOUND) fail("read: key %d unbound", key);
            check(rc, "netshm_find_into");
            note(key, v, len);
        } else {
            int32_t *v;
            size_t len;
            int rc = netshm_find(t, key, &v, &len);
            if (rc == NETSHM_ENOTFOUND) fail("read: key %d unbound", key);
            check(rc, "netshm_find");
            note(key, v, len);
            netshm_free(v);
        }
    }
    close_both(t, d);
    printf("done id=%ld reads=%ld seen=", id, reads);
    const char *sep = "";
    for (int w = 0; w < MAX_WRITERS; w++)
        if (seen[w]) {
            printf("%s%d:%ld", sep, w, seen[w]);
            sep = ",";
        }
    putchar('\n');
}

/* ------------------------------------------------------------------ dump */

struct binding {
    int32_t key;
    size_t order, len;
    int32_t *value;
};

struct bindings {
    struct binding *b;
    size_t n, cap;
};

static int collect(int32_t key, const int32_t *v, size_t len, void *ctx) {
    struct bindings *all = ctx;
    if (all->n == all->cap) {
        all->cap = all->cap ? 2 * all->cap : 256;
        all->b = realloc(all->b, all->cap * sizeof *all->b);
        if (!all->b) fail("out of memory");
    }
    int32_t *copy = malloc((len ? len : 1) * sizeof *copy);
    if (!copy) fail("out of memory");
    if (len) memcpy(copy, v, len * sizeof *copy);
    all->b[all->n] = (struct binding){key, all->n, len, copy};
    all->n++;
    return 0;
}

/* By key; a key's bindings keep iter's order (newest first). */
static int by_key(const void *a, const void *b) {
    const struct binding *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void dump(void) {
    netshm_descr *d = open_object(O_RDONLY);
    netshm_table *t = manage(d, 0, -1);
    fflush(stdout);
    check(netshm_dump(t, STDOUT_FILENO), "netshm_dump");
    struct bindings all = {NULL, 0, 0};
    check(netshm_iter(t, collect, &all), "netshm_iter");
    size_t length;
    check(netshm_length(t, &length), "netshm_length");
    if (all.n) qsort(all.b, all.n, sizeof *all.b, by_key);
    printf("readback length=%zu\n", length);
    for (size_t i = 0; i < all.n; i++) {
        printf("%d [%zu]", all.b[i].key, all.b[i].len);
        for (size_t j = 0; j < all.b[i].len; j++) printf(" %d", all.b[i].value[j]);
        putchar('\n');
        free(all.b[i].value);
    }
    free(all.b);
    close_both(t, d);
}

int main(int argc, char **argv) {
    alarm(60);
    if (argc < 5) fail("usage: live_peer_c COMMAND KIND NAME LOCKFILE ARG... (see the source)");
    const char *command = argv[1];
    object.kind = argv[2];
    object.name = argv[3];
    object.lockfile = argv[4];
    int args = argc - 5;
    char **arg = argv + 5;
    if (strcmp(command, "init") == 0 && args == 3) {
        init(number(arg[0]), number(arg[1]), number(arg[2]));
    } else if (strcmp(command, "count") == 0 && args == 5) {
        long keys = number(arg[1]);
        if (keys < 1 || keys > MAX_KEYS) fail("KEYS must be 1..%d", MAX_KEYS);
        count(number(arg[0]), keys, number(arg[2]), number(arg[3]), arg[4]);
    } else if (strcmp(command, "write") == 0 && args == 3) {
        write_patterns(number(arg[0]), number(arg[1]), number(arg[2]));
    } else if (strcmp(command, "read") == 0 && args == 3) {
        read_patterns(number(arg[0]), number(arg[1]), number(arg[2]));
    } else if (strcmp(command, "dump") == 0 && args == 0) {
        dump();
    } else if (strcmp(command, "unlink") == 0 && args == 0) {
        if (strcmp(object.kind, "posix") == 0)
            check(netshm_unlink_posix_lockfile(object.name, object.lockfile),
                  "netshm_unlink_posix_lockfile");
        else
            check(netshm_unlink(NETSHM_TYPE_FILE, object.name), "netshm_unlink");
    } else {
        fail("usage: live_peer_c COMMAND KIND NAME LOCKFILE ARG... (see the source)");
    }
    return fflush(stdout) == 0 ? 0 : 3;
}
