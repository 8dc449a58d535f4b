// The object `netshm bench` works on: a new POSIX object under a unique name,
// removed when the bench ends, whether it succeeds, fails, or is stopped by
// SIGINT or SIGTERM.
#pragma once

#include <netshm.hpp>

#include <csignal>
#include <string>

namespace netshm_tool::bench {

class scratch_object {
public:
    // Creates the object from a template such as "/netshm-bench-XXXXXXXX".
    explicit scratch_object(const std::string &name_template);
    ~scratch_object();
    scratch_object(const scratch_object &) = delete;
    scratch_object &operator=(const scratch_object &) = delete;

    const std::string &name() const { return name_; }
    netshm::descriptor &descriptor() { return descr_; }

private:
    struct sigaction old_interrupt_ {};
    struct sigaction old_terminate_ {};
    netshm::descriptor descr_;
    std::string name_;
};

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

} // namespace netshm_tool::bench
