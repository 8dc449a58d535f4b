/* The C side of the interop test: runs an operation script (grammar in script_gen.py) on a
 * table through netshm's C API and prints the same transcript as the OCaml helper.
 *
 * Usage: netshm_interop_driver [--first-line N] [--mimic | --readonly] [--posix LOCKFILE]
 *                              FILE PAGESIZE INIT SCRIPT
 *        netshm_interop_driver --check FILE PAGESIZE
 *   FILE      a file table, created if missing; with --posix, a POSIX object ("/name")
 *             whose record locks live on LOCKFILE (netshm_open_posix_lockfile)
 *   PAGESIZE  passed to netshm_manage (0: detect)
 *   INIT      an init hint, or "none" (init < 0)
 *   --mimic     grow and replace as OCamlnet does (netshm_testing_mimic_ocamlnet)
 *   --readonly  open the file O_RDONLY: a read-only table (for scripts that only read)
 *   --check     runs netshm_check and netshm_stat on the file table (read-only) instead of
 *               a script: prints "problem KIND PAGE MESSAGE" per problem, then
 *               "stats NAME=VALUE ..." or "stats error MESSAGE"
 * Exit status: 0 when the whole script (or the check) ran, 2 on an unexpected failure. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netshm.h"
#include "testing.h"

/* What a callback returns to fail on purpose: below the library's own codes. */
#define USER_ERROR (-100)

static long current_line;

