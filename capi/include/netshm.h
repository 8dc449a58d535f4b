/*
 * netshm — hash tables in shared memory, compatible with OCamlnet's Netshm.
 *
 * int32 keys bound to int32 arrays, several bindings per key (the newest hides
 * the older ones), stored in a POSIX shared-memory object or a regular file,
 * growing on demand, protected across processes by fcntl record locks.  Files
 * written by this library and by OCamlnet's Netshm (format 1) are the same, and
 * both can use one table at the same time.
 *
 * Conventions (written once, valid for every function):
 *  - Every function returning int returns NETSHM_OK (0) on success or a negative
 *    netshm_result code.  netshm_last_error() then describes the failure.
 *  - What comes back through an [out] pointer belongs to the caller: handles are
 *    released with their *_close function, memory with netshm_free().
 *  - Callbacks return 0 (or a documented positive answer) to go on; a negative
 *    value stops the operation, every lock it took is released, and that value is
 *    returned unchanged.  The library's own codes are -1..-99, so callers can pass
 *    their own errors through with values below -99.
 *
 * Caveats (see doc/guide.md):
 *  - fork: a handle must not be used in a child process; open a new descriptor
 *    and manage it there.
 *  - fcntl locks belong to the process: closing any file descriptor of the object
 *    in the process drops them all.  Do not open the object behind the library's
 *    back while tables are in use.
 *  - Remote file systems: record locks and shared mappings over NFS are not
 *    reliable; use /dev/shm or a local file system.
 *  - A process killed at any time never blocks the others (the kernel drops its
 *    locks), but a write interrupted half-way can leave the table inconsistent:
 *    format 1 has no journal.
 */
#ifndef NETSHM_H
#define NETSHM_H

#include <stddef.h>
#include <stdint.h>

#ifndef NETSHM_API
#  if defined(__GNUC__) || defined(__clang__)
#    define NETSHM_API __attribute__((visibility("default")))
#  else
#    define NETSHM_API
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Compile-time version of the header; netshm_version() gives the library's. */
#define NETSHM_VERSION_MAJOR 0
#define NETSHM_VERSION_MINOR 1
#define NETSHM_VERSION_PATCH 0
#define NETSHM_VERSION_STRING "0.1.0"

/** An open shared-memory object (OCamlnet's shm_descr). */
typedef struct netshm_descr netshm_descr;
/** A managed table on an open object (OCamlnet's shm_table). */
typedef struct netshm_table netshm_table;

/** Kinds of shared-memory objects. */
typedef enum netshm_type {
    NETSHM_TYPE_FILE = 1,  /**< a regular file, mapped */
    NETSHM_TYPE_POSIX = 2, /**< a POSIX shared-memory object (shm_open) */
    NETSHM_TYPE_MAX_ENUM_ = 0x7FFFFFFF /**< not a type: makes any int a valid value (C++) */
} netshm_type;

/** How processes sharing a table are kept from interfering. */
typedef enum netshm_locking {
    NETSHM_NO_LOCKING = 0,     /**< none: only safe with one writer and no readers */
    NETSHM_RECORD_LOCKING = 1, /**< fcntl record locks, as OCamlnet's Record_locking */
    NETSHM_LOCKING_MAX_ENUM_ = 0x7FFFFFFF /**< not a method: makes any int a valid value (C++) */
} netshm_locking;

/** Result codes.  The numbers are ABI: FFI users see them. */
typedef enum netshm_result {
    NETSHM_OK = 0,            /**< success */
    NETSHM_ENOTFOUND = -1,    /**< no such key, object or name */
    NETSHM_ECORRUPT = -2,     /**< the table violates the format (Corrupt_file) */
    NETSHM_EDEADLK = -3,      /**< the kernel detected a lock deadlock (Deadlock) */
    NETSHM_EINVAL = -4,       /**< an invalid argument */
    NETSHM_ESYS = -5,         /**< an OS call failed; errno is set to its error */
    NETSHM_ENOMEM = -6,       /**< out of memory */
    NETSHM_ESELFLOCKED = -7,  /**< modification from a callback holding the table locked */
    NETSHM_ECLOSED = -8,      /**< the descriptor was closed */
    NETSHM_ENOTSUP = -9,      /**< not supported on this system */
    NETSHM_EEXIST = -10,      /**< the object exists (O_EXCL) or no unique name was found */
    NETSHM_ETOOBIG = -11,     /**< a size limit was hit, or a buffer is too small */
    NETSHM_EFORKED = -12,     /**< a handle inherited across fork */
    NETSHM_EBUSY = -13,       /**< the object is in use in an incompatible way */
    NETSHM_EREADONLY = -14    /**< a write on a read-only table */
} netshm_result;

