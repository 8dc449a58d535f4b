/**
 * @file netshm.hpp
 * @brief netshm — C++20 header-only wrapper over the netshm C ABI.
 *
 * Move-only RAII handles (netshm::descriptor, netshm::table), exceptions
 * carrying the C result code and the library's message (netshm::error and one
 * subclass per code), values in as `std::span<const int32_t>` and out as
 * `std::vector<int32_t>`, lambdas for groups, iteration and blocks.  Only the
 * C ABI of netshm.h is used here: its reference says, function by function,
 * what each call does, which errors it returns and its thread rules; the
 * members below name the C function they call.
 */
#ifndef NETSHM_HPP
#define NETSHM_HPP

#include <netshm.h>

#include <array>
#include <chrono>
#include <climits>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

/// The C++ wrapper: everything of netshm.hpp.
namespace netshm {

// ------------------------------------------------------------------ errors

/// Every failure of the library: the C result code and the detail message.
///
/// Each result code has its own class derived from error, all of them direct
/// subclasses: catch error for every failure, a subclass for one code.  A code
/// this header does not know (from a newer library) is thrown as error itself.
class error : public std::exception {
public:
    /// @param code a negative netshm_result
    /// @param message the detail text (netshm_last_error() at the failure)
    error(int code, std::string message) : code_(code), message_(std::move(message)) {}
    /// @return the C result code, a negative netshm_result
    [[nodiscard]] int code() const noexcept { return code_; }
    /// @return the detail message, valid as long as the exception
    [[nodiscard]] const char *what() const noexcept override { return message_.c_str(); }

private:
    int code_;
    std::string message_;
};

/// NETSHM_ENOTFOUND: no such key, object or name.
class not_found : public error {
public:
    using error::error;
};
/// NETSHM_ECORRUPT: the table violates the format.
class corrupt_file : public error {
public:
    using error::error;
};
/// NETSHM_EDEADLK: the kernel detected a lock deadlock.
class deadlock : public error {
public:
    using error::error;
};
/// NETSHM_EINVAL: an invalid argument.
class invalid_argument : public error {
public:
    using error::error;
};
/// NETSHM_ESYS: an OS call failed; sys_errno() is its errno.
class system_error : public error {
public:
    /// @param code NETSHM_ESYS
    /// @param message the detail text
    /// @param sys_errno the errno of the failed call (netshm_last_errno())
    system_error(int code, std::string message, int sys_errno)
        : error(code, std::move(message)), sys_errno_(sys_errno) {}
    /// @return the errno of the OS call that failed
    [[nodiscard]] int sys_errno() const noexcept { return sys_errno_; }

private:
    int sys_errno_;
};
/// NETSHM_ENOMEM: out of memory.
class out_of_memory : public error {
public:
    using error::error;
};
/// NETSHM_ESELFLOCKED: a modification from a callable holding the table locked.
class self_locked : public error {
public:
    using error::error;
};
/// NETSHM_ECLOSED: the descriptor or the handle is closed (or was moved from).
class closed : public error {
public:
    using error::error;
};
/// NETSHM_ENOTSUP: not supported on this system.
class not_supported : public error {
public:
    using error::error;
};
/// NETSHM_EEXIST: the object exists (O_EXCL), or no unique name was found.
class exists : public error {
public:
    using error::error;
};
/// NETSHM_ETOOBIG: a size limit of the format or the system was hit.
class too_big : public error {
public:
    using error::error;
};
/// NETSHM_EFORKED: a handle inherited across fork, used in the child.
class forked : public error {
public:
    using error::error;
};
/// NETSHM_EBUSY: the object is in use in an incompatible way (record locking
/// and mutex locking on one object), or a table closed from a callback of its
/// own operation.
class busy : public error {
public:
    using error::error;
};
/// NETSHM_EREADONLY: a write on a table opened read-only.
class read_only : public error {
public:
    using error::error;
};
/// NETSHM_ETIMEDOUT: a lock wait ran past the lock timeout (set_lock_timeout).
class timed_out : public error {
public:
    using error::error;
};

namespace detail {

// Throws the class of rc's code (error itself for a code this header does not
// know) with the calling thread's last error message.
[[noreturn]] inline void throw_error(int rc)
{
    std::string message = netshm_last_error();
    switch (rc) {
    case NETSHM_ENOTFOUND: throw not_found(rc, std::move(message));
    case NETSHM_ECORRUPT: throw corrupt_file(rc, std::move(message));
    case NETSHM_EDEADLK: throw deadlock(rc, std::move(message));
    case NETSHM_EINVAL: throw invalid_argument(rc, std::move(message));
    case NETSHM_ESYS: throw system_error(rc, std::move(message), netshm_last_errno());
    case NETSHM_ENOMEM: throw out_of_memory(rc, std::move(message));
    case NETSHM_ESELFLOCKED: throw self_locked(rc, std::move(message));
    case NETSHM_ECLOSED: throw closed(rc, std::move(message));
    case NETSHM_ENOTSUP: throw not_supported(rc, std::move(message));
    case NETSHM_EEXIST: throw exists(rc, std::move(message));
    case NETSHM_ETOOBIG: throw too_big(rc, std::move(message));
    case NETSHM_EFORKED: throw forked(rc, std::move(message));
    case NETSHM_EBUSY: throw busy(rc, std::move(message));
    case NETSHM_EREADONLY: throw read_only(rc, std::move(message));
    case NETSHM_ETIMEDOUT: throw timed_out(rc, std::move(message));
    default: throw error(rc, std::move(message));
    }
}

// A lock timeout as the C ABI takes it; invalid_argument outside its range.
inline unsigned timeout_milliseconds(std::chrono::milliseconds limit)
{
    if (limit.count() < 0 || limit.count() > UINT_MAX)
        throw invalid_argument(NETSHM_EINVAL, "set_lock_timeout: the timeout must be 0 to " +
                                                  std::to_string(UINT_MAX) + " milliseconds");
    return static_cast<unsigned>(limit.count());
}

// Throws for a negative result code, returns the others.
inline int check(int rc)
{
    if (rc < 0)
        throw_error(rc);
    return rc;
}

[[noreturn]] inline void throw_closed()
{
    throw closed(NETSHM_ECLOSED, "the handle is closed or was moved from");
}

// What a trampoline returns when the user's callable threw: below the
// library's own codes (-1..-99), so the library stops, releases its locks and
// hands it back unchanged; the caller then rethrows the stored exception.
inline constexpr int callback_threw = -100;

// A user callable and the exception it threw, carried through the C ABI.
template <class F>
struct callback_context {
    F &fn;
    std::exception_ptr thrown{};
};

// Runs a call of the C API whose callbacks used `ctx`: rethrows what the user's
// callable threw, else throws for a negative result code.
template <class F>
int finish(int rc, const callback_context<F> &ctx)
{
    if (ctx.thrown)
        std::rethrow_exception(ctx.thrown);
    return check(rc);
}

// Calls `body` and turns any exception into callback_threw.
template <class F, class Body>
int guard(callback_context<F> &ctx, Body &&body) noexcept
{
    try {
        return body();
    } catch (...) {
        ctx.thrown = std::current_exception();
        return callback_threw;
    }
}

} // namespace detail

// --------------------------------------------------------------- objects

/// Where an object lives (netshm_type).
enum class shm_type : int {
    file = NETSHM_TYPE_FILE,   ///< a regular file, named by its path
    posix = NETSHM_TYPE_POSIX  ///< a POSIX shared-memory object, "/name"
};

/// How a table is locked across processes (netshm_locking).
enum class locking : int {
    none = NETSHM_NO_LOCKING,          ///< no locks: one process, or readers only
    record = NETSHM_RECORD_LOCKING,    ///< fcntl record locks, as OCamlnet's Record_locking
    mutex = NETSHM_MUTEX_LOCKING       ///< a robust process-shared mutex: every process using the
                                       ///< table must use this library (netshm.h)
};

/// An open shared-memory object.  Move-only; closed by the destructor.
class descriptor {
public:
    /// A closed descriptor (every call but close() throws netshm::closed).
    descriptor() noexcept = default;
    /// Takes ownership of a handle obtained from the C API.
    /// @param handle what netshm_open() or the like gave, closed by this object
    [[nodiscard]] explicit descriptor(netshm_descr *handle) noexcept : handle_(handle) {}