static void fatal(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    printf("FATAL line %ld: ", current_line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(2);
}

static void check(int rc, const char *what)
{
    if (rc < 0)
        fatal("%s: %s (%s)", what, netshm_strerror(rc), netshm_last_error());
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        fatal("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        fatal("out of memory");
    return p;
}

static int32_t parse_int32(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < INT32_MIN || v > INT32_MAX)
        fatal("bad int32 '%s'", s);
    return (int32_t)v;
}

static void print_value(const int32_t *v, size_t n)
{
    printf("[%zu]", n);
    for (size_t i = 0; i < n; i++)
        printf(" %" PRId32, v[i]);
}

/* ------------------------------------------------------------ block actions */

struct item {
    char letter;
    long idx;
    int32_t value;
};

struct action {
    struct item *items;
    size_t n;
};

static struct action parse_action(const char *s)
{
    struct action a = {NULL, 0};
    if (strcmp(s, "n") == 0)
        return a;
    size_t len = strlen(s);
    a.items = xmalloc(len * sizeof *a.items);
    const char *p = s;
    while (*p) {
        struct item it = {*p++, 0, 0};
        char *end;
        it.idx = strtol(p, &end, 10);
        if (end == p)
            fatal("bad action '%s'", s);
        p = end;
        if (it.letter == 'w') {
            if (*p != ':')
                fatal("bad action '%s'", s);
            long long v = strtoll(p + 1, &end, 10);
            if (end == p + 1 || v < INT32_MIN || v > INT32_MAX)
                fatal("bad action '%s'", s);
            it.value = (int32_t)v;
            p = end;
        }
        a.items[a.n++] = it;
    }
    return a;
}

struct block_state {
    netshm_table *table;
    int32_t key;
    struct action *actions;
    size_t n_actions;
    bool quiet;       /* wblocks_noann: report only the result */
    size_t binding;   /* index of the binding being visited */
    long callback;    /* callback index within the binding */
    size_t offset;    /* word offset of the current fragment */
};

/* Prints the newest binding of key: through netshm_find on even script lines, through
 * netshm_find_into on odd ones (into a 4-word buffer, and when that is too small, into
 * one of the length it reports). */
static void print_find(netshm_table *t, int32_t key)
{
    int32_t small[4], *v = small;
    size_t n;
    int rc = current_line % 2 ? netshm_find_into(t, key, small, 4, &n) : netshm_find(t, key, &v, &n);
    if (rc == NETSHM_ETOOBIG) {
        size_t needed = n;
        if (needed <= 4)
            fatal("find_into: too big for 4 words but needs %zu", needed);
        v = xmalloc(needed * sizeof *v);
        check(netshm_find_into(t, key, v, needed, &n), "find_into");
        if (n != needed)
            fatal("find_into: needed %zu words, then found %zu", needed, n);
    }
    if (rc == NETSHM_ENOTFOUND) {
        printf("notfound");
        return;
    }
    if (rc != NETSHM_ETOOBIG)
        check(rc, current_line % 2 ? "find_into" : "find");
    print_value(v, n);
    if (v != small && current_line % 2)
        free(v);
    else if (v != small)
        netshm_free(v);
}

static void next_binding(struct block_state *st)
{
    st->binding++;
    st->callback = 0;
    st->offset = 0;
}

/* One callback of find_blocks / write_blocks: frag is NULL at the end of a binding. */
static int at_callback(struct block_state *st, int32_t *frag, size_t len)
{
    static const struct action none = {NULL, 0};
    const struct action *a = st->binding < st->n_actions ? &st->actions[st->binding] : &none;
    if (frag) {
        if (!st->quiet) {
            printf("%ld  frag ", current_line);
            print_value(frag, len);
            printf("\n");
        }
        for (size_t i = 0; i < a->n; i++) {
            const struct item *it = &a->items[i];
            if (it->letter == 'w' && it->idx >= 0 && (size_t)it->idx >= st->offset &&
                (size_t)it->idx < st->offset + len)
                frag[(size_t)it->idx - st->offset] = it->value;
        }
        st->offset += len;
    } else if (!st->quiet) {
        printf("%ld  end\n", current_line);
    }
    int answer = NETSHM_CONTINUE;
    for (size_t i = 0; i < a->n; i++) {
        const struct item *it = &a->items[i];
        if (it->idx != st->callback)
            continue;
        switch (it->letter) {
        case 'f':
            printf("%ld  find = ", current_line);
            print_find(st->table, st->key);
            printf("\n");
            break;
        case 'm': {
            int rc = netshm_add(st->table, st->key, NULL, 0);
            if (rc == NETSHM_ESELFLOCKED)
                printf("%ld  modify refused\n", current_line);
            else if (rc == 0)
                printf("%ld  modify allowed\n", current_line);
            else
                printf("%ld  modify error %d (%s)\n", current_line, rc, netshm_last_error());
            break;
        }
        case 'r': answer = NETSHM_REMOVE_BINDING; break;
        case 's': answer = NETSHM_NEXT; break;
        case 'b': answer = NETSHM_BREAK; break;
        case 'e': answer = USER_ERROR; break;
        default: break;
        }
    }
    st->callback++;
    if (answer == NETSHM_NEXT || (!frag && (answer == NETSHM_CONTINUE ||
                                            answer == NETSHM_REMOVE_BINDING)))
        next_binding(st);
    return answer;
}

static int read_block(const int32_t *frag, size_t len, void *ctx)
{
    /* read actions never write: 'w' items are not allowed in rblocks scripts */
    return at_callback(ctx, (int32_t *)frag, len);
}

static int write_block(int32_t *frag, size_t len, void *ctx)
{
    return at_callback(ctx, frag, len);
}

static void run_blocks(netshm_table *t, const char *op, int32_t key, char **acts, size_t n_acts)
{
    struct block_state st = {t, key, xmalloc(n_acts * sizeof(struct action)), n_acts,
                             strcmp(op, "wblocks_noann") == 0, 0, 0, 0};
    for (size_t i = 0; i < n_acts; i++)
        st.actions[i] = parse_action(acts[i]);
    printf("%ld %s %" PRId32 "\n", current_line, op, key);
    int rc;
    if (strcmp(op, "rblocks") == 0)
        rc = netshm_find_blocks(t, key, read_block, &st);
    else
        rc = netshm_write_blocks(t, strcmp(op, "wblocks") == 0 ? NETSHM_OP_REMOVE_BINDING : 0u,
                                 key, write_block, &st);
    if (rc == 0)
        printf("%ld result ok\n", current_line);
    else if (rc == USER_ERROR)
        printf("%ld result error user\n", current_line);
    else if (rc == NETSHM_EINVAL && st.quiet)
        printf("%ld result error unannounced\n", current_line);
    else
        printf("%ld result error %d %s (%s)\n", current_line, rc, netshm_strerror(rc),
               netshm_last_error());
    for (size_t i = 0; i < n_acts; i++)
        free(st.actions[i].items);
    free(st.actions);
}

/* ------------------------------------------------------------------- dumps */

struct binding {
    int32_t key;
    size_t seq;   /* order of presentation, to keep a key's bindings newest first */
    int32_t *value;
    size_t len;
};

struct bindings {
    struct binding *v;
    size_t n, cap;
};

static void push_binding(struct bindings *b, int32_t key, const int32_t *value, size_t len)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 256;
        b->v = xrealloc(b->v, b->cap * sizeof *b->v);
    }
    struct binding *x = &b->v[b->n];
    x->key = key;
    x->seq = b->n;
    x->value = xmalloc(len * sizeof(int32_t));
    if (len)
        memcpy(x->value, value, len * sizeof(int32_t));
    x->len = len;
    b->n++;
}