/**
 * Static English text for a result code ("unknown error" for other values).
 * Never NULL; safe from any thread and from FFI.
 */
NETSHM_API const char *netshm_strerror(int rc);

/**
 * Detail of the calling thread's last failure, e.g.
 * "open /tmp/t: Permission denied".  Never NULL; only meaningful right after a
 * function failed.  The text stays valid until the thread's next netshm call.
 */
NETSHM_API const char *netshm_last_error(void);

/**
 * The errno of the calling thread's last failure reported by an OS call (a
 * NETSHM_ESYS, or e.g. NETSHM_ENOTFOUND from ENOENT), 0 if the last failure was
 * not an OS error.  errno itself is also set to it.
 */
NETSHM_API int netshm_last_errno(void);

/** The library's version, "MAJOR.MINOR.PATCH", for dlopen users. */
NETSHM_API const char *netshm_version(void);

/* ---------------------------------------------------------------- objects */

/** Bit (1u << type) set for each netshm_type this system supports. */
NETSHM_API unsigned netshm_supported_types(void);

/**
 * The best locking method other than NETSHM_NO_LOCKING for a type of object:
 * NETSHM_RECORD_LOCKING.
 */
NETSHM_API netshm_locking netshm_best_locking_method(netshm_type type);

/**
 * Opens a shared-memory object.
 *
 * @param type    NETSHM_TYPE_FILE or NETSHM_TYPE_POSIX.
 * @param name    a file path, or for POSIX a name of the form "/name": a leading
 *                '/' and no other, at most NAME_MAX bytes.
 * @param oflags  O_RDONLY or O_RDWR, optionally with O_CREAT, O_EXCL, O_TRUNC.
 *                Other flags (O_WRONLY included) give NETSHM_EINVAL, except
 *                O_CLOEXEC: the descriptor is always opened O_CLOEXEC.
 * @param mode    permission bits for a new object (at most 07777).
 * @param[out] out the new handle, released with netshm_close().
 * @return NETSHM_OK; NETSHM_EINVAL (NULL argument, bad type, name, flags or
 *         mode); NETSHM_ENOTFOUND (no such object and no O_CREAT); NETSHM_EEXIST
 *         (O_CREAT|O_EXCL and it exists); NETSHM_ESYS (other OS errors, e.g.
 *         EACCES); NETSHM_ENOTSUP (type not supported); NETSHM_ENOMEM.
 */
NETSHM_API int netshm_open(netshm_type type, const char *name, int oflags, unsigned mode,
                           netshm_descr **out);

/**
 * Creates a new object under a unique name derived from a template: every 'X'
 * of the name is replaced by a random character of [0-9A-Z], and the object is
 * created O_RDWR|O_CREAT|O_EXCL, retrying with new characters (at most 1000
 * attempts) while the name exists.
 *
 * @return as netshm_open(); NETSHM_EEXIST when no free name was found.
 */
NETSHM_API int netshm_create_unique(netshm_type type, const char *name_template,
                                    unsigned mode, netshm_descr **out);

/**
 * Opens a POSIX object whose record locks live on a companion file, as
 * OCamlnet 4.1.9's `POSIX (lock_file, shm_name)` names do.  This is the only
 * way to share a POSIX table with 4.1.9 OCaml processes: netshm_open() locks the
 * shm object itself (as OCamlnet 3 did), and two processes locking different
 * files exclude nothing.  The lock file is opened with the same flags and mode.
 *
 * @param shm_name  the POSIX object, "/name".
 * @param lock_file the companion file's path.
 * @return as netshm_open().
 */
NETSHM_API int netshm_open_posix_lockfile(const char *shm_name, const char *lock_file, int oflags,
                                          unsigned mode, netshm_descr **out);

/**
 * Removes a POSIX object and its companion lock file (OCamlnet 4.1.9's
 * unlink_shm of a `POSIX (lock_file, shm_name)` name).
 * @return NETSHM_OK; NETSHM_EINVAL; NETSHM_ENOTFOUND (either is missing; the
 *         other is removed all the same); NETSHM_ESYS.
 */