    /// Opens or creates an object (netshm_open).
    /// @param type file or POSIX object
    /// @param name the file's path, or "/name" for a POSIX object
    /// @param oflags O_RDONLY or O_RDWR with O_CREAT, O_EXCL, O_TRUNC as needed
    ///     (no symbolic link followed with O_CREAT or O_TRUNC, and O_TRUNC
    ///     refused with netshm::busy while a table is open on the object)
    /// @param mode permissions of a new object
    /// @return the open object
    /// @throws error (a subclass per code) when netshm_open() fails
    [[nodiscard]] static descriptor open(shm_type type, const std::string &name, int oflags,
                                         unsigned mode = 0600)
    {
        netshm_descr *handle = nullptr;
        detail::check(netshm_open(static_cast<netshm_type>(type), name.c_str(), oflags, mode, &handle));
        return descriptor(handle);
    }

    /// Creates an object of a new, unique name (netshm_create_unique).
    /// @param type file or POSIX object
    /// @param name_template a name whose last component's every 'X' becomes
    ///     a random [0-9A-Z] character
    /// @param mode permissions of the new object
    /// @return the new object; name() says its name
    /// @throws exists when no unique name was found
    [[nodiscard]] static descriptor create_unique(shm_type type, const std::string &name_template,
                                                  unsigned mode = 0600)
    {
        netshm_descr *handle = nullptr;
        detail::check(netshm_create_unique(static_cast<netshm_type>(type), name_template.c_str(),
                                           mode, &handle));
        return descriptor(handle);
    }

