#include "bench_scratch_object.hpp"

#include <climits>
#include <cstring>
#include <unistd.h>

namespace netshm_tool::bench {

namespace {

// What the signal handler removes.  POSIX objects are files of /dev/shm on
// Linux: unlink(2) is async-signal-safe, shm_unlink and the library are not.
char object_path[PATH_MAX];
volatile std::sig_atomic_t object_exists = 0;

extern "C" void remove_object_and_die(int sig)
{
    if (object_exists != 0)
        ::unlink(object_path);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

sigset_t termination_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

} // namespace

termination_signals_blocked::termination_signals_blocked()
{
    sigset_t set = termination_signals();
    ::sigprocmask(SIG_BLOCK, &set, &old_mask_);
}

termination_signals_blocked::~termination_signals_blocked() { ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr); }

void reset_termination_signals_in_child()
{
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    sigset_t set = termination_signals();
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

scratch_object::scratch_object(const std::string &name_template)
{
    struct sigaction action {};
    action.sa_handler = remove_object_and_die;
    sigemptyset(&action.sa_mask);
    termination_signals_blocked blocked;
    ::sigaction(SIGINT, &action, &old_interrupt_);
    ::sigaction(SIGTERM, &action, &old_terminate_);
    try {
        descr_ = netshm::descriptor::create_unique(netshm::shm_type::posix, name_template);
    } catch (...) {
        ::sigaction(SIGINT, &old_interrupt_, nullptr);
        ::sigaction(SIGTERM, &old_terminate_, nullptr);
        throw;
    }
    name_ = descr_.name();
    std::string path = "/dev/shm" + name_;
    std::strncpy(object_path, path.c_str(), sizeof object_path - 1);
    object_exists = 1;
}

scratch_object::~scratch_object()
{
    termination_signals_blocked blocked;
    object_exists = 0;
    try {
        netshm::unlink(netshm::shm_type::posix, name_);
    } catch (const netshm::error &) {
        // Removed by someone else: nothing is left behind either way.
    }
    ::sigaction(SIGINT, &old_interrupt_, nullptr);
    ::sigaction(SIGTERM, &old_terminate_, nullptr);
}

} // namespace netshm_tool::bench