NETSHM_API int netshm_unlink_posix_lockfile(const char *shm_name, const char *lock_file);

/** The object's name (owned by the handle; valid until netshm_close()), or NULL for a NULL handle. */
NETSHM_API const char *netshm_name(const netshm_descr *descr);

/** The object's type, or 0 for a NULL handle. */
NETSHM_API netshm_type netshm_descr_type(const netshm_descr *descr);

/**
 * Closes the object and frees the handle.  The object itself stays.  Tables
 * still managing it fail with NETSHM_ECLOSED from then on.
 * @return NETSHM_OK; NETSHM_EINVAL for NULL; NETSHM_ESYS if close(2) failed (the
 *         handle is freed anyway).
 */
NETSHM_API int netshm_close(netshm_descr *descr);

/**
 * Removes an object's name from the system.
 * @return NETSHM_OK; NETSHM_EINVAL (bad type or name); NETSHM_ENOTFOUND;
 *         NETSHM_ESYS.
 */
NETSHM_API int netshm_unlink(netshm_type type, const char *name);

/**
 * Sets the object's permission bits (at most 07777).
 * @return NETSHM_OK; NETSHM_EINVAL; NETSHM_ECLOSED; NETSHM_ESYS (e.g. EPERM).
 */
NETSHM_API int netshm_chmod(netshm_descr *descr, unsigned mode);

/**
 * Sets the object's owner and group; -1 leaves one unchanged.
 * @return NETSHM_OK; NETSHM_EINVAL; NETSHM_ECLOSED; NETSHM_ESYS (e.g. EPERM).
 */
NETSHM_API int netshm_chown(netshm_descr *descr, long uid, long gid);

/* ----------------------------------------------------------------- tables */

/**
 * Starts managing an open object as a table.
 *
 * An empty object is initialised with a new table; a non-empty one must hold a
 * valid table.  Creating a table in an empty object and re-initialising happen
 * under the descriptor page's write lock (with NETSHM_RECORD_LOCKING).
 *
 * @param descr    the object; it must stay open while the table is used.
 * @param locking  NETSHM_NO_LOCKING or NETSHM_RECORD_LOCKING.
 * @param pagesize page size in bytes: at least 160 and a multiple of 4; 0 means
 *                 the existing table's own page size, or 256 for a new table.
 * @param init     < 0: keep the existing table.  >= 0: re-initialise the table
 *                 (deleting every binding), sized for about this many keys.
 *                 Re-initialising zeroes the pages past the new table and never
 *                 shrinks the object.
 * @param[out] out the table, released with netshm_table_close().
 * @return NETSHM_OK; NETSHM_EINVAL (bad argument; pagesize differs from the
 *         table's: the message names the real page size; pagesize 0 but the
 *         object is valid at two page sizes, as OCamlnet can leave it); NETSHM_ECORRUPT (not a
 *         valid table); NETSHM_EREADONLY (the object is empty or init >= 0 but it
 *         was opened O_RDONLY); NETSHM_ECLOSED; NETSHM_ESYS (e.g. ENOSPC);
 *         NETSHM_EDEADLK; NETSHM_ETOOBIG; NETSHM_ENOMEM.
 *
 * A descriptor opened O_RDONLY gives a read-only table: reads work, every write
 * returns NETSHM_EREADONLY.
 */
NETSHM_API int netshm_manage(netshm_descr *descr, netshm_locking locking, unsigned pagesize,
                             long long init, netshm_table **out);

/**
 * Unmaps the table and frees the handle; the descriptor stays open.  A table
 * inherited across fork may be closed in the child (nothing is unlocked there).
 * @return NETSHM_OK; NETSHM_EINVAL for NULL or inside a group (end it first).
 */
NETSHM_API int netshm_table_close(netshm_table *table);

/**
 * Runs fn(table, ctx) as a group: the locks of the operations inside are kept
 * until the group ends, so no other process interferes with the sequence (no
 * rollback: this is not a transaction).  Groups nest.  Returns what fn returned
 * (a negative value passes through), or an error from ending the group.
 */
NETSHM_API int netshm_group(netshm_table *table, int (*fn)(netshm_table *table, void *ctx),
                            void *ctx);