    /// Opens a POSIX object whose record locks live on a companion file, as
    /// OCamlnet 4.1.9 names them: the way to share POSIX tables with OCaml
    /// processes (netshm_open_posix_lockfile).
    /// @param shm_name the object, "/name"
    /// @param lock_file the path of the companion lock file
    /// @param oflags as for open()
    /// @param mode permissions of a new object and lock file
    /// @return the open object
    [[nodiscard]] static descriptor open_posix_lockfile(const std::string &shm_name,
                                                        const std::string &lock_file, int oflags,
                                                        unsigned mode = 0600)
    {
        netshm_descr *handle = nullptr;
        detail::check(netshm_open_posix_lockfile(shm_name.c_str(), lock_file.c_str(), oflags, mode, &handle));
        return descriptor(handle);
    }

    /// Not copyable: one object owns the handle.
    descriptor(const descriptor &) = delete;
    /// Not copyable: one object owns the handle.
    descriptor &operator=(const descriptor &) = delete;
    /// Takes over the handle of `other`, which is left closed.
    /// @param other the descriptor moved from
    descriptor(descriptor &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    /// Closes this descriptor's handle, then takes over the handle of `other`.
    /// @param other the descriptor moved from, left closed
    /// @return this descriptor
    descriptor &operator=(descriptor &&other) noexcept
    {
        if (this != &other) {
            release();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    /// Closes the handle, ignoring a failure (close() reports one).
    ~descriptor() { release(); }

    /// @return the object's name (netshm_name)
    [[nodiscard]] std::string name() const { return netshm_name(live()); }
    /// @return whether the object is a file or a POSIX object (netshm_descr_type)
    [[nodiscard]] shm_type type() const { return static_cast<shm_type>(netshm_descr_type(live())); }
    /// Changes the object's permissions (netshm_chmod).
    /// @param mode the new permission bits
    void chmod(unsigned mode) { detail::check(netshm_chmod(live(), mode)); }
    /// Changes the object's owner and group (netshm_chown).
    /// @param uid the new owner; -1 leaves it unchanged
    /// @param gid the new group; -1 leaves it unchanged
    void chown(long uid, long gid) { detail::check(netshm_chown(live(), uid, gid)); }
    /// Sets the longest wait of each lock of table::manage on this descriptor,
    /// and the lock timeout of the tables managed from it afterwards
    /// (netshm_descr_set_lock_timeout); netshm::timed_out when a wait runs out.
    /// @param limit the longest wait; 0 (the default) waits for ever
    void set_lock_timeout(std::chrono::milliseconds limit)
    {
        detail::check(netshm_descr_set_lock_timeout(live(), detail::timeout_milliseconds(limit)));
    }

    /// Closes now and reports a failure (netshm_close); closing twice does nothing.
    void close()
    {
        if (handle_ != nullptr)
            detail::check(netshm_close(std::exchange(handle_, nullptr)));
    }

    /// @return the C handle, still owned by this object; nullptr when closed
    [[nodiscard]] netshm_descr *handle() const noexcept { return handle_; }
    /// @return whether the descriptor is open
    [[nodiscard]] explicit operator bool() const noexcept { return handle_ != nullptr; }

private:
    netshm_descr *live() const
    {
        if (handle_ == nullptr)
            detail::throw_closed();
        return handle_;
    }
    void release() noexcept
    {
        if (handle_ != nullptr)
            netshm_close(std::exchange(handle_, nullptr));
    }

    netshm_descr *handle_ = nullptr;
};

/// Removes an object's name from the system (netshm_unlink); processes that
/// have it open keep using it.
/// @param type file or POSIX object
/// @param name the file's path or "/name"
/// @throws not_found when there is no such object
inline void unlink(shm_type type, const std::string &name)
{
    detail::check(netshm_unlink(static_cast<netshm_type>(type), name.c_str()));
}

/// Removes a POSIX object and its companion lock file
/// (netshm_unlink_posix_lockfile).
/// @param shm_name the object, "/name"
/// @param lock_file the path of the companion lock file
inline void unlink_posix_lockfile(const std::string &shm_name, const std::string &lock_file)
{
    detail::check(netshm_unlink_posix_lockfile(shm_name.c_str(), lock_file.c_str()));
}

// ----------------------------------------------------------------- tables

/// Answers of block callables (table::find_blocks, table::write_blocks).
enum class flow : int {
    proceed = NETSHM_CONTINUE,              ///< go on with the next fragment
    next = NETSHM_NEXT,                     ///< skip to the next (older) binding
    stop = NETSHM_BREAK,                    ///< stop the whole operation
    remove_binding = NETSHM_REMOVE_BINDING  ///< write_blocks: remove this binding
};

/// Operations table::write_blocks must be told about before its callable may
/// answer them.
enum class ops : unsigned {
    none = 0,                                 ///< no operation beyond writing the fragments
    remove_binding = NETSHM_OP_REMOVE_BINDING ///< the callable may answer flow::remove_binding
};
/// Both sets of operations.
/// @param a operations
/// @param b more operations
/// @return the operations of a and b
[[nodiscard]] constexpr ops operator|(ops a, ops b) noexcept
{
    return static_cast<ops>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}

/// The mapped object (table::memory): valid until the next call on the table.
struct memory_view {
    std::span<int32_t> words;    ///< pages * words_per_page words, page 0 first
    std::size_t pages;           ///< the object's size in pages
    std::size_t words_per_page;  ///< the page size in 4-byte words
};

/// What kind of damage table::check found (netshm_problem_kind; netshm.h
/// describes each kind).
enum class problem_kind : int {
    master = NETSHM_PROBLEM_MASTER,                ///< master page (page 0): magic or descriptor pointer
    descriptor = NETSHM_PROBLEM_DESCRIPTOR,        ///< descriptor page: magic or a counter out of range
    object_size = NETSHM_PROBLEM_OBJECT_SIZE,      ///< the object is smaller than its page count says
    extent = NETSHM_PROBLEM_EXTENT,                ///< a hash extent out of range, overlapping or mis-sized
    hash_cell = NETSHM_PROBLEM_HASH_CELL,          ///< a hash cell: bad pointer or nonzero spare words
    probe = NETSHM_PROBLEM_PROBE,                  ///< a key not reachable by probing, or bound in two cells
    content_page = NETSHM_PROBLEM_CONTENT_PAGE,    ///< a binding's first page: magic, key, offset or length
    follow_up = NETSHM_PROBLEM_FOLLOW_UP,          ///< a follow-up page: magic, key, sequence or chain length
    binding_chain = NETSHM_PROBLEM_BINDING_CHAIN,  ///< a key's older-binding chain: bad pointer or a cycle
    free_list = NETSHM_PROBLEM_FREE_LIST,          ///< the free list: bad pointer, magic, cycle
    page_shared = NETSHM_PROBLEM_PAGE_SHARED,      ///< a page reached twice (two owners, or a cycle)
    page_lost = NETSHM_PROBLEM_PAGE_LOST,          ///< a page nobody owns: not hash, content nor free
    count = NETSHM_PROBLEM_COUNT,                  ///< a descriptor counter disagrees with the walk
    tail = NETSHM_PROBLEM_TAIL                     ///< nonzero bytes after the last page
};

/// One problem table::check found.
struct problem {
    problem_kind kind;    ///< what kind of damage
    int32_t page;         ///< the page it is on; -1: the object as a whole
    std::string message;  ///< what is wrong, for a person
};

/// table::stat's answer (netshm_stats); struct_size is what the library filled.
using stats = netshm_stats;
/// What table::repair() did (netshm_repair_report).
using repair_report = netshm_repair_report;

/// What table::find_many found, one entry per key in key order, each the
/// key's value or nullopt when unbound.  It owns its buffers and keeps them
/// between calls: refilled by a find_many no larger than before, it allocates
/// nothing.  Views into it are valid until it is refilled or destroyed.
class found_values {
public:
    /// An entry: the key's newest value, or nullopt when unbound.
    using value_type = std::optional<std::span<const int32_t>>;

    /// An input iterator over the entries, in key order.
    class iterator {
    public:
        using value_type = found_values::value_type;  ///< an entry
        using difference_type = std::ptrdiff_t;  ///< as input iterators have
        /// An iterator of no object.
        iterator() = default;
        /// @return the entry it is at
        value_type operator*() const { return (*owner_)[index_]; }
        /// Moves to the next entry.
        /// @return this iterator
        iterator &operator++() noexcept
        {
            ++index_;
            return *this;
        }
        /// Moves to the next entry.
        /// @return the iterator as it was
        iterator operator++(int) noexcept
        {
            iterator before = *this;
            ++index_;
            return before;
        }
        /// @param other an iterator over the same entries
        /// @return whether both are at the same entry
        bool operator==(const iterator &other) const noexcept { return index_ == other.index_; }

    private:
        friend class found_values;
        iterator(const found_values *owner, std::size_t index) noexcept : owner_(owner), index_(index) {}
        const found_values *owner_ = nullptr;
        std::size_t index_ = 0;
    };

    /// @return the number of entries (keys asked for)
    [[nodiscard]] std::size_t size() const noexcept { return found_.size(); }
    /// @return whether no key was asked for
    [[nodiscard]] bool empty() const noexcept { return found_.empty(); }
    /// @param i the index of a key in the call's keys
    /// @return that key's value, or nullopt when unbound
    [[nodiscard]] value_type operator[](std::size_t i) const
    {
        const netshm_found &f = found_[i];
        if (f.rc != NETSHM_OK)
            return std::nullopt;
        return std::span<const int32_t>(values_.data() + f.offset, f.len);
    }
    /// @return an iterator at the first entry
    [[nodiscard]] iterator begin() const noexcept { return {this, 0}; }
    /// @return an iterator past the last entry
    [[nodiscard]] iterator end() const noexcept { return {this, found_.size()}; }

private:
    friend class table;
    std::vector<netshm_found> found_;
    // Grown to the largest batch's words, never shrunk: refilling reuses it.
    std::vector<int32_t> values_;
};

/// A table managed on an open descriptor, which must outlive it.  Move-only;
/// closed by the destructor.  A handle must not be used in a forked child.
///
/// Callables given to the methods below may throw: the exception is carried
/// across the C ABI, the library releases every lock the call took, and the
/// exception is rethrown unchanged.  Callables of iter, iter_keys, fold,
/// find_blocks and write_blocks may read the table; modifying it throws
/// self_locked.  The callable of group may do anything.
///
/// Every member that reaches the table throws netshm::closed on a closed
/// table, and netshm::error (the subclass of its code) when the C function it
/// calls fails.
class table {
public:
    /// A closed table (every call but close() throws netshm::closed).
    table() noexcept = default;
    /// Takes ownership of a handle obtained from the C API.
    /// @param handle what netshm_manage() gave, closed by this object
    [[nodiscard]] explicit table(netshm_table *handle) noexcept : handle_(handle) {}

    /// Manages the table of an object (netshm_manage), creating it in an
    /// empty object.
    /// @param descr the open object; it must outlive the table
    /// @param lock how processes lock the table
    /// @param pagesize 0: the table's own page size, or 256 for a new table
    /// @param init re-initialise the table (deleting every binding), sized for
    ///     about this many keys; without it an existing table is kept
    /// @return the table
    /// @throws invalid_argument for a negative init
    /// @throws corrupt_file when the object holds a damaged table or other data
    [[nodiscard]] static table manage(descriptor &descr, locking lock, unsigned pagesize = 0,
                                      std::optional<long long> init = {})
    {
        if (!descr)
            detail::throw_closed();
        if (init && *init < 0)
            throw invalid_argument(NETSHM_EINVAL, "manage: init must be >= 0");
        netshm_table *handle = nullptr;
        detail::check(netshm_manage(descr.handle(), static_cast<netshm_locking>(lock), pagesize,
                                    init.value_or(-1), &handle));
        return table(handle);
    }

    /// Not copyable: one object owns the handle.
    table(const table &) = delete;
    /// Not copyable: one object owns the handle.
    table &operator=(const table &) = delete;
    /// Takes over the handle of `other`, which is left closed.
    /// @param other the table moved from
    table(table &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    /// Closes this table's handle, then takes over the handle of `other`.
    /// @param other the table moved from, left closed
    /// @return this table
    table &operator=(table &&other) noexcept
    {
        if (this != &other) {
            release();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    /// Closes the handle, ignoring a failure (close() reports one).
    ~table() { release(); }

    /// Closes now and reports a failure (netshm_table_close), e.g. inside a
    /// group, or netshm::busy from a callback of the table's own operation (the
    /// table then stays open); closing twice does nothing.
    void close()
    {
        if (handle_ != nullptr) {
            detail::check(netshm_table_close(handle_));
            handle_ = nullptr;
        }
    }

    /// @return the C handle, still owned by this object; nullptr when closed
    [[nodiscard]] netshm_table *handle() const noexcept { return handle_; }
    /// @return whether the table is open
    [[nodiscard]] explicit operator bool() const noexcept { return handle_ != nullptr; }

    /// Sets the longest wait of each lock of this table's operations, in both
    /// locking modes (netshm_set_lock_timeout). A wait that runs out throws
    /// netshm::timed_out, the operation having taken no lock and changed nothing.
    /// @param limit the longest wait; 0 waits for ever (the default, or the descriptor's)
    void set_lock_timeout(std::chrono::milliseconds limit)
    {
        detail::check(netshm_set_lock_timeout(live(), detail::timeout_milliseconds(limit)));
    }

    /// Adds a binding; older bindings of key stay, hidden (netshm_add).
    /// @param key the key
    /// @param value the words bound to it, copied into the table
    void add(int32_t key, std::span<const int32_t> value)
    {
        detail::check(netshm_add(live(), key, value.data(), value.size()));
    }
    /// Replaces the newest binding of key, or adds one (netshm_replace).
    /// @param key the key
    /// @param value the words bound to it, copied into the table
    void replace(int32_t key, std::span<const int32_t> value)
    {
        detail::check(netshm_replace(live(), key, value.data(), value.size()));
    }
    /// Removes the newest binding of key, making the previous one visible; nothing
    /// if key is unbound (netshm_remove).
    /// @param key the key
    void remove(int32_t key) { detail::check(netshm_remove(live(), key)); }
    /// @param key the key
    /// @return whether key is bound (netshm_mem)
    [[nodiscard]] bool mem(int32_t key) { return detail::check(netshm_mem(live(), key)) != 0; }

    /// The newest binding of key (netshm_find_into).
    /// @param key the key
    /// @return a copy of its words
    /// @throws not_found when key is unbound
    [[nodiscard]] std::vector<int32_t> find(int32_t key)
    {
        std::vector<int32_t> value;
        if (int rc = fetch(key, value); rc != NETSHM_OK)
            detail::throw_error(rc);
        return value;
    }
    /// The newest binding of key, if any (netshm_find_into).
    /// @param key the key
    /// @return a copy of its words, or std::nullopt when key is unbound
    [[nodiscard]] std::optional<std::vector<int32_t>> try_find(int32_t key)
    {
        std::vector<int32_t> value;
        if (fetch(key, value) != NETSHM_OK)
            return std::nullopt;
        return value;
    }
    /// Copies the newest binding of key into `out`, reusing its storage
    /// (netshm_find_into).
    /// @param key the key
    /// @param[out] out the binding's words; empty when key is unbound
    /// @return whether key is bound
    [[nodiscard]] bool find_into(int32_t key, std::vector<int32_t> &out)
    {
        return fetch(key, out) == NETSHM_OK;
    }

    /// The newest binding of each key, in one call that overlaps their cache
    /// misses (netshm_find_many).
    /// @param keys the keys; a key given twice gets two entries
    /// @return one entry per key, in key order
    [[nodiscard]] found_values find_many(std::span<const int32_t> keys)
    {
        found_values out;
        find_many(keys, out);
        return out;
    }
    /// The same into `out`, reusing its buffers (no allocation once warm).
    /// @param keys the keys
    /// @param out refilled with one entry per key
    void find_many(std::span<const int32_t> keys, found_values &out)
    {
        netshm_table *t = live();
        out.found_.resize(keys.size());
        std::size_t needed = 0;
        int rc = netshm_find_many(t, keys.data(), keys.size(), out.found_.data(), out.values_.data(),
                                  out.values_.size(), &needed);
        // Too small: grow to what was needed, again while writers grow values.
        while (rc == NETSHM_ETOOBIG) {
            out.values_.resize(needed);
            rc = netshm_find_many(t, keys.data(), keys.size(), out.found_.data(), out.values_.data(),
                                  out.values_.size(), &needed);
        }
        detail::check(rc);
    }

    /// Every binding of key, newest first (netshm_find_all).
    /// @param key the key
    /// @return copies of the bindings; empty when key is unbound
    [[nodiscard]] std::vector<std::vector<int32_t>> find_all(int32_t key)
    {
        std::vector<std::vector<int32_t>> values;
        auto collect = [&values](std::span<const int32_t> value) {
            values.emplace_back(value.begin(), value.end());
        };
        detail::callback_context<decltype(collect)> ctx{collect};
        detail::finish(netshm_find_all(live(), key, &value_trampoline<decltype(collect)>, &ctx), ctx);
        return values;
    }

    /// Calls f(key, value) for every binding, a key's bindings newest first
    /// (netshm_iter).
    /// @tparam F invocable as f(int32_t, std::span<const int32_t>)
    /// @param f the callable; the value span is valid during the call only
    template <class F>
        requires std::invocable<F &, int32_t, std::span<const int32_t>>
    void iter(F &&f)
    {
        detail::callback_context<std::remove_reference_t<F>> ctx{f};
        detail::finish(netshm_iter(live(), &binding_trampoline<std::remove_reference_t<F>>, &ctx), ctx);
    }

    /// Calls f(key) once for every bound key (netshm_iter_keys).
    /// @tparam F invocable as f(int32_t)
    /// @param f the callable
    template <class F>
        requires std::invocable<F &, int32_t>
    void iter_keys(F &&f)
    {
        detail::callback_context<std::remove_reference_t<F>> ctx{f};
        detail::finish(netshm_iter_keys(live(), &key_trampoline<std::remove_reference_t<F>>, &ctx), ctx);
    }

    /// Folds the bindings: acc = f(key, value, acc) for every binding, as iter
    /// visits them.
    /// @tparam T the accumulator's type
    /// @tparam F invocable as f(int32_t, std::span<const int32_t>, T), returning a T
    /// @param f the callable
    /// @param init the accumulator's first value
    /// @return the last accumulator
    template <class T, class F>
        requires std::invocable<F &, int32_t, std::span<const int32_t>, T>
    [[nodiscard]] T fold(F &&f, T init)
    {
        iter([&](int32_t key, std::span<const int32_t> value) { init = f(key, value, std::move(init)); });
        return init;
    }

    /// @return the number of bindings, a key bound twice counting twice (netshm_length)
    [[nodiscard]] std::size_t length()
    {
        std::size_t n = 0;
        detail::check(netshm_length(live(), &n));
        return n;
    }

    /// Runs f() with the locks of the operations inside kept until it returns
    /// (netshm_group): no rollback, not a transaction.  Groups nest.
    /// @tparam F invocable without arguments
    /// @param f the callable; it may do anything with the table
    /// @return what f returns
    template <class F>
        requires std::invocable<F &>
    std::invoke_result_t<F &> group(F &&f)
    {
        return grouped(&netshm_group, f);
    }

    /// Like group, but takes the descriptor page's write lock up front
    /// (netshm_group_write): read-modify-write groups (find, then replace) of
    /// several processes then serialize, where plain groups can throw
    /// netshm::deadlock.
    /// @tparam F invocable without arguments
    /// @param f the callable; it may do anything with the table
    /// @return what f returns
    template <class F>
        requires std::invocable<F &>
    std::invoke_result_t<F &> group_write(F &&f)
    {
        return grouped(&netshm_group_write, f);
    }

    /// Calls f(fragment) for each fragment of each binding of key, newest
    /// binding first, then f(std::nullopt) at the binding's end
    /// (netshm_find_blocks).  Fragments point into the shared memory
    /// (read-locked only: do not cast away const).
    /// @tparam F invocable as f(std::optional<std::span<const int32_t>>),
    ///     answering a flow (proceed, next or stop) or void (proceed)
    /// @param key the key
    /// @param f the callable
    template <class F>
        requires std::invocable<F &, std::optional<std::span<const int32_t>>>
    void find_blocks(int32_t key, F &&f)
    {
        detail::callback_context<std::remove_reference_t<F>> ctx{f};
        detail::finish(netshm_find_blocks(live(), key,
                                          &block_trampoline<std::remove_reference_t<F>, const int32_t>, &ctx),
                       ctx);
    }

    /// Like find_blocks with writable, write-locked fragments
    /// (netshm_write_blocks).
    /// @tparam F invocable as f(std::optional<std::span<int32_t>>), answering a
    ///     flow or void (proceed)
    /// @param key the key
    /// @param f the callable; it may answer flow::remove_binding when
    ///     `announced` contains ops::remove_binding (else invalid_argument); the
    ///     last non-proceed answer of a binding decides
    /// @param announced the operations f may answer
    template <class F>
        requires std::invocable<F &, std::optional<std::span<int32_t>>>
    void write_blocks(int32_t key, F &&f, ops announced = ops::none)
    {
        detail::callback_context<std::remove_reference_t<F>> ctx{f};
        detail::finish(netshm_write_blocks(live(), static_cast<unsigned>(announced), key,
                                           &block_trampoline<std::remove_reference_t<F>, int32_t>, &ctx),
                       ctx);
    }

    /// Writes every binding to fd as Netshm.dump prints it (netshm_dump).
    /// @param fd an open file descriptor, left open
    void dump(int fd) { detail::check(netshm_dump(live(), fd)); }

    /// @return the mapped object (netshm_memory), valid until the next call on
    ///     this table
    [[nodiscard]] memory_view memory()
    {
        int32_t *base = nullptr;
        memory_view view{{}, 0, 0};
        detail::check(netshm_memory(live(), &base, &view.pages, &view.words_per_page));
        view.words = std::span<int32_t>(base, view.pages * view.words_per_page);
        return view;
    }

    /// Verifies the whole table, in one state of it (netshm_check).
    /// @return the problems found, in page order; empty when the table is sound
    [[nodiscard]] std::vector<problem> check()
    {
        std::vector<problem> found;
        auto collect = [&found](const netshm_problem &p) {
            found.push_back({static_cast<problem_kind>(p.kind), p.page, p.message});
        };
        detail::callback_context<decltype(collect)> ctx{collect};
        detail::finish(netshm_check(live(), &problem_trampoline<decltype(collect)>, &ctx), ctx);
        return found;
    }

    /// The table's statistics, read in one state of it (netshm_stat).
    /// @return the statistics; struct_size says how much the library filled
    /// @throws corrupt_file when check() would find a problem
    [[nodiscard]] stats stat()
    {
        stats s{};
        s.struct_size = sizeof s;
        detail::check(netshm_stat(live(), &s));
        return s;
    }

    /// Rebuilds the index, counters and free list from the content pages under
    /// the exclusive lock (netshm_repair).
    /// @return what was kept, dropped and reclaimed
    /// @throws corrupt_file when the descriptor's structure is too damaged to
    ///     find the pages by
    repair_report repair()
    {
        repair_report r{};
        r.struct_size = sizeof r;
        detail::check(netshm_repair(live(), &r));
        return r;
    }

private:
    // Values up to this many words are found without a heap allocation besides
    // the result's own.
    static constexpr std::size_t stack_words = 256;

    netshm_table *live() const
    {
        if (handle_ == nullptr)
            detail::throw_closed();
        return handle_;
    }
    void release() noexcept
    {
        if (handle_ != nullptr)
            netshm_table_close(std::exchange(handle_, nullptr));
    }

    // NETSHM_OK with the value in `out`, or NETSHM_ENOTFOUND (out empty, the
    // last error still set); throws for other failures.
    int fetch(int32_t key, std::vector<int32_t> &out)
    {
        netshm_table *t = live();
        std::array<int32_t, stack_words> buf;
        std::size_t len = 0;
        int rc = netshm_find_into(t, key, buf.data(), buf.size(), &len);
        if (rc == NETSHM_OK)
            out.assign(buf.data(), buf.data() + len);
        // Bigger: read straight into `out`, retrying while the value grows.
        for (std::size_t cap = buf.size(); rc == NETSHM_ETOOBIG && len > cap;) {
            cap = len;
            out.clear();
            out.resize(cap);
            rc = netshm_find_into(t, key, out.data(), cap, &len);
            if (rc == NETSHM_OK)
                out.resize(len);
        }
        if (rc == NETSHM_ENOTFOUND)
            out.clear();
        else if (rc != NETSHM_OK)
            detail::throw_error(rc);
        return rc;
    }

    using group_runner = int (*)(netshm_table *, int (*)(netshm_table *, void *), void *);

    template <class F>
    std::invoke_result_t<F &> grouped(group_runner run, F &f)
    {
        using R = std::invoke_result_t<F &>;
        if constexpr (std::is_void_v<R>) {
            auto body = [&f] { f(); return 0; };
            run_group(run, body);
        } else if constexpr (std::is_lvalue_reference_v<R>) {
            auto body = [&f] { return &f(); };
            return *run_group(run, body);
        } else {
            auto body = [&f] { return f(); };
            return run_group(run, body);
        }
    }

    template <class Body>
    auto run_group(group_runner run, Body &body)
    {
        using R = std::invoke_result_t<Body &>;
        std::optional<R> result;
        auto store = [&] { result.emplace(body()); };
        detail::callback_context<decltype(store)> ctx{store};
        detail::finish(run(live(), &group_trampoline<decltype(store)>, &ctx), ctx);
        return std::move(*result);
    }

    // Trampolines: plain functions the C ABI calls back, with the context as ctx.
    template <class F>
    static int group_trampoline(netshm_table *, void *ctx)
    {
        auto &c = *static_cast<detail::callback_context<F> *>(ctx);
        return detail::guard(c, [&] { c.fn(); return NETSHM_OK; });
    }
    template <class F>
    static int value_trampoline(const int32_t *value, std::size_t len, void *ctx)
    {
        auto &c = *static_cast<detail::callback_context<F> *>(ctx);
        return detail::guard(c, [&] { c.fn(std::span<const int32_t>(value, len)); return NETSHM_OK; });
    }
    template <class F>
    static int binding_trampoline(int32_t key, const int32_t *value, std::size_t len, void *ctx)
    {
        auto &c = *static_cast<detail::callback_context<F> *>(ctx);
        return detail::guard(c, [&] { c.fn(key, std::span<const int32_t>(value, len)); return NETSHM_OK; });
    }
    template <class F>
    static int key_trampoline(int32_t key, void *ctx)
    {
        auto &c = *static_cast<detail::callback_context<F> *>(ctx);
        return detail::guard(c, [&] { c.fn(key); return NETSHM_OK; });
    }
    template <class F>
    static int problem_trampoline(const netshm_problem *p, void *ctx)
    {
        auto &c = *static_cast<detail::callback_context<F> *>(ctx);
        return detail::guard(c, [&] { c.fn(*p); return NETSHM_OK; });
    }
    template <class F, class Word>
    static int block_trampoline(Word *frag, std::size_t len, void *ctx)
    {
        auto &c = *static_cast<detail::callback_context<F> *>(ctx);
        return detail::guard(c, [&] {
            std::optional<std::span<Word>> fragment;
            if (frag != nullptr)
                fragment.emplace(frag, len);
            if constexpr (std::is_void_v<std::invoke_result_t<F &, std::optional<std::span<Word>>>>) {
                c.fn(fragment);
                return NETSHM_CONTINUE;
            } else {
                flow answer = c.fn(fragment);
                return static_cast<int>(answer);
            }
        });
    }

    netshm_table *handle_ = nullptr;
};

} // namespace netshm

#endif // NETSHM_HPP
