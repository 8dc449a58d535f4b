// A new object built under a temporary name, so that its real name appears
// complete or not at all: the temporary is removed when it is not kept —
// after a failure, and on SIGINT or SIGTERM (then the tool dies of that
// signal).
#pragma once

#include <netshm.hpp>

#include <csignal>
#include <string>

namespace netshm_tool {

class temporary_object {
public:
    // Creates the object from a template such as "/netshm-bench-XXXXXXXX" or
    // "dir/.t.tmp-XXXXXXXX" (the X become random characters).
    temporary_object(netshm::shm_type type, const std::string &name_template, unsigned mode = 0600);
    ~temporary_object();
    temporary_object(const temporary_object &) = delete;
    temporary_object &operator=(const temporary_object &) = delete;

    const std::string &name() const { return name_; }
    netshm::descriptor &descriptor() { return descr_; }

    // Gives the object the name `final_name` (of the same type, in the same
    // directory or namespace) in one step. An existing object of that name is
    // replaced if `replace`, else it stays and this throws netshm::exists.
    void keep_as(const std::string &final_name, bool replace);

private:
    struct sigaction old_interrupt_ {};
    struct sigaction old_terminate_ {};
    netshm::shm_type type_;
    netshm::descriptor descr_;
    std::string name_;
    bool kept_ = false;
};

// The path of an object in the file system: POSIX objects are files of
// /dev/shm on Linux.
std::string path_of(netshm::shm_type type, const std::string &name);

// Blocks SIGINT and SIGTERM for its lifetime: a fork done meanwhile gives a
// child that can reset the handlers before any signal reaches it.
class termination_signals_blocked {
public:
    termination_signals_blocked();
    ~termination_signals_blocked();
    termination_signals_blocked(const termination_signals_blocked &) = delete;
    termination_signals_blocked &operator=(const termination_signals_blocked &) = delete;

private:
    sigset_t old_mask_;
};

// In a forked child: the default actions of SIGINT and SIGTERM, unblocked.
void reset_termination_signals_in_child();

} // namespace netshm_tool