/**
 * Runs fn(table, ctx) as a write group: like netshm_group, but the descriptor
 * page's write lock is taken up front.  Read-modify-write groups
 * (find, then replace) of several processes then serialize, where plain groups
 * would fail with NETSHM_EDEADLK when two of them upgrade their read locks at
 * once.  Still compatible with OCamlnet's protocol (a stronger lock).
 */
NETSHM_API int netshm_group_write(netshm_table *table, int (*fn)(netshm_table *table, void *ctx),
                                  void *ctx);
/** Begins a write group (see netshm_group_write); end it with netshm_group_end. */
NETSHM_API int netshm_group_begin_write(netshm_table *table);
/** Begins a group (see netshm_group); pair with netshm_group_end on the same thread. */
NETSHM_API int netshm_group_begin(netshm_table *table);
/** Ends a group; the outermost end releases every lock the group kept. */
NETSHM_API int netshm_group_end(netshm_table *table);

/**
 * Adds a binding of key to value[0..len); older bindings of key stay, hidden.
 * value may be NULL when len is 0.
 * @return NETSHM_OK; NETSHM_EINVAL; NETSHM_ETOOBIG (len > INT32_MAX, or the table
 *         cannot grow further); NETSHM_EREADONLY; NETSHM_ESELFLOCKED (from a
 *         callback of this table); NETSHM_ECORRUPT; NETSHM_ESYS (e.g. ENOSPC);
 *         NETSHM_EDEADLK; NETSHM_ECLOSED; NETSHM_ENOMEM.
 */
NETSHM_API int netshm_add(netshm_table *table, int32_t key, const int32_t *value, size_t len);

/**
 * Replaces the newest binding of key (adds one if key is unbound).  Space for the
 * new value is reserved first: on failure the old binding is still there.
 * @return as netshm_add().
 */
NETSHM_API int netshm_replace(netshm_table *table, int32_t key, const int32_t *value, size_t len);

/**
 * Removes the newest binding of key, making the previous one visible.  Removing
 * an unbound key does nothing and succeeds.
 * @return NETSHM_OK; NETSHM_EREADONLY; NETSHM_ESELFLOCKED; NETSHM_ECORRUPT;
 *         NETSHM_EDEADLK; NETSHM_ECLOSED; NETSHM_ESYS.
 */
NETSHM_API int netshm_remove(netshm_table *table, int32_t key);

/** 1 if key is bound, 0 if not, or a negative error (NETSHM_ECORRUPT, ...). */
NETSHM_API int netshm_mem(netshm_table *table, int32_t key);

/**
 * Copies the newest binding of key into memory allocated by the library.
 * @param[out] value the value (non-NULL even when empty), freed with netshm_free().
 * @param[out] len   its length in words.
 * @return NETSHM_OK; NETSHM_ENOTFOUND; NETSHM_ECORRUPT; NETSHM_ENOMEM; ...
 */
NETSHM_API int netshm_find(netshm_table *table, int32_t key, int32_t **value, size_t *len);

/**
 * Copies the newest binding of key into buf[0..cap).
 * @param[out] len the value's length.  When cap is too small nothing is copied,
 *                 NETSHM_ETOOBIG is returned and *len is the length needed.
 * @return NETSHM_OK; NETSHM_ENOTFOUND; NETSHM_ETOOBIG; NETSHM_ECORRUPT; ...
 */
NETSHM_API int netshm_find_into(netshm_table *table, int32_t key, int32_t *buf, size_t cap,
                                size_t *len);

/** Frees memory returned by the library (netshm_find).  NULL is ignored. */
NETSHM_API void netshm_free(void *memory);

/**
 * Calls fn for every binding of key, newest first, with the value copied out
 * (the pointer is valid during the call only).  The table is read-locked while
 * fn runs: modifying it from fn gives NETSHM_ESELFLOCKED; reading is allowed.
 * @return NETSHM_OK (also when key is unbound); fn's negative value; an error.
 */
NETSHM_API int netshm_find_all(netshm_table *table, int32_t key,
                               int (*fn)(const int32_t *value, size_t len, void *ctx), void *ctx);

/**
 * Calls fn once for every binding of the table, a key's bindings newest first;
 * the order of keys is unspecified.  Locked as netshm_find_all().
 */
NETSHM_API int netshm_iter(netshm_table *table,
                           int (*fn)(int32_t key, const int32_t *value, size_t len, void *ctx),
                           void *ctx);

