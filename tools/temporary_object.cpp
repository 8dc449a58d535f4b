#include "temporary_object.hpp"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <unistd.h>

namespace netshm_tool {

namespace {

// What the signal handler removes: unlink(2) is async-signal-safe,
// shm_unlink and the library are not.  One temporary object at a time.
char object_path[PATH_MAX];
volatile std::sig_atomic_t remove_on_signal = 0;

extern "C" void remove_object_and_die(int sig)
{
    if (remove_on_signal != 0)
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

std::string path_of(netshm::shm_type type, const std::string &name)
{
    return type == netshm::shm_type::posix ? "/dev/shm" + name : name;
}

temporary_object::temporary_object(netshm::shm_type type, const std::string &name_template, unsigned mode)
    : type_(type)
{
    struct sigaction action {};
    action.sa_handler = remove_object_and_die;
    sigemptyset(&action.sa_mask);
    termination_signals_blocked blocked;
    ::sigaction(SIGINT, &action, &old_interrupt_);
    ::sigaction(SIGTERM, &action, &old_terminate_);
    try {
        descr_ = netshm::descriptor::create_unique(type, name_template, mode);
    } catch (...) {
        ::sigaction(SIGINT, &old_interrupt_, nullptr);
        ::sigaction(SIGTERM, &old_terminate_, nullptr);
        throw;
    }
    name_ = descr_.name();
    std::string path = path_of(type, name_);
    std::strncpy(object_path, path.c_str(), sizeof object_path - 1);
    remove_on_signal = 1;
}

void temporary_object::keep_as(const std::string &final_name, bool replace)
{
    std::string from = path_of(type_, name_);
    std::string to = path_of(type_, final_name);
    termination_signals_blocked blocked;
    // link(2) fails with EEXIST rather than replace: no object is lost to a race.
    int rc = replace ? ::rename(from.c_str(), to.c_str()) : ::link(from.c_str(), to.c_str());
    if (rc != 0) {
        int error = errno;
        if (error == EEXIST)
            throw netshm::exists(NETSHM_EEXIST, fmt::format("{}: {}", final_name, std::strerror(error)));
        throw netshm::system_error(
            NETSHM_ESYS, fmt::format("{} {} to {}: {}", replace ? "rename" : "link", from, to, std::strerror(error)),
            error);
    }
    if (!replace)
        ::unlink(from.c_str());
    kept_ = true;
}

temporary_object::~temporary_object()
{
    termination_signals_blocked blocked;
    remove_on_signal = 0;
    if (!kept_) {
        try {
            netshm::unlink(type_, name_);
        } catch (const netshm::error &) {
            // Removed by someone else: nothing is left behind either way.
        }
    }
    ::sigaction(SIGINT, &old_interrupt_, nullptr);
    ::sigaction(SIGTERM, &old_terminate_, nullptr);
}

} // namespace netshm_tool
