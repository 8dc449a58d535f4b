/**
 * @file netshm.h
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
 *  - Threads: every function may be called from any thread, and handles may be
 *    shared between threads; each function's "Threads" note says more.
 *
 * Caveats (see doc/guide.md):
 *  - fork: a handle must not be used in a child process; open a new descriptor
 *    and manage it there.
 *  - fcntl locks belong to the process: closing any file descriptor of the object
 *    in the process drops them all.  Do not open the object behind the library's
 *    back while tables are in use.
 *  - Remote file systems: record locks and shared mappings over NFS are not
 *    reliable; use /dev/shm or a local file system.
 *  - Hostile names: netshm_open() never follows a symbolic link with O_CREAT or
 *    O_TRUNC, opens only regular files and shm objects, and refuses O_TRUNC
 *    while a table is open on the object; netshm_manage() never writes a table
 *    over data that is not one.  Truncating an object behind the library's
 *    back, or while only NETSHM_NO_LOCKING or OCamlnet processes use it, still
 *    kills the processes that map it (SIGBUS).
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

/** Major version of the header; netshm_version() gives the library's. */
#define NETSHM_VERSION_MAJOR 0
/** Minor version of the header. */
#define NETSHM_VERSION_MINOR 1
/** Patch version of the header. */
#define NETSHM_VERSION_PATCH 0
/** The header's version as "MAJOR.MINOR.PATCH". */
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
    /**
     * A robust process-shared mutex for writers, kept in page 0's unused
     * words, and optimistic readers: find, find_into, mem and length make no
     * system call.  Every process that opens the table must use this library:
     * OCaml processes must not open the table while a process has it open
     * with this method.  Needs a descriptor open for writing; mixing it with
     * NETSHM_RECORD_LOCKING on one object is refused (NETSHM_EBUSY), except
     * that a table with record locking on a descriptor opened O_RDONLY
     * counts only while one of its operations (or groups) runs: an idle
     * reader keeps nobody out, and its next operation while a process uses
     * the table with this method fails with NETSHM_EBUSY.  A writer
     * that dies while it changes the table is recovered from by the next
     * process to take the mutex (or to manage the table): the interrupted
     * mutation is undone and the table checked; only damage that check still
     * finds leaves the table refused as corrupt until it is re-initialised.
     * See doc/locking.md.
     */
    NETSHM_MUTEX_LOCKING = 2,
    NETSHM_LOCKING_MAX_ENUM_ = 0x7FFFFFFF /**< not a method: makes any int a valid value (C++) */
} netshm_locking;

/** Result codes.  The numbers are ABI: FFI users see them. */
typedef enum netshm_result {
    NETSHM_OK = 0,            /**< success */
    NETSHM_ENOTFOUND = -1,    /**< no such key, object or name */
    NETSHM_ECORRUPT = -2,     /**< the table violates the format (Corrupt_file), or, with
                                   record locking, a dead writer left a write unfinished that
                                   no writer of this library has recovered yet */
    NETSHM_EDEADLK = -3,      /**< the kernel detected a lock deadlock (Deadlock) */
    NETSHM_EINVAL = -4,       /**< an invalid argument */
    NETSHM_ESYS = -5,         /**< an OS call failed; errno is set to its error */
    NETSHM_ENOMEM = -6,       /**< out of memory */
    NETSHM_ESELFLOCKED = -7,  /**< modification from a callback holding the table locked */
    NETSHM_ECLOSED = -8,      /**< the descriptor was closed */
    NETSHM_ENOTSUP = -9,      /**< not supported on this system */
    NETSHM_EEXIST = -10,      /**< the object exists (O_EXCL), no unique name was found, or it
                                   holds data that is not a table (netshm_manage with init >= 0) */
    NETSHM_ETOOBIG = -11,     /**< a size limit was hit, or a buffer is too small */
    NETSHM_EFORKED = -12,     /**< a handle inherited across fork */
    NETSHM_EBUSY = -13,       /**< the object is in use in an incompatible way */
    NETSHM_EREADONLY = -14,   /**< a write on a read-only table */
    NETSHM_ETIMEDOUT = -15    /**< a lock wait ran past the table's (or descriptor's) lock
                                   timeout: netshm_set_lock_timeout() */
} netshm_result;

/**
 * Static English text for a result code.
 * @param rc a result code.
 * @return the text ("unknown error" for a value that is not a code); never NULL,
 *         static: not to be freed.
 * @threads Any thread; safe from FFI.
 */
NETSHM_API const char *netshm_strerror(int rc);

/**
 * Detail of the calling thread's last failure, e.g.
 * "open /tmp/t: Permission denied".
 * @return the text; never NULL, only meaningful right after a function failed.
 *         Owned by the library: it stays valid until the thread's next netshm
 *         call.
 * @threads Thread-local: each thread sees its own last failure.
 */
NETSHM_API const char *netshm_last_error(void);

/**
 * The OS error of the calling thread's last failure.
 * @return the errno of the failed OS call (a NETSHM_ESYS, or e.g. a
 *         NETSHM_ENOTFOUND from ENOENT); 0 if the last failure was not an OS
 *         error.  errno itself is also set to it when the failure happens.
 * @threads Thread-local, as netshm_last_error().
 */
NETSHM_API int netshm_last_errno(void);

/**
 * The library's version, for dlopen users to check what they loaded.
 * @return "MAJOR.MINOR.PATCH"; static, never NULL.
 * @threads Any thread.
 */
NETSHM_API const char *netshm_version(void);

/* ---------------------------------------------------------------- objects */