/** Calls fn once for every bound key.  Locked as netshm_find_all(). */
NETSHM_API int netshm_iter_keys(netshm_table *table, int (*fn)(int32_t key, void *ctx), void *ctx);

/** The number of bindings (several bindings of one key count several times). */
NETSHM_API int netshm_length(netshm_table *table, size_t *out);

/** Answers of block callbacks. */
enum {
    NETSHM_CONTINUE = 0,       /**< go on with the next fragment */
    NETSHM_NEXT = 1,           /**< skip to the next (older) binding */
    NETSHM_BREAK = 2,          /**< stop */
    NETSHM_REMOVE_BINDING = 3  /**< write_blocks: remove this binding when it ends */
};
/** Operations announced to netshm_write_blocks. */
enum { NETSHM_OP_REMOVE_BINDING = 1u };

/**
 * Visits the bindings of key block by block, newest binding first: fn(frag, len)
 * for each fragment of a binding's value, then fn(NULL, 0) at its end.  An empty
 * value is one zero-length fragment with a non-NULL pointer.  Fragments point
 * into the shared memory and are only read-locked: do not write through them.
 * fn answers NETSHM_CONTINUE, NETSHM_NEXT, NETSHM_BREAK or a negative value.
 */
NETSHM_API int netshm_find_blocks(netshm_table *table, int32_t key,
                                  int (*fn)(const int32_t *frag, size_t len, void *ctx),
                                  void *ctx);

/**
 * Like netshm_find_blocks with writable, write-locked fragments.  fn may also
 * answer NETSHM_REMOVE_BINDING if ops contains NETSHM_OP_REMOVE_BINDING (else
 * NETSHM_EINVAL).  The last non-CONTINUE answer in a binding's sequence decides:
 * once fn answered REMOVE_BINDING, the binding is removed when it ends (normally,
 * by NEXT or by BREAK); a negative answer later in the same binding cancels that
 * binding's removal (earlier bindings' removals stay).
 */
NETSHM_API int netshm_write_blocks(netshm_table *table, unsigned ops, int32_t key,
                                   int (*fn)(int32_t *frag, size_t len, void *ctx), void *ctx);

/** Writes every binding to fd as Netshm.dump prints it. */
NETSHM_API int netshm_dump(netshm_table *table, int fd);

/**
 * The mapped object: *base points at page 0, *pages pages of *words_per_page
 * words each.  Valid until the next call on this table (which may remap).
 */
NETSHM_API int netshm_memory(netshm_table *table, int32_t **base, size_t *pages,
                             size_t *words_per_page);

/* ------------------------------------------------------- check and stat */

/** What kind of damage netshm_check() found (the numbers are ABI). */
typedef enum netshm_problem_kind {
    NETSHM_PROBLEM_MASTER = 1,       /**< master page (page 0): magic or descriptor pointer */
    NETSHM_PROBLEM_DESCRIPTOR = 2,   /**< descriptor page: magic or a counter out of range */
    NETSHM_PROBLEM_OBJECT_SIZE = 3,  /**< the object is smaller than its page count says */
    NETSHM_PROBLEM_EXTENT = 4,       /**< a hash extent out of range, overlapping or of the wrong size */
    NETSHM_PROBLEM_HASH_CELL = 5,    /**< a hash cell: bad pointer or nonzero spare words */
    NETSHM_PROBLEM_PROBE = 6,        /**< a key not reachable by probing, or bound in two cells */
    NETSHM_PROBLEM_CONTENT_PAGE = 7, /**< a binding's first page: magic, key, offset or length */
    NETSHM_PROBLEM_FOLLOW_UP = 8,    /**< a follow-up page: magic, key, sequence number or chain length */
    NETSHM_PROBLEM_BINDING_CHAIN = 9,/**< the older-binding chain of a key: bad pointer or a cycle */
    NETSHM_PROBLEM_FREE_LIST = 10,   /**< the free list: bad pointer, magic, cycle */
    NETSHM_PROBLEM_PAGE_SHARED = 11, /**< a page reached twice (two owners, or a cycle) */
    NETSHM_PROBLEM_PAGE_LOST = 12,   /**< a page nobody owns: not hash, content nor free */
    NETSHM_PROBLEM_COUNT = 13,       /**< a descriptor counter disagrees with what the walk found */
    NETSHM_PROBLEM_TAIL = 14,        /**< nonzero bytes after the last page */
    NETSHM_PROBLEM_KIND_MAX_ENUM_ = 0x7FFFFFFF /**< not a kind: makes any int a valid value (C++) */
} netshm_problem_kind;