static void free_bindings(struct bindings *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->v[i].value);
    free(b->v);
}

static int by_key_then_seq(const void *pa, const void *pb)
{
    const struct binding *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int collect_binding(int32_t key, const int32_t *value, size_t len, void *ctx)
{
    push_binding(ctx, key, value, len);
    return 0;
}

static int collect_value(const int32_t *value, size_t len, void *ctx)
{
    push_binding(ctx, 0, value, len);
    return 0;
}

/* Prints " K: [n] v ... ; [m] v ..." lines for bindings sorted by key then seq. */
static void print_grouped(const struct bindings *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (i == 0 || b->v[i].key != b->v[i - 1].key)
            printf("%s%ld  %" PRId32 ": ", i ? "\n" : "", current_line, b->v[i].key);
        else
            printf(" ; ");
        print_value(b->v[i].value, b->v[i].len);
    }
    if (b->n)
        printf("\n");
}

static size_t table_length(netshm_table *t)
{
    size_t n;
    check(netshm_length(t, &n), "length");
    return n;
}

static void dump_iter(netshm_table *t)
{
    struct bindings b = {NULL, 0, 0};
    check(netshm_iter(t, collect_binding, &b), "iter");
    qsort(b.v, b.n, sizeof *b.v, by_key_then_seq);
    printf("%ld dump length=%zu\n", current_line, table_length(t));
    print_grouped(&b);
    free_bindings(&b);
}

struct keys {
    int32_t *v;
    size_t n, cap;
};

static int collect_key(int32_t key, void *ctx)
{
    struct keys *k = ctx;
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 256;
        k->v = xrealloc(k->v, k->cap * sizeof *k->v);
    }
    k->v[k->n++] = key;
    return 0;
}