/**
 * The object types this system supports.
 * @return bit (1u << type) set for each supported netshm_type.
 * @threads Any thread.
 */
NETSHM_API unsigned netshm_supported_types(void);

/**
 * The best locking method other than NETSHM_NO_LOCKING for a type of object.
 * @param type an object type.
 * @return NETSHM_RECORD_LOCKING.
 * @threads Any thread.
 */
NETSHM_API netshm_locking netshm_best_locking_method(netshm_type type);

/**
 * Opens a shared-memory object.
 *
 * @param type    NETSHM_TYPE_FILE or NETSHM_TYPE_POSIX.
 * @param name    a file path, or for POSIX a name of the form "/name": a leading
 *                '/' and no other, at most NAME_MAX bytes.  Copied.
 * The object must be a regular file or a POSIX shared-memory object: anything
 * else (a FIFO, a device, a directory, a socket) is refused at once, never
 * waited for.  With O_CREAT or O_TRUNC a file name that is a symbolic link is
 * never followed (NETSHM_ESYS, ELOOP): nobody can plant a link in a shared
 * folder to have a file of yours created, emptied or written.  Without them a
 * link is followed; netshm_manage() still never writes a table over data
 * that is not one.
 *
 * O_TRUNC empties the object only when no process, this one included, has a
 * table on it with NETSHM_RECORD_LOCKING or NETSHM_MUTEX_LOCKING: truncating
 * would take the pages of their mappings away and kill them with SIGBUS.
 * Processes that hold no presence, tables with NETSHM_NO_LOCKING and OCamlnet
 * processes, cannot be seen: do not truncate an object they use.
 *
 * @param oflags  O_RDONLY or O_RDWR, optionally with O_CREAT, O_EXCL, O_TRUNC
 *                (O_TRUNC with O_RDWR only).  Other flags (O_WRONLY included)
 *                give NETSHM_EINVAL, except O_CLOEXEC: the descriptor is always
 *                opened O_CLOEXEC.
 * @param mode    permission bits for a new object (at most 07777).
 * @param[out] out the new handle, the caller's: released with netshm_close().
 *                Set to NULL on failure.
 * @retval NETSHM_OK        success.
 * @retval NETSHM_EINVAL    NULL argument, bad type, name, flags or mode; O_TRUNC
 *                          without O_RDWR; the object is not a regular file or
 *                          shared-memory object (the message says what it is).
 * @retval NETSHM_ENOTFOUND no such object and no O_CREAT.
 * @retval NETSHM_EEXIST    O_CREAT|O_EXCL and the object exists.
 * @retval NETSHM_EBUSY     O_TRUNC, and a process, this one included, has a
 *                          table on the object with record or mutex locking;
 *                          the object is left as it is.
 * @retval NETSHM_ESYS      another OS error, e.g. EACCES (see netshm_last_errno());
 *                          ELOOP for a symbolic link with O_CREAT or O_TRUNC;
 *                          EISDIR for a directory opened O_RDWR; ENXIO for a socket.
 * @retval NETSHM_ENOTSUP   the type is not supported here.
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread.
 */
NETSHM_API int netshm_open(netshm_type type, const char *name, int oflags, unsigned mode,
                           netshm_descr **out);

/**
 * Creates a new object under a unique name derived from a template: every 'X'
 * of the name's last component (after its last '/'; the folders are taken as
 * they are) is replaced by a random character of [0-9A-Z], and the object is
 * created O_RDWR|O_CREAT|O_EXCL, retrying with new characters (at most 1000
 * attempts) while the name exists.  netshm_name() tells the name chosen.
 *
 * @param type          NETSHM_TYPE_FILE or NETSHM_TYPE_POSIX.
 * @param name_template the name with 'X' placeholders, following the rules of
 *                      netshm_open().
 * @param mode          permission bits (at most 07777).
 * @param[out] out      the new handle, released with netshm_close(); NULL on
 *                      failure.
 * @retval NETSHM_OK      success.
 * @retval NETSHM_EINVAL  NULL argument, bad type, template or mode.
 * @retval NETSHM_EEXIST  no free name was found in 1000 attempts.
 * @retval NETSHM_ESYS    an OS error, e.g. EACCES.
 * @retval NETSHM_ENOTSUP the type is not supported here.
 * @retval NETSHM_ENOMEM  out of memory.
 * @threads Any thread.
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
 * @param oflags    as for netshm_open().
 * @param mode      as for netshm_open().
 * @param[out] out  the new handle, released with netshm_close(); NULL on failure.
 * @retval NETSHM_OK        success.
 * @retval NETSHM_EINVAL    NULL argument, bad name, flags or mode; O_TRUNC
 *                          without O_RDWR; the object or the lock file is not a
 *                          regular file or shared-memory object.
 * @retval NETSHM_ENOTFOUND the object or the lock file is missing and no O_CREAT.
 * @retval NETSHM_EEXIST    O_CREAT|O_EXCL and the object exists.
 * @retval NETSHM_EBUSY     O_TRUNC while a table is open on the object (as for
 *                          netshm_open(); the lock file is never truncated).
 * @retval NETSHM_ESYS      another OS error; ELOOP for a lock file that is a
 *                          symbolic link, with O_CREAT or O_TRUNC.
 * @retval NETSHM_ENOTSUP   POSIX objects are not supported here.
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread.
 */
NETSHM_API int netshm_open_posix_lockfile(const char *shm_name, const char *lock_file, int oflags,
                                          unsigned mode, netshm_descr **out);