/** One problem found by netshm_check(); valid during the callback only. */
typedef struct netshm_problem {
    netshm_problem_kind kind; /**< what is wrong */
    int32_t page;        /**< the page where the problem is, -1 for the object as a whole */
    const char *message; /**< e.g. "page 7: follow-up page has sequence number 3, expected 2" */
} netshm_problem;

/**
 * Verifies the whole table: walks every page and accounts for each exactly once
 * (master, descriptor, hash, content, follow-up, free), checks every magic,
 * pointer, chain, sequence number, counter and the free list, that probing
 * finds every bound key, and that the bytes after the last page are zero
 * (doc/format.md, "Integrity check").  The table is read under the descriptor
 * page's read lock (one consistent state), from the object itself: nothing
 * netshm_manage() or earlier calls saw is trusted.  The problems are reported
 * after the lock is released, in page order (the object as a whole first),
 * through fn (may be NULL).  A master page, descriptor page or hash extent too
 * damaged to walk the rest is reported, and the walk stops there.
 * Corruption is never an error here: it is what the check reports.
 *
 * @param table the table (read-only tables too).
 * @param fn    called once per problem, or NULL to count them only; answers 0
 *              to go on or a negative value to stop.  It may call any function
 *              of the library.
 * @param ctx   passed to fn.
 * @return the number of problems found (0: the table is sound); fn's negative
 *         answer; or
 * @retval NETSHM_EINVAL  NULL table, or fn answered a positive value.
 * @retval NETSHM_EDEADLK the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED the descriptor was closed.
 * @retval NETSHM_EFORKED the table was inherited across fork.
 * @retval NETSHM_ESYS    an OS error (fcntl, fstat, mmap).
 * @retval NETSHM_ENOMEM  out of memory.
 * @threads Any thread; fn runs on the calling thread with no lock held.
 */
NETSHM_API int netshm_check(netshm_table *table,
                            int (*fn)(const netshm_problem *problem, void *ctx), void *ctx);

/**
 * Statistics of a table.  The struct may grow at its end in later versions:
 * set struct_size to sizeof(netshm_stats) before the call; the library fills
 * the whole fields that fit in that many bytes (of those it knows) and sets
 * struct_size to the bytes it filled.
 */
typedef struct netshm_stats {
    uint32_t struct_size;    /**< [in/out] sizeof(netshm_stats) */
    uint32_t pagesize;       /**< bytes per page */
    uint64_t object_bytes;   /**< size of the object (may exceed total_pages * pagesize) */
    uint64_t total_pages;    /**< pages of the table, master and descriptor included */
    uint64_t free_pages;     /**< pages on the free list */
    uint64_t hash_pages;     /**< pages of the hash table, all extents */
    uint64_t content_pages;  /**< first and follow-up pages of bindings */
    uint64_t extents;        /**< hash extents in use (at most 16) */
    uint64_t hash_cells;     /**< cells of the hash table */
    uint64_t claimed_cells;  /**< cells ever claimed (the counter that triggers growth) */
    uint64_t bindings;       /**< bindings (as netshm_length) */
    uint64_t distinct_keys;  /**< keys with at least one binding */
    uint64_t value_bytes;    /**< bytes of all values (4 per word) */
    uint64_t longest_probe;  /**< most cells probed to find a bound key (1 = first cell) */
} netshm_stats;

/**
 * Fills *out with the table's statistics, gathered by netshm_check()'s walk
 * under the descriptor page's read lock (so it costs as much).
 *
 * @param table the table.
 * @param[in,out] out the statistics; out->struct_size must be set first.
 * @retval NETSHM_OK       success.
 * @retval NETSHM_EINVAL   NULL argument, or struct_size smaller than 8.
 * @retval NETSHM_ECORRUPT netshm_check() would report a problem; the message
 *                         is the first one's.
 * @retval NETSHM_EDEADLK  the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED  the descriptor was closed.
 * @retval NETSHM_EFORKED  the table was inherited across fork.
 * @retval NETSHM_ESYS     an OS error (fcntl, fstat, mmap).
 * @retval NETSHM_ENOMEM   out of memory.
 * @threads Any thread; allowed from callbacks.
 */
NETSHM_API int netshm_stat(netshm_table *table, netshm_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* NETSHM_H */