static int by_int32(const void *pa, const void *pb)
{
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

static void dump_keys(netshm_table *t)
{
    struct keys k = {NULL, 0, 0};
    check(netshm_iter_keys(t, collect_key, &k), "iter_keys");
    qsort(k.v, k.n, sizeof *k.v, by_int32);
    printf("%ld dumpk length=%zu\n", current_line, table_length(t));
    for (size_t i = 0; i < k.n; i++) {
        struct bindings b = {NULL, 0, 0};
        check(netshm_find_all(t, k.v[i], collect_value, &b), "find_all");
        printf("%ld  %" PRId32 ": ", current_line, k.v[i]);
        for (size_t j = 0; j < b.n; j++) {
            if (j)
                printf(" ; ");
            print_value(b.v[j].value, b.v[j].len);
        }
        printf("\n");
        free_bindings(&b);
    }
    free(k.v);
}

/* Reads and a modification from inside the callbacks of iter and iter_keys (at their first
 * call): reading is allowed, modifying is refused. */
struct probe {
    netshm_table *table;
    int32_t key;
    const char *what;
    bool done;
};

static void probe_inside(struct probe *p)
{
    if (p->done)
        return;
    p->done = true;
    printf("%ld  %s: find = ", current_line, p->what);
    print_find(p->table, p->key);
    printf("\n");
    int rc = netshm_add(p->table, p->key, NULL, 0);
    if (rc == NETSHM_ESELFLOCKED)
        printf("%ld  %s: modify refused\n", current_line, p->what);
    else if (rc == 0)
        printf("%ld  %s: modify allowed\n", current_line, p->what);
    else
        printf("%ld  %s: modify error %d (%s)\n", current_line, p->what, rc, netshm_last_error());
}

static int probe_binding(int32_t key, const int32_t *value, size_t len, void *ctx)
{
    (void)key, (void)value, (void)len;
    probe_inside(ctx);
    return 0;
}

static int probe_key(int32_t key, void *ctx)
{
    (void)key;
    probe_inside(ctx);
    return 0;
}

static void probe(netshm_table *t, int32_t key)
{
    printf("%ld probe %" PRId32 "\n", current_line, key);
    struct probe p = {t, key, "iter", false};
    check(netshm_iter(t, probe_binding, &p), "iter");
    p = (struct probe){t, key, "iter_keys", false};
    check(netshm_iter_keys(t, probe_key, &p), "iter_keys");
}

/* Netshm's documented read-modify-write idiom, group { find; replace }, retried when the
 * kernel reports a deadlock (two processes both upgrading their read locks): the failing
 * call returns, ending the group releases the locks kept. */
static void increment(netshm_table *t, int32_t key)
{
    for (;;) {
        check(netshm_group_begin(t), "group_begin");
        int32_t *value = NULL, old = 0;
        size_t len = 0;
        int rc = netshm_find(t, key, &value, &len);
        if (rc == 0 && len > 0)
            old = value[0];
        netshm_free(value);
        if (rc == 0 || rc == NETSHM_ENOTFOUND) {
            int32_t next = (int32_t)((uint32_t)old + 1u);
            rc = netshm_replace(t, key, &next, 1);
        }
        int end = netshm_group_end(t);
        if (rc == NETSHM_EDEADLK)
            continue;
        check(rc, "increment");
        check(end, "group_end");
        return;
    }
}

/* --------------------------------------------------------------- the check */

static int print_problem(const netshm_problem *problem, void *ctx)
{
    (void)ctx;
    printf("problem %d %" PRId32 " %s\n", (int)problem->kind, problem->page, problem->message);
    return 0;
}

static int check_file(const char *file, unsigned pagesize)
{
    netshm_descr *d;
    netshm_table *t;
    netshm_stats s;
    check(netshm_open(NETSHM_TYPE_FILE, file, O_RDONLY, 0, &d), "open");
    check(netshm_manage(d, NETSHM_RECORD_LOCKING, pagesize, -1, &t), "manage");
    check(netshm_check(t, print_problem, NULL), "check");
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    if (netshm_stat(t, &s) != NETSHM_OK) {
        printf("stats error %s\n", netshm_last_error());
    } else {
        printf("stats pagesize=%" PRIu32 " object_bytes=%" PRIu64 " total_pages=%" PRIu64
               " free_pages=%" PRIu64 " hash_pages=%" PRIu64 " content_pages=%" PRIu64
               " extents=%" PRIu64 " hash_cells=%" PRIu64 " claimed_cells=%" PRIu64
               " bindings=%" PRIu64 " distinct_keys=%" PRIu64 " value_bytes=%" PRIu64
               " longest_probe=%" PRIu64 "\n",
               s.pagesize, s.object_bytes, s.total_pages, s.free_pages, s.hash_pages,
               s.content_pages, s.extents, s.hash_cells, s.claimed_cells, s.bindings,
               s.distinct_keys, s.value_bytes, s.longest_probe);
    }
    check(netshm_table_close(t), "table_close");
    check(netshm_close(d), "close");
    fflush(stdout);
    return 0;
}

/* -------------------------------------------------------------- the script */

static void run_op(netshm_table *t, char **w, size_t n)
{
    const char *op = w[0];
    if ((strcmp(op, "add") == 0 || strcmp(op, "replace") == 0) && n >= 2) {
        int32_t key = parse_int32(w[1]);
        size_t len = n - 2;
        int32_t *v = xmalloc(len * sizeof *v);
        for (size_t i = 0; i < len; i++)
            v[i] = parse_int32(w[i + 2]);
        check(op[0] == 'a' ? netshm_add(t, key, v, len) : netshm_replace(t, key, v, len), op);
        free(v);
    } else if (strcmp(op, "remove") == 0 && n == 2) {
        check(netshm_remove(t, parse_int32(w[1])), op);
    } else if (strcmp(op, "find") == 0 && n == 2) {
        printf("%ld find %s = ", current_line, w[1]);
        print_find(t, parse_int32(w[1]));
        printf("\n");
    } else if (strcmp(op, "mem") == 0 && n == 2) {
        int rc = netshm_mem(t, parse_int32(w[1]));
        check(rc, op);
        printf("%ld mem %s = %s\n", current_line, w[1], rc ? "true" : "false");
    } else if (strcmp(op, "findall") == 0 && n == 2) {
        struct bindings b = {NULL, 0, 0};
        check(netshm_find_all(t, parse_int32(w[1]), collect_value, &b), op);
        printf("%ld findall %s = ", current_line, w[1]);
        if (b.n == 0)
            printf("none");
        for (size_t j = 0; j < b.n; j++) {
            if (j)
                printf(" ; ");
            print_value(b.v[j].value, b.v[j].len);
        }
        printf("\n");
        free_bindings(&b);
    } else if (strcmp(op, "length") == 0 && n == 1) {
        printf("%ld length %zu\n", current_line, table_length(t));
    } else if (strcmp(op, "dump") == 0 && n == 1) {
        dump_iter(t);
    } else if (strcmp(op, "netdump") == 0 && n == 1) {
        printf("%ld netdump\n", current_line);
        fflush(stdout);
        check(netshm_dump(t, 1), op);
    } else if (strcmp(op, "probe") == 0 && n == 2) {
        probe(t, parse_int32(w[1]));
    } else if (strcmp(op, "incr") == 0 && n == 3) {
        int32_t key = parse_int32(w[1]);
        for (int32_t i = parse_int32(w[2]); i > 0; i--)
            increment(t, key);
        printf("%ld incr %s %s\n", current_line, w[1], w[2]);
    } else if (strcmp(op, "dumpk") == 0 && n == 1) {
        dump_keys(t);
    } else if ((strcmp(op, "rblocks") == 0 || strcmp(op, "wblocks") == 0 ||
                strcmp(op, "wblocks_noann") == 0) && n >= 2) {
        run_blocks(t, op, parse_int32(w[1]), w + 2, n - 2);
    } else {
        fatal("bad script line");
    }
}

int main(int argc, char **argv)
{
    long first_line = 1;
    bool mimic = false;
    bool readonly = false;
    bool check_only = false;
    const char *lock_file = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--mimic") == 0)
            mimic = true;
        else if (strcmp(argv[i], "--readonly") == 0)
            readonly = true;
        else if (strcmp(argv[i], "--check") == 0)
            check_only = true;
        else if (strcmp(argv[i], "--posix") == 0 && i + 1 < argc)
            lock_file = argv[++i];
        else if (strcmp(argv[i], "--first-line") == 0 && i + 1 < argc)
            first_line = strtol(argv[++i], NULL, 10);
        else
            break;
    }
    if (check_only && argc - i == 2)
        return check_file(argv[i], (unsigned)strtoul(argv[i + 1], NULL, 10));
    if (check_only || argc - i != 4) {
        fprintf(stderr,
                "usage: netshm_interop_driver [--first-line N] [--mimic | --readonly] "
                "[--posix LOCKFILE] FILE PAGESIZE INIT SCRIPT\n"
                "       netshm_interop_driver --check FILE PAGESIZE\n");
        return 1;
    }
    const char *file = argv[i], *script = argv[i + 3];
    unsigned pagesize = (unsigned)strtoul(argv[i + 1], NULL, 10);
    long long init = strcmp(argv[i + 2], "none") == 0 ? -1 : strtoll(argv[i + 2], NULL, 10);

    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    current_line = 0;
    netshm_descr *d;
    netshm_table *t;
    int oflags = readonly ? O_RDONLY : O_RDWR | O_CREAT;
    if (lock_file)
        check(netshm_open_posix_lockfile(file, lock_file, oflags, 0600, &d), "open_posix_lockfile");
    else
        check(netshm_open(NETSHM_TYPE_FILE, file, oflags, 0600, &d), "open");
    check(netshm_manage(d, NETSHM_RECORD_LOCKING, pagesize, init, &t), "manage");
    if (mimic)
        check(netshm_testing_mimic_ocamlnet(t), "mimic");

    FILE *in = fopen(script, "r");
    if (!in)
        fatal("cannot open %s: %s", script, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    char **words = NULL;
    size_t words_cap = 0;
    int depth = 0;
    current_line = first_line - 1;
    while (getline(&line, &cap, in) >= 0) {
        current_line++;
        size_t n = 0;
        char *save = NULL;
        for (char *w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
            if (n == words_cap) {
                words_cap = words_cap ? 2 * words_cap : 64;
                words = xrealloc(words, words_cap * sizeof *words);
            }
            words[n++] = w;
        }
        if (n == 0 || words[0][0] == '#')
            continue;
        if (strcmp(words[0], "group_begin") == 0) {
            check(netshm_group_begin(t), "group_begin");
            depth++;
        } else if (strcmp(words[0], "group_end") == 0) {
            if (depth == 0)
                fatal("group_end without group_begin");
            check(netshm_group_end(t), "group_end");
            depth--;
        } else {
            run_op(t, words, n);
        }
    }
    for (; depth > 0; depth--)
        check(netshm_group_end(t), "group_end at the end of the script");
    free(words);
    free(line);
    fclose(in);
    check(netshm_table_close(t), "table_close");
    check(netshm_close(d), "close");
    fflush(stdout);
    return 0;
}