/**
 * Removes a POSIX object and its companion lock file (OCamlnet 4.1.9's
 * unlink_shm of a `POSIX (lock_file, shm_name)` name).
 * @param shm_name  the POSIX object, "/name".
 * @param lock_file the companion file's path.
 * @retval NETSHM_OK        both removed.
 * @retval NETSHM_EINVAL    NULL argument or a bad name.
 * @retval NETSHM_ENOTFOUND either is missing; the other is removed all the same.
 * @retval NETSHM_ESYS      another OS error.
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread.
 */
NETSHM_API int netshm_unlink_posix_lockfile(const char *shm_name, const char *lock_file);

/**
 * The object's name.
 * @param descr an open object, or NULL.
 * @return the name (owned by the handle; valid until netshm_close()), or NULL
 *         for a NULL handle.
 * @threads Any thread.
 */
NETSHM_API const char *netshm_name(const netshm_descr *descr);

/**
 * The object's type.
 * @param descr an open object, or NULL.
 * @return its type, or 0 for a NULL handle.
 * @threads Any thread.
 */
NETSHM_API netshm_type netshm_descr_type(const netshm_descr *descr);

/**
 * Closes the object and frees the handle.  The object itself stays.  Tables
 * still managing it fail with NETSHM_ECLOSED from then on (close them too).
 * Record locks held by other handles of the same object stay held: the file
 * descriptor is kept until the last user is gone.  Closing a handle twice is
 * undefined, as with free().  Allowed from a callback of a table managing the
 * object: the running operation finishes with the mapping it has (or fails
 * with NETSHM_ECLOSED if it needs the descriptor), later ones fail with
 * NETSHM_ECLOSED.
 * @param descr the handle.
 * @retval NETSHM_OK     success.
 * @retval NETSHM_EINVAL NULL.
 * @retval NETSHM_ESYS   close(2) failed (the handle is freed anyway).
 * @threads Any thread; waits while another thread of the process is inside a
 *         group on the same object.
 */
NETSHM_API int netshm_close(netshm_descr *descr);

/**
 * Removes an object's name from the system.  Processes that have it open keep
 * using it.
 * @param type NETSHM_TYPE_FILE or NETSHM_TYPE_POSIX.
 * @param name its name, as for netshm_open().
 * @retval NETSHM_OK        success.
 * @retval NETSHM_EINVAL    bad type or name.
 * @retval NETSHM_ENOTFOUND no such object.
 * @retval NETSHM_ESYS      another OS error.
 * @retval NETSHM_ENOTSUP   the type is not supported here.
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread.
 */
NETSHM_API int netshm_unlink(netshm_type type, const char *name);

/**
 * Sets the object's permission bits.
 * @param descr an open object.
 * @param mode  the bits, at most 07777.
 * @retval NETSHM_OK     success.
 * @retval NETSHM_EINVAL NULL handle or bits outside 07777.
 * @retval NETSHM_ECLOSED the handle was closed.
 * @retval NETSHM_ESYS   fchmod(2) failed, e.g. EPERM.
 * @threads Any thread.
 */
NETSHM_API int netshm_chmod(netshm_descr *descr, unsigned mode);

/**
 * Sets the object's owner and group.
 * @param descr an open object.
 * @param uid   the new owner, or -1 to leave it.
 * @param gid   the new group, or -1 to leave it.
 * @retval NETSHM_OK     success.
 * @retval NETSHM_EINVAL NULL handle or an id out of range.
 * @retval NETSHM_ECLOSED the handle was closed.
 * @retval NETSHM_ESYS   fchown(2) failed, e.g. EPERM.
 * @threads Any thread.
 */
NETSHM_API int netshm_chown(netshm_descr *descr, long uid, long gid);

/**
 * Sets how long each lock wait of netshm_manage() on this descriptor may last,
 * and the lock timeout that tables managed from it afterwards start with
 * (netshm_set_lock_timeout()).  Without it netshm_manage() waits for ever, for
 * instance while another process holds a write group on the table.
 * @param descr        the object.
 * @param milliseconds the longest wait of each lock; 0 (the default) waits for
 *                     ever.  Tables managed before keep their own timeout.
 * @retval NETSHM_OK     success.
 * @retval NETSHM_EINVAL NULL handle.
 * @threads Any thread.
 */
NETSHM_API int netshm_descr_set_lock_timeout(netshm_descr *descr, unsigned milliseconds);

/* ----------------------------------------------------------------- tables */

