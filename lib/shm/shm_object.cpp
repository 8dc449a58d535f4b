#include "shm/shm_object.hpp"

#include "shm/random_name.hpp"
#include "util/error.hpp"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace netshm::core {
namespace {

constexpr int accepted_flags = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC;
constexpr unsigned max_mode = 07777;
constexpr int unique_name_attempts = 1000;

const char *open_verb(shm_kind kind)
{
    return kind == shm_kind::posix ? "shm_open" : "open";
}

void validate_kind(shm_kind kind)
{
    if (kind != shm_kind::file && kind != shm_kind::posix)
        throw_invalid("unknown object type " + std::to_string(static_cast<int>(kind)));
}

void validate_open_arguments(std::string_view name, int oflags, unsigned mode)
{
    if ((oflags & ~accepted_flags) != 0)
        throw_invalid("open " + std::string(name) +
                      ": unsupported open flags (only O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC)");
    int access = oflags & O_ACCMODE;
    if (access != O_RDONLY && access != O_RDWR)
        throw_invalid("open " + std::string(name) + ": access mode must be O_RDONLY or O_RDWR");
    if ((oflags & O_TRUNC) != 0 && access != O_RDWR)
        throw_invalid("open " + std::string(name) + ": O_TRUNC needs O_RDWR");
    if (mode > max_mode)
        throw_invalid("open " + std::string(name) + ": mode " + std::to_string(mode) +
                      " has bits outside 07777");
}

const char *kind_of_file(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

// Refuses anything but a regular file or shm object (a table could not live
// there, and reading a FIFO or a device would hang or consume its data), and
// restores blocking mode.  Closes `fd` when it throws.
void require_regular(int fd, const std::string &name)
{
    struct stat st;
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        throw_system(err, "fstat", name);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw_invalid("open " + name + ": " + kind_of_file(st.st_mode) +
                      ", not a regular file or shared-memory object");
    }
    int status = ::fcntl(fd, F_GETFL);
    if (status < 0 || ::fcntl(fd, F_SETFL, status & ~O_NONBLOCK) != 0) {
        int err = errno;
        ::close(fd);
        throw_system(err, "fcntl", name);
    }
}

bool is_symbolic_link(const std::string &name)
{
    struct stat st;
    return ::lstat(name.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

// O_TRUNC is never passed on: truncate_unless_open (lock/presence.hpp) does
// it once no process has a table on the object.  O_NONBLOCK keeps the open of
// a FIFO from waiting for a writer; require_regular refuses it then.  A file
// that may be created is never reached through a symbolic link (glibc's
// shm_open never follows one), so that nobody can plant a link in a shared
// folder and have another user's file written.
int open_descriptor(shm_kind kind, const std::string &name, int oflags, unsigned mode)
{
    const bool no_follow = kind == shm_kind::file && (oflags & (O_CREAT | O_TRUNC)) != 0;
    const int flags = (oflags & ~O_TRUNC) | O_CLOEXEC | O_NONBLOCK | (no_follow ? O_NOFOLLOW : 0);
    for (;;) {
        int fd = kind == shm_kind::posix ? ::shm_open(name.c_str(), flags, static_cast<mode_t>(mode))
                                         : ::open(name.c_str(), flags, static_cast<mode_t>(mode));
        if (fd >= 0) {
            require_regular(fd, name);
            return fd;
        }
        const int err = errno;
        if (err == EINTR)
            continue;
        if (err == ELOOP && no_follow && is_symbolic_link(name))
            throw error(errc::system,
                        "open " + name + ": a symbolic link, never followed when the object may be created or "
                        "truncated (open the link's target by its own name)",
                        ELOOP);
        throw_system(err, open_verb(kind), name);
    }
}

} // namespace

void validate_name(shm_kind kind, std::string_view name)
{
    validate_kind(kind);
    if (name.empty())
        throw_invalid("the object name is empty");
    if (name.find('\0') != std::string_view::npos)
        throw_invalid("the object name contains a NUL byte");
    if (kind == shm_kind::posix) {
        if (name.front() != '/' || name.size() < 2)
            throw_invalid("POSIX object name \"" + std::string(name) +
                          "\" must be '/' followed by at least one character");
        if (name.find('/', 1) != std::string_view::npos)
            throw_invalid("POSIX object name \"" + std::string(name) +
                          "\" must not contain a '/' after the first character");
        if (name.size() - 1 > NAME_MAX)
            throw_invalid("POSIX object name \"" + std::string(name) + "\" is longer than " +
                          std::to_string(NAME_MAX) + " characters");
    }
}

std::shared_ptr<shm_object> shm_object::open(shm_kind kind, std::string_view name, int oflags,
                                             unsigned mode)
{
    validate_name(kind, name);
    validate_open_arguments(name, oflags, mode);
    std::string owned(name);
    int fd = open_descriptor(kind, owned, oflags, mode);
    bool writable = (oflags & O_ACCMODE) == O_RDWR;
    std::shared_ptr<lock_state> locks;
    try {
        locks = lock_state::of(fd, writable, owned);
    } catch (...) {
        ::close(fd);
        throw;
    }
    return std::shared_ptr<shm_object>(new shm_object(kind, std::move(owned), fd, writable, std::move(locks), true));
}

std::shared_ptr<shm_object> shm_object::open_with_lock_file(std::string_view shm_name,
                                                            std::string_view lock_file, int oflags,
                                                            unsigned mode)
{
    validate_name(shm_kind::posix, shm_name);
    validate_name(shm_kind::file, lock_file);
    validate_open_arguments(shm_name, oflags, mode);
    std::string lock_path(lock_file);
    bool writable = (oflags & O_ACCMODE) == O_RDWR;
    int lock_fd = open_descriptor(shm_kind::file, lock_path, oflags, mode);
    std::shared_ptr<lock_state> locks;
    try {
        locks = lock_state::of(lock_fd, writable, lock_path);
    } catch (...) {
        ::close(lock_fd);
        throw;
    }
    {
        std::lock_guard<recursive_mutex> hold(locks->mutex());
        locks->close_descriptor(lock_fd);
    }
    std::string owned(shm_name);
    int fd = open_descriptor(shm_kind::posix, owned, oflags, mode);
    return std::shared_ptr<shm_object>(new shm_object(shm_kind::posix, std::move(owned), fd, writable,
                                                      std::move(locks), false));
}

std::shared_ptr<shm_object> shm_object::create_unique(shm_kind kind, std::string_view name_template,
                                                      unsigned mode)
{
    validate_name(kind, name_template);
    validate_open_arguments(name_template, O_RDWR, mode);
    random_name_generator generator;
    std::string candidate(name_template);
    for (int attempt = 0; attempt < unique_name_attempts; ++attempt) {
        generator.fill_placeholders(name_template, candidate);
        try {
            return open(kind, candidate, O_RDWR | O_CREAT | O_EXCL, mode);
        } catch (const error &e) {
            if (e.code() != errc::exists)
                throw;
        }
    }
    throw error(errc::exists, "create_unique " + std::string(name_template) + ": no free name after " +
                                  std::to_string(unique_name_attempts) + " attempts");
}

void shm_object::unlink(shm_kind kind, std::string_view name)
{
    validate_name(kind, name);
    std::string owned(name);
    int rc = kind == shm_kind::posix ? ::shm_unlink(owned.c_str()) : ::unlink(owned.c_str());
    if (rc != 0)
        throw_system(errno, kind == shm_kind::posix ? "shm_unlink" : "unlink", owned);
}

shm_object::~shm_object()
{
    close();
}

int shm_object::fd() const
{
    if (fd_ < 0)
        throw error(errc::closed, "object " + name_ + " is closed");
    return fd_;
}

void shm_object::close() noexcept
{
    if (inherited()) {
        if (fd_ >= 0)
            lock_state::close_inherited(std::exchange(fd_, -1));
        return;
    }
    auto hold = hold_descriptor();
    if (fd_ < 0)
        return;
    int fd = std::exchange(fd_, -1);
    if (locks_on_object_)
        locks_->close_descriptor(fd);
    else
        ::close(fd);
}

std::unique_lock<recursive_mutex> shm_object::hold_descriptor() const
{
    // After fork the mutex may be held by a thread that only exists in the parent.
    if (inherited())
        return {};
    return std::unique_lock<recursive_mutex>(locks_->mutex());
}

void shm_object::chmod(unsigned mode)
{
    auto hold = hold_descriptor();
    if (mode > max_mode)
        throw_invalid("chmod " + name_ + ": mode " + std::to_string(mode) + " has bits outside 07777");
    if (::fchmod(fd(), static_cast<mode_t>(mode)) != 0)
        throw_system(errno, "chmod", name_);
}

void shm_object::chown(long uid, long gid)
{
    auto valid_id = [](long id) { return id == -1 || (id >= 0 && id < static_cast<long>(UINT32_MAX)); };
    auto hold = hold_descriptor();
    if (!valid_id(uid) || !valid_id(gid))
        throw_invalid("chown " + name_ + ": user and group ids must be -1 or between 0 and 2^32-2");
    if (::fchown(fd(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
        throw_system(errno, "chown", name_);
}

void shm_object::truncate()
{
    auto hold = hold_descriptor();
    int rc;
    do
        rc = ::ftruncate(fd(), 0);
    while (rc != 0 && errno == EINTR);
    if (rc != 0)
        throw_system(errno, "truncate", name_);
}

std::uint64_t shm_object::size() const
{
    struct stat st;
    if (::fstat(fd(), &st) != 0)
        throw_system(errno, "fstat", name_);
    return static_cast<std::uint64_t>(st.st_size);
}

void shm_object::grow_to(std::uint64_t bytes)
{
    if (bytes > static_cast<std::uint64_t>(INT64_MAX))
        throw error(errc::too_big, "grow " + name_ + ": size out of range");
    int rc;
    do
        rc = ::posix_fallocate(fd(), 0, static_cast<off_t>(bytes));
    while (rc == EINTR);
    if (rc != 0)
        throw_system(rc, "grow " + name_ + " to", std::to_string(bytes) + " bytes");
}

} // namespace netshm::core
