#include "util/write_all.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <pthread.h>
#include <string>
#include <unistd.h>

namespace netshm::core {

namespace {

// SIGPIPE blocked in this thread while it lives.  A write to a pipe without
// a reader raises SIGPIPE for the writing thread: blocked, it stays pending,
// and is taken back (sigtimedwait without waiting) unless one was pending
// already, which is the caller's.  The mask is then restored: a library may
// not change how the process handles the signal (a handler or SIG_IGN set
// here would be the whole process's).
class sigpipe_withheld {
public:
    sigpipe_withheld() noexcept
    {
        sigemptyset(&sigpipe_);
        sigaddset(&sigpipe_, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_mask_);
        sigset_t pending;
        already_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    }
    ~sigpipe_withheld()
    {
        int saved_errno = errno;
        if (raised_ && !already_pending_) {
            const timespec no_wait{};
            while (sigtimedwait(&sigpipe_, nullptr, &no_wait) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
        errno = saved_errno;
    }
    sigpipe_withheld(const sigpipe_withheld &) = delete;
    sigpipe_withheld &operator=(const sigpipe_withheld &) = delete;

    void note_raised() noexcept { raised_ = true; }

private:
    sigset_t sigpipe_;
    sigset_t previous_mask_;
    bool already_pending_ = false;
    bool raised_ = false;
};

} // namespace

void write_all(int fd, std::string_view data, std::string_view what)
{
    sigpipe_withheld withheld;
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            int err = errno;
            if (err == EINTR)
                continue;
            if (err == EPIPE)
                withheld.note_raised();
            throw_system(err, what, std::to_string(fd));
        }
        done += static_cast<std::size_t>(n);
    }
}

} // namespace netshm::core