/**
 * Starts managing an open object as a table.
 *
 * An empty object is initialised with a new table; a non-empty one must hold a
 * valid table, or an unfinished one (a creator stopped before it wrote page
 * 0's magic, doc/format.md "Re-initialisation and creation"), which a
 * descriptor open for writing creates anew.  With NETSHM_RECORD_LOCKING,
 * creating and re-initialising queue on one lock whatever the page size (a
 * process that comes second opens the first one's table) and exclude every
 * reader and writer of the old table (doc/locking.md, "Creating and
 * re-initialising").  A descriptor opened O_RDONLY gives a read-only table:
 * reads work, every write returns NETSHM_EREADONLY.
 *
 * @param descr    the object; it must stay open while the table is used.
 * With NETSHM_RECORD_LOCKING or NETSHM_MUTEX_LOCKING the table also holds,
 * until it is closed, this process's presence with that method, which keeps
 * other processes from using the other one on the object.
 *
 * @param locking  NETSHM_NO_LOCKING, NETSHM_RECORD_LOCKING or
 *                 NETSHM_MUTEX_LOCKING.
 * @param pagesize page size in bytes: at least 160, at most 1 MiB and a
 *                 multiple of 4; 0 means the existing table's own page size, or
 *                 256 for a new table.
 * @param init     < 0: keep the existing table.  >= 0: re-initialise the table
 *                 (deleting every binding), sized for about this many keys.
 *                 Re-initialising zeroes the pages past the new table and never
 *                 shrinks the object.  It never writes over data that is not a
 *                 table: the object's first 16 bytes must be netshm's magic (a
 *                 table, sound or damaged) or zero (a table whose creation never
 *                 finished).  To use an object holding anything else, empty it
 *                 first: open it with O_TRUNC.
 * @param[out] out the table, the caller's: released with netshm_table_close()
 *                 before the descriptor is closed.  NULL on failure.
 * @retval NETSHM_OK        success.
 * @retval NETSHM_EINVAL    NULL argument, unknown locking method, bad page size;
 *                          pagesize differs from the table's (the message names
 *                          the real one), also when another process created
 *                          the table first with its page size; pagesize 0 but
 *                          the object is valid at two page sizes, as OCamlnet
 *                          can leave it.
 * @retval NETSHM_ECORRUPT  the object does not hold a valid table; with
 *                          NETSHM_MUTEX_LOCKING, or NETSHM_RECORD_LOCKING and a
 *                          writable descriptor, and init < 0 also a table left
 *                          by a writer that died while it changed it, whose
 *                          recovery found damage it cannot repair.  A
 *                          descriptor opened O_RDONLY on an unfinished table
 *                          gets this code with a message saying "unfinished":
 *                          a writable descriptor (or init >= 0) creates it.
 *                          An object of zeros (a creator killed before its
 *                          first store, or anybody's file) gets a message
 *                          saying so: only init >= 0 creates a table there.
 * @retval NETSHM_EREADONLY the object is empty, or init >= 0, or the method is
 *                          NETSHM_MUTEX_LOCKING, but it was opened O_RDONLY.
 * @retval NETSHM_EEXIST    init >= 0 but the object holds data that is not a
 *                          table (see init); nothing is written.
 * @retval NETSHM_EBUSY     a process, this one included, has the object open
 *                          with the other of NETSHM_RECORD_LOCKING and
 *                          NETSHM_MUTEX_LOCKING.
 * @retval NETSHM_ETOOBIG   init needs a hash table beyond the format's limits.
 * @retval NETSHM_ECLOSED   the descriptor was closed.
 * @retval NETSHM_EFORKED   the descriptor was inherited across fork.
 * @retval NETSHM_EDEADLK   the kernel reported a lock deadlock.
 * @retval NETSHM_ETIMEDOUT a lock wait ran past the descriptor's lock timeout
 *                          (netshm_descr_set_lock_timeout()); nothing is held.
 * @retval NETSHM_ESYS      an OS error, e.g. ENOSPC while creating the table.
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread.
 */
NETSHM_API int netshm_manage(netshm_descr *descr, netshm_locking locking, unsigned pagesize,
                             long long init, netshm_table **out);

/**
 * Unmaps the table and frees the handle; the descriptor stays open.  A table
 * inherited across fork may be closed in the child (nothing is unlocked there).
 * From a callback, another handle of the object may be closed, but not the
 * table whose operation called back: that operation still uses it.
 * @param table the table.
 * @retval NETSHM_OK     success.
 * @retval NETSHM_EINVAL NULL, or the table is inside a group (end it first).
 * @retval NETSHM_EBUSY  called while a callback of one of this table's own
 *                       operations runs (from it, or from a callback nested in
 *                       it); the table stays open and usable: close it once the
 *                       operation returned.
 * @threads Any thread, but not while another thread uses the same handle.
 */
NETSHM_API int netshm_table_close(netshm_table *table);

/**
 * Sets how long each lock wait of the table's operations may last (a find,
 * an add, netshm_group_begin(), ...), in both locking modes: record locks,
 * the writer mutex of NETSHM_MUTEX_LOCKING, and the wait for another thread
 * of this process that holds the object in a group.  A wait that runs out
 * makes the operation return NETSHM_ETIMEDOUT; the operation took no lock
 * and changed nothing, and the table stays usable (inside a group, the
 * locks the group took before stay held until it ends).  With a timeout set,
 * record locks are taken by attempts a few milliseconds apart at most, not by
 * the kernel's queue, so a wait may take up to 5 ms longer than the lock's
 * release, and the kernel's deadlock detection (NETSHM_EDEADLK) does not
 * apply: a deadlock ends with NETSHM_ETIMEDOUT instead.  With 0 every wait
 * is as without this call.  Advised with NETSHM_MUTEX_LOCKING when a process
 * holds groups on several tables at once: nothing detects a deadlock there
 * (doc/locking.md, "Deadlocks").
 * @param table        the table.
 * @param milliseconds the longest wait of each lock; 0 waits for ever (the
 *                     default, or the descriptor's: netshm_descr_set_lock_timeout()).
 * @retval NETSHM_OK     success.
 * @retval NETSHM_EINVAL NULL handle.
 * @threads Any thread; it applies to the operations that start afterwards.
 */
NETSHM_API int netshm_set_lock_timeout(netshm_table *table, unsigned milliseconds);

