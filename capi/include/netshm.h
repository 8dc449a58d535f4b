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
    NETSHM_TYPE_POSIX = 2  /**< a POSIX shared-memory object (shm_open) */
} netshm_type;

/** How processes sharing a table are kept from interfering. */
typedef enum netshm_locking {
    NETSHM_NO_LOCKING = 0,     /**< none: only safe with one writer and no readers */
    NETSHM_RECORD_LOCKING = 1  /**< fcntl record locks, as OCamlnet's Record_locking */
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
 * The errno of the calling thread's last NETSHM_ESYS failure (0 if the last
 * failure was not an OS error).  errno itself is also set on NETSHM_ESYS.
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
 *                Other flags (O_WRONLY included) give NETSHM_EINVAL.  The
 *                descriptor is always opened O_CLOEXEC.
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

/** The object's name (owned by the handle; valid until netshm_close()). */
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

#ifdef __cplusplus
}
#endif

#endif /* NETSHM_H */