/**
 * Runs fn(table, ctx) as a group: the locks of the operations inside are kept
 * until the group ends, so no other process interferes with the sequence (no
 * rollback: this is not a transaction).  Groups nest.  The body may modify the
 * table freely.  A NETSHM_EDEADLK inside leaves the locks taken so far held
 * until the group ends; end it and retry.
 * @param table the table.
 * @param fn    the body; its answer is returned.
 * @param ctx   passed to fn.
 * @return what fn returned (a negative value passes through); or
 * @retval NETSHM_EINVAL  NULL argument, or ending the group failed (see
 *                        netshm_group_end()).
 * @retval NETSHM_ECLOSED the descriptor was closed.
 * @retval NETSHM_EFORKED the table was inherited across fork.
 * @retval NETSHM_ESYS    releasing the locks at the end failed.
 * @retval NETSHM_ENOMEM  out of memory.
 * @threads Any thread; other threads of the process wait while the group runs.
 */
NETSHM_API int netshm_group(netshm_table *table, int (*fn)(netshm_table *table, void *ctx),
                            void *ctx);

/**
 * Runs fn(table, ctx) as a write group: like netshm_group(), but the
 * descriptor page's write lock is taken up front.  Read-modify-write groups
 * (find, then replace) of several processes then serialize, where plain groups
 * would fail with NETSHM_EDEADLK when two of them upgrade their read locks at
 * once.  Still compatible with OCamlnet's protocol (a stronger lock).
 * @param table the table.
 * @param fn    the body; its answer is returned.
 * @param ctx   passed to fn.
 * @return what fn returned; or the codes of netshm_group(), and
 * @retval NETSHM_EREADONLY the table is read-only.
 * @retval NETSHM_EDEADLK   taking the write lock would deadlock.
 * @threads As netshm_group().
 */
NETSHM_API int netshm_group_write(netshm_table *table, int (*fn)(netshm_table *table, void *ctx),
                                  void *ctx);

/**
 * Begins a write group (see netshm_group_write()); end it with
 * netshm_group_end() on the same thread.
 * @param table the table.
 * @retval NETSHM_OK        success.
 * @retval NETSHM_EINVAL    NULL table.
 * @retval NETSHM_EREADONLY the table is read-only.
 * @retval NETSHM_EDEADLK   taking the write lock would deadlock.
 * @retval NETSHM_ECLOSED   the descriptor was closed.
 * @retval NETSHM_EFORKED   the table was inherited across fork.
 * @retval NETSHM_ESYS      fcntl(2) failed.
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread; the process's other threads wait until the group ends.
 */
NETSHM_API int netshm_group_begin_write(netshm_table *table);

/**
 * Begins a group (see netshm_group()); end it with netshm_group_end() on the
 * same thread.
 * @param table the table.
 * @retval NETSHM_OK      success.
 * @retval NETSHM_EINVAL  NULL table.
 * @retval NETSHM_ECLOSED the descriptor was closed.
 * @retval NETSHM_EFORKED the table was inherited across fork.
 * @retval NETSHM_ENOMEM  out of memory.
 * @threads Any thread; the process's other threads wait until the group ends.
 */
NETSHM_API int netshm_group_begin(netshm_table *table);

/**
 * Ends a group; the outermost end releases every lock the group kept.
 * @param table the table.
 * @retval NETSHM_OK      success.
 * @retval NETSHM_EINVAL  NULL table, no group is open, or the group was begun
 *                        by another thread: answered at once, without waiting
 *                        for that thread; the group stays open for it to end.
 * @retval NETSHM_EFORKED the table was inherited across fork.
 * @retval NETSHM_ESYS    fcntl(2) failed while releasing.
 * @threads The thread that began the group.
 */
NETSHM_API int netshm_group_end(netshm_table *table);

/**
 * Adds a binding of key to value[0..len); older bindings of key stay, hidden.
 * The table grows (the object too) when it needs room: by a quarter of its
 * size at least, or, when the file system has no room for that, by only the
 * pages the value needs.
 * @param table the table.
 * @param key   the key.
 * @param value the words, copied; may be NULL when len is 0.
 * @param len   the number of words.
 * @retval NETSHM_OK          success.
 * @retval NETSHM_EINVAL      NULL table, or value NULL with len > 0.
 * @retval NETSHM_ETOOBIG     len > INT32_MAX, or the table cannot grow further
 *                            (2^31-1 pages or 16 hash extents).
 * @retval NETSHM_EREADONLY   the table is read-only.
 * @retval NETSHM_ESELFLOCKED called from a callback of this table.
 * @retval NETSHM_ECORRUPT    the table is corrupt (nothing was written).
 * @retval NETSHM_ESYS        an OS error, e.g. ENOSPC (or EFBIG, the file size
 *                            limit) while growing: not even the pages the
 *                            value needs fit (nothing was written).
 * @retval NETSHM_EDEADLK     the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED     the descriptor was closed.
 * @retval NETSHM_EFORKED     the table was inherited across fork.
 * @retval NETSHM_ENOMEM      out of memory.
 * @threads Any thread (the table's operations are serialized per process).
 */
NETSHM_API int netshm_add(netshm_table *table, int32_t key, const int32_t *value, size_t len);

/**
 * Replaces the newest binding of key (adds one if key is unbound).  Space for
 * the new value is reserved first: on failure the old binding is still there.
 * @param table the table.
 * @param key   the key.
 * @param value the words, copied; may be NULL when len is 0.
 * @param len   the number of words.
 * @return the codes of netshm_add().
 * @threads Any thread.
 */
NETSHM_API int netshm_replace(netshm_table *table, int32_t key, const int32_t *value, size_t len);

/**
 * Removes the newest binding of key, making the previous one visible.  Removing
 * an unbound key does nothing and succeeds.  Freed pages go to the table's free
 * list; the object never shrinks.
 * @param table the table.
 * @param key   the key.
 * @retval NETSHM_OK          success.
 * @retval NETSHM_EINVAL      NULL table.
 * @retval NETSHM_EREADONLY   the table is read-only.
 * @retval NETSHM_ESELFLOCKED called from a callback of this table.
 * @retval NETSHM_ECORRUPT    the table is corrupt.
 * @retval NETSHM_EDEADLK     the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED     the descriptor was closed.
 * @retval NETSHM_EFORKED     the table was inherited across fork.
 * @retval NETSHM_ESYS        an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM      out of memory.
 * @threads Any thread.
 */
NETSHM_API int netshm_remove(netshm_table *table, int32_t key);

/**
 * Whether key is bound.
 * @param table the table.
 * @param key   the key.
 * @return 1 if key is bound, 0 if not; or
 * @retval NETSHM_EINVAL   NULL table.
 * @retval NETSHM_ECORRUPT the table is corrupt.
 * @retval NETSHM_EDEADLK  the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED  the descriptor was closed.
 * @retval NETSHM_EFORKED  the table was inherited across fork.
 * @retval NETSHM_ESYS     an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM   out of memory.
 * @threads Any thread; allowed from callbacks.
 */
NETSHM_API int netshm_mem(netshm_table *table, int32_t key);

/**
 * Copies the newest binding of key into memory allocated by the library.
 * @param table the table.
 * @param key   the key.
 * @param[out] value the value (non-NULL even when empty), the caller's: freed
 *                   with netshm_free().  NULL on failure.
 * @param[out] len   its length in words; 0 on failure.
 * @retval NETSHM_OK        success.
 * @retval NETSHM_ENOTFOUND key is unbound.
 * @retval NETSHM_EINVAL    NULL argument.
 * @retval NETSHM_ECORRUPT  the table is corrupt.
 * @retval NETSHM_EDEADLK   the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED   the descriptor was closed.
 * @retval NETSHM_EFORKED   the table was inherited across fork.
 * @retval NETSHM_ESYS      an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread; allowed from callbacks.
 */
NETSHM_API int netshm_find(netshm_table *table, int32_t key, int32_t **value, size_t *len);

/**
 * Copies the newest binding of key into the caller's buffer.
 * @param table the table.
 * @param key   the key.
 * @param buf   the buffer; may be NULL when cap is 0.
 * @param cap   its capacity in words.
 * @param[out] len the value's length.  When cap is too small nothing is copied,
 *                 NETSHM_ETOOBIG is returned and *len is the length needed.
 * @retval NETSHM_OK        success.
 * @retval NETSHM_ENOTFOUND key is unbound (*len = 0).
 * @retval NETSHM_ETOOBIG   the buffer is too small.
 * @retval NETSHM_EINVAL    NULL table or len, or buf NULL with cap > 0.
 * @retval NETSHM_ECORRUPT  the table is corrupt.
 * @retval NETSHM_EDEADLK   the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED   the descriptor was closed.
 * @retval NETSHM_EFORKED   the table was inherited across fork.
 * @retval NETSHM_ESYS      an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread; allowed from callbacks.
 */
NETSHM_API int netshm_find_into(netshm_table *table, int32_t key, int32_t *buf, size_t cap,
                                size_t *len);

/** Where netshm_find_many() put one key's value. */
typedef struct netshm_found {
    size_t offset; /**< the value's first word in values (0 when unbound) */
    size_t len;    /**< its length in words (0 when unbound) */
    int rc;        /**< NETSHM_OK, or NETSHM_ENOTFOUND when the key is unbound */
} netshm_found;

/**
 * Copies the newest binding of each of n keys into the caller's buffer, one
 * value after another in key order (a key given twice: two copies), its
 * cache misses overlapped with those of the other keys.  The keys go in
 * chunks of 64, each chunk read from one snapshot of the table: with record
 * locking under one read lock of the descriptor page, with mutex locking
 * optimistically (a chunk a writer disturbed is read again, and after 64
 * attempts under the writer mutex).  Different chunks may see different
 * snapshots.
 * @param table  the table.
 * @param keys   the keys; may be NULL when n is 0.
 * @param n      how many.
 * @param[out] found  n entries: found[i] says where the value of keys[i] is,
 *                    filled in full even when the buffer is too small.
 *                    May be NULL when n is 0.
 * @param values the buffer; may be NULL when cap is 0.
 * @param cap    its capacity in words.
 * @param[out] needed the words of all values (repeated keys counted again);
 *                    may be NULL.  When cap is too small, the values that
 *                    fit whole (offset + len <= cap) are copied, and
 *                    NETSHM_ETOOBIG is returned.
 * @retval NETSHM_OK        every value fitted (also when some keys are unbound).
 * @retval NETSHM_ETOOBIG   the buffer is too small for all values.
 * @retval NETSHM_EINVAL    NULL table, keys or found with n > 0, or values NULL with cap > 0.
 * @retval NETSHM_ECORRUPT  the table is corrupt (a binding of one of the keys).
 * @retval NETSHM_EDEADLK   the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED   the descriptor was closed.
 * @retval NETSHM_EFORKED   the table was inherited across fork.
 * @retval NETSHM_ESYS      an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM    out of memory.
 * @threads Any thread; allowed from callbacks.
 */
NETSHM_API int netshm_find_many(netshm_table *table, const int32_t *keys, size_t n, netshm_found *found,
                                int32_t *values, size_t cap, size_t *needed);

/**
 * Frees memory returned by the library (netshm_find()).
 * @param memory the memory, or NULL (ignored).
 * @threads Any thread.
 */
NETSHM_API void netshm_free(void *memory);

/**
 * Calls fn for every binding of key, newest first, with the value copied out.
 * The table is read-locked while fn runs: modifying it from fn gives
 * NETSHM_ESELFLOCKED, closing it NETSHM_EBUSY; reading is allowed.
 * @param table the table.
 * @param key   the key.
 * @param fn    called with the value (valid during the call only) and its
 *              length; answers 0 to go on, or a negative value to stop.
 * @param ctx   passed to fn.
 * @return NETSHM_OK (also when key is unbound); fn's negative answer; or
 * @retval NETSHM_EINVAL   NULL argument, or fn answered a positive value.
 * @retval NETSHM_ECORRUPT the table is corrupt.
 * @retval NETSHM_EDEADLK  the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED  the descriptor was closed.
 * @retval NETSHM_EFORKED  the table was inherited across fork.
 * @retval NETSHM_ESYS     an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM   out of memory.
 * @threads Any thread; fn runs on the calling thread.
 */
NETSHM_API int netshm_find_all(netshm_table *table, int32_t key,
                               int (*fn)(const int32_t *value, size_t len, void *ctx), void *ctx);

/**
 * Calls fn once for every binding of the table, a key's bindings newest first;
 * the order of keys is unspecified.  Locked as netshm_find_all().  A value
 * that fits in its binding's first page is handed in place, in the table's
 * memory, without a copy; a longer one is copied out.
 * @param table the table.
 * @param fn    called with the key, the value (valid during the call only) and
 *              its length; answers 0 to go on, or a negative value to stop.
 * @param ctx   passed to fn.
 * @return the codes of netshm_find_all().
 * @threads Any thread; fn runs on the calling thread.
 */
NETSHM_API int netshm_iter(netshm_table *table,
                           int (*fn)(int32_t key, const int32_t *value, size_t len, void *ctx),
                           void *ctx);

/**
 * Calls fn once for every bound key.  Locked as netshm_find_all().
 * @param table the table.
 * @param fn    called with the key; answers 0 to go on, or a negative value to
 *              stop.
 * @param ctx   passed to fn.
 * @return the codes of netshm_find_all().
 * @threads Any thread; fn runs on the calling thread.
 */
NETSHM_API int netshm_iter_keys(netshm_table *table, int (*fn)(int32_t key, void *ctx), void *ctx);

/**
 * The number of bindings (several bindings of one key count several times).
 * @param table the table.
 * @param[out] out the number.
 * @retval NETSHM_OK       success.
 * @retval NETSHM_EINVAL   NULL argument.
 * @retval NETSHM_ECORRUPT the table is corrupt.
 * @retval NETSHM_EDEADLK  the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED  the descriptor was closed.
 * @retval NETSHM_EFORKED  the table was inherited across fork.
 * @retval NETSHM_ESYS     an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM   out of memory.
 * @threads Any thread; allowed from callbacks.
 */
NETSHM_API int netshm_length(netshm_table *table, size_t *out);

/** Answers of block callbacks. */
enum {
    NETSHM_CONTINUE = 0,       /**< go on with the next fragment */
    NETSHM_NEXT = 1,           /**< skip to the next (older) binding */
    NETSHM_BREAK = 2,          /**< stop */
    NETSHM_REMOVE_BINDING = 3  /**< write_blocks: remove this binding when it ends */
};
/** Operations announced to netshm_write_blocks. */
enum {
    NETSHM_OP_REMOVE_BINDING = 1u /**< the callback may answer NETSHM_REMOVE_BINDING */
};

/**
 * Visits the bindings of key block by block, newest binding first: fn(frag, len)
 * for each fragment of a binding's value, then fn(NULL, 0) at its end.  An empty
 * value is one zero-length fragment with a non-NULL pointer.  Fragments point
 * into the shared memory and are only read-locked: do not write through them;
 * they stay valid until fn returns.
 * @param table the table.
 * @param key   the key.
 * @param fn    answers NETSHM_CONTINUE, NETSHM_NEXT, NETSHM_BREAK or a negative
 *              value (stop; returned).  Modifying the table from fn gives
 *              NETSHM_ESELFLOCKED, closing it NETSHM_EBUSY.
 * @param ctx   passed to fn.
 * @return NETSHM_OK (also when key is unbound); fn's negative answer; or
 * @retval NETSHM_EINVAL   NULL argument, or fn answered another value.
 * @retval NETSHM_ECORRUPT the table is corrupt.
 * @retval NETSHM_EDEADLK  the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED  the descriptor was closed.
 * @retval NETSHM_EFORKED  the table was inherited across fork.
 * @retval NETSHM_ESYS     an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM   out of memory.
 * @threads Any thread; fn runs on the calling thread.
 */
NETSHM_API int netshm_find_blocks(netshm_table *table, int32_t key,
                                  int (*fn)(const int32_t *frag, size_t len, void *ctx),
                                  void *ctx);

/**
 * Like netshm_find_blocks() with writable, write-locked fragments.  fn may also
 * answer NETSHM_REMOVE_BINDING if ops contains NETSHM_OP_REMOVE_BINDING.  Once
 * fn answered REMOVE_BINDING for a binding, the binding is removed when it ends
 * (normally, by NEXT or by BREAK); a negative answer later in the same binding
 * cancels that binding's removal (earlier bindings' removals stay).
 * @param table the table.
 * @param ops   0 or NETSHM_OP_REMOVE_BINDING.
 * @param key   the key.
 * @param fn    the callback, as for netshm_find_blocks(); it may write the
 *              fragment's words.
 * @param ctx   passed to fn.
 * @return the codes of netshm_find_blocks(), and
 * @retval NETSHM_EINVAL      unknown ops, or REMOVE_BINDING answered without
 *                            being announced.
 * @retval NETSHM_EREADONLY   the table is read-only.
 * @retval NETSHM_ESELFLOCKED called from a callback of this table.
 * @threads Any thread; fn runs on the calling thread.
 */
NETSHM_API int netshm_write_blocks(netshm_table *table, unsigned ops, int32_t key,
                                   int (*fn)(int32_t *frag, size_t len, void *ctx), void *ctx);

/**
 * Writes every binding to a file descriptor as Netshm.dump prints it.  A pipe
 * or socket whose reader is gone is NETSHM_ESYS with EPIPE, never a SIGPIPE:
 * the signal is blocked in the calling thread during the writes and the one
 * they raise is discarded (one already pending stays); the process's signal
 * dispositions and the thread's signal mask are left as they were.
 * @param table the table.
 * @param fd    an open file descriptor (not closed).
 * @retval NETSHM_OK       success.
 * @retval NETSHM_EINVAL   NULL table.
 * @retval NETSHM_ESYS     write(2) failed (e.g. EBADF, EPIPE), or fcntl, mmap.
 * @retval NETSHM_ECORRUPT the table is corrupt.
 * @retval NETSHM_EDEADLK  the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED  the descriptor was closed.
 * @retval NETSHM_EFORKED  the table was inherited across fork.
 * @retval NETSHM_ENOMEM   out of memory.
 * @threads Any thread.
 */
NETSHM_API int netshm_dump(netshm_table *table, int fd);

/**
 * The mapped object, for inspection: no lock is held once this returns.
 * @param table the table.
 * @param[out] base           page 0 of the mapping; owned by the table, valid
 *                            until the next call on this table (which may remap).
 * @param[out] pages          the number of pages mapped.
 * @param[out] words_per_page int32 words per page.
 * @retval NETSHM_OK       success.
 * @retval NETSHM_EINVAL   NULL argument.
 * @retval NETSHM_ECORRUPT the table is corrupt.
 * @retval NETSHM_EDEADLK  the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED  the descriptor was closed.
 * @retval NETSHM_EFORKED  the table was inherited across fork.
 * @retval NETSHM_ESYS     an OS error (fcntl, mmap).
 * @retval NETSHM_ENOMEM   out of memory.
 * @threads Any thread.
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
 * @threads Any thread; allowed from callbacks.  fn runs on the calling thread
 *          once the check released its lock (a lock taken by an operation
 *          whose callback called netshm_check stays held).
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


/* ---------------------------------------------------------------- repair */

/**
 * What netshm_repair() did.  The struct may grow at its end in later
 * versions: set struct_size to sizeof(netshm_repair_report) before the call;
 * the library fills the whole fields that fit in that many bytes and sets
 * struct_size to the bytes it filled (as netshm_stats).
 */
typedef struct netshm_repair_report {
    uint32_t struct_size;      /**< [in/out] sizeof(netshm_repair_report) */
    uint64_t bindings_kept;    /**< bindings reachable from the index and intact, kept in their order
                                    (for a sound table: its length) */
    uint64_t bindings_dropped; /**< bindings the index or an older-binding link led to that were
                                    damaged (or that an unreadable link named): gone */
    uint64_t pages_reclaimed;  /**< pages put on the free list that were not on it: pages a killed
                                    writer took (a binding never committed, or not yet freed by a
                                    remove), pages nobody owned, the pages of dropped bindings */
} netshm_repair_report;

/**
 * Repairs a table whose index, counters or free list are wrong, typically
 * after a writer was killed with record locking (pages taken and never given
 * back: netshm_check() reports lost pages and netshm_stat() refuses).  Under
 * the exclusive lock (record locking: the descriptor page's write lock, which
 * every reader and writer of this library and of OCamlnet takes first; mutex
 * locking: the writer mutex, also when its area is marked corrupt; no
 * locking: nothing), it rebuilds the hash index, the counters and the free
 * list from the content pages: every intact binding the index leads to is
 * kept in its per-key order, damaged ones are dropped, bindings never
 * committed and pages nobody owns go to the free list (doc/guide.md, "After
 * a crash", says exactly what is kept).  A sound table is left as it is, byte
 * for byte.  Afterwards netshm_check() finds no problem.  A repair killed
 * midway leaves a table that netshm_repair() repairs again.
 *
 * @param table the table (any locking mode).
 * @param[in,out] out what was done; out->struct_size must be set first.
 * @retval NETSHM_OK          success: the table is sound.
 * @retval NETSHM_EINVAL      NULL argument, or struct_size smaller than 8.
 * @retval NETSHM_EREADONLY   the table is read-only.
 * @retval NETSHM_ESELFLOCKED called from a callback of this table.
 * @retval NETSHM_ECORRUPT    the descriptor's structure (magic, page count,
 *                            hash size, extents) is damaged or the object is
 *                            smaller than its page count: the pages cannot be
 *                            found by it, and nothing was changed.
 * @retval NETSHM_EDEADLK     the kernel reported a lock deadlock.
 * @retval NETSHM_ECLOSED     the descriptor was closed.
 * @retval NETSHM_EFORKED     the table was inherited across fork.
 * @retval NETSHM_ESYS        an OS error (fcntl, fstat, mmap).
 * @retval NETSHM_ENOMEM      out of memory.
 * @threads Any thread; not from callbacks (NETSHM_ESELFLOCKED).
 */
NETSHM_API int netshm_repair(netshm_table *table, netshm_repair_report *out);

#ifdef __cplusplus
}
#endif

#endif /* NETSHM_H */
