// The contention workload (issue 4): processes incrementing 16 shared
// counters with read-modify-write groups, { find; replace(v + 1) }, while
// they add distinct keys of their own so that the hash table grows (and its
// extents are added) under contention.  Shared by contention_test and
// contention_bench.  Plain C API, no Catch2: runs in forked children.
#pragma once

#include <netshm.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace contention {

constexpr int counters = 16;
constexpr int32_t counter_base = 100;  // counter c is key counter_base + c
// A new table sized for 1 key with the smallest pages (9 cells a page): the
// extra keys make it grow through 10 hash extents.
constexpr long long init_hint = 1;
constexpr unsigned pagesize = 160;

// Which counter iteration i of process p increments.
inline int counter_of(int process, int iteration) { return (process * 7 + iteration) % counters; }
// Every 5th iteration adds a key of the process's own: inside the group on
// even multiples of 5, as a plain netshm_add on odd ones.
inline bool adds_extra(int iteration) { return iteration % 5 == 0; }
inline bool adds_inside_group(int iteration) { return iteration % 10 == 0; }
inline int32_t extra_key(int process, int iteration) { return 1000000 + process * 100000 + iteration; }

// A counter holding v is v repeated 1 + v % 40 times: its length varies, so
// a replace often moves it to a different number of pages.
inline std::vector<int32_t> counter_value(int32_t v)
{
    return std::vector<int32_t>(static_cast<std::size_t>(1 + v % 40), v);
}
// The count a counter value holds, or -1 if the value is not well formed.
inline int32_t count_of(const int32_t *value, std::size_t len)
{
    if (len == 0)
        return -1;
    int32_t v = value[0];
    if (v < 0 || len != static_cast<std::size_t>(1 + v % 40))
        return -1;
    for (std::size_t i = 1; i < len; ++i)
        if (value[i] != v)
            return -1;
    return v;
}
inline std::vector<int32_t> extra_value(int32_t key) { return {key, ~key, key ^ 0x5a5a5a5a}; }

struct step {
    int process;
    int iteration;
    std::string *failure;
};

// find; replace(v + 1); maybe add: the body of a group.
inline int increment(netshm_table *table, void *ctx)
{
    step &s = *static_cast<step *>(ctx);
    const int32_t key = counter_base + counter_of(s.process, s.iteration);
    int32_t buffer[64];
    size_t len = 0;
    int rc = netshm_find_into(table, key, buffer, 64, &len);
    if (rc != NETSHM_OK)
        return rc;
    int32_t v = count_of(buffer, len);
    if (v < 0) {
        *s.failure = "counter " + std::to_string(key) + " holds a malformed value";
        return -100;
    }
    std::vector<int32_t> next = counter_value(v + 1);
    rc = netshm_replace(table, key, next.data(), next.size());
    if (rc != NETSHM_OK)
        return rc;
    if (adds_extra(s.iteration) && adds_inside_group(s.iteration)) {
        const int32_t extra = extra_key(s.process, s.iteration);
        std::vector<int32_t> value = extra_value(extra);
        rc = netshm_add(table, extra, value.data(), value.size());
    }
    return rc;
}

struct outcome {
    std::string failure;  // empty on success
    long deadlocks = 0;   // NETSHM_EDEADLK answers retried (plain groups)
};

// What one process does: open its own descriptor, manage, and run
// `iterations` increments, with netshm_group_write or with netshm_group
// retried on NETSHM_EDEADLK.
inline outcome run_process(const std::string &name, int process, int iterations, bool write_groups,
                           netshm_locking locking)
{
    outcome result;
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR, 0, &descr) != NETSHM_OK ||
        netshm_manage(descr, locking, 0, -1, &table) != NETSHM_OK) {
        result.failure = std::string("open/manage: ") + netshm_last_error();
        netshm_close(descr);
        return result;
    }
    for (int i = 0; i < iterations && result.failure.empty(); ++i) {
        step s{process, i, &result.failure};
        int rc;
        for (;;) {
            rc = write_groups ? netshm_group_write(table, increment, &s) : netshm_group(table, increment, &s);
            if (rc != NETSHM_EDEADLK || write_groups)
                break;
            ++result.deadlocks;
        }
        if (rc != NETSHM_OK && result.failure.empty())
            result.failure = "iteration " + std::to_string(i) + ": " + netshm_strerror(rc) + ": " +
                             netshm_last_error();
        if (rc == NETSHM_OK && adds_extra(i) && !adds_inside_group(i)) {
            const int32_t extra = extra_key(process, i);
            std::vector<int32_t> value = extra_value(extra);
            if ((rc = netshm_add(table, extra, value.data(), value.size())) != NETSHM_OK)
                result.failure = "add " + std::to_string(extra) + ": " + netshm_last_error();
        }
    }
    netshm_table_close(table);
    netshm_close(descr);
    return result;
}

// Creates the table: 16 counters at 0 in a fresh table of init hint 1 and
// page size 160.  Empty string on success.
inline std::string create_table(const std::string &name, netshm_locking locking = NETSHM_RECORD_LOCKING)
{
    netshm_descr *descr = nullptr;
    netshm_table *table = nullptr;
    std::string failure;
    if (netshm_open(NETSHM_TYPE_FILE, name.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600, &descr) != NETSHM_OK ||
        netshm_manage(descr, locking, pagesize, init_hint, &table) != NETSHM_OK) {
        failure = std::string("create: ") + netshm_last_error();
    } else {
        for (int c = 0; c < counters && failure.empty(); ++c) {
            std::vector<int32_t> zero = counter_value(0);
            if (netshm_add(table, counter_base + c, zero.data(), zero.size()) != NETSHM_OK)
                failure = std::string("add counter: ") + netshm_last_error();
        }
    }
    netshm_table_close(table);
    netshm_close(descr);
    return failure;
}

struct round_result {
    std::vector<std::string> failures;  // one per process that failed
    long deadlocks = 0;
    double seconds = 0;
};

// Runs `processes` processes of `iterations` increments each at once on the
// table `name` and waits for them; each child is killed by its alarm after
// `child_seconds`.  Every process reports "<deadlocks> <failure>" through a
// pipe.
inline round_result run_round(const std::string &name, int processes, int iterations, bool write_groups,
                              unsigned child_seconds, netshm_locking locking = NETSHM_RECORD_LOCKING)
{
    round_result result;
    std::vector<pid_t> pids;
    std::vector<int> reports;
    int start_gate[2];
    if (::pipe2(start_gate, O_CLOEXEC) != 0) {
        result.failures.push_back("pipe failed");
        return result;
    }
    std::fflush(nullptr);
    for (int p = 0; p < processes; ++p) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            result.failures.push_back("pipe failed");
            break;
        }
        pid_t pid = ::fork();
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            std::signal(SIGALRM, SIG_DFL);
            ::alarm(child_seconds);
            ::close(fds[0]);
            ::close(start_gate[1]);
            char go;
            // All start together, once every process exists.
            while (::read(start_gate[0], &go, 1) < 0 && errno == EINTR) {
            }
            outcome o = run_process(name, p, iterations, write_groups, locking);
            std::string report = std::to_string(o.deadlocks) + " " + o.failure;
            ssize_t written = ::write(fds[1], report.data(), report.size());
            ::_exit(written == static_cast<ssize_t>(report.size()) ? 0 : 1);
        }
        ::close(fds[1]);
        if (pid < 0) {
            ::close(fds[0]);
            result.failures.push_back("fork failed");
            break;
        }
        pids.push_back(pid);
        reports.push_back(fds[0]);
    }
    ::close(start_gate[0]);
    auto start = std::chrono::steady_clock::now();
    // End of file on the gate starts every process.
    ::close(start_gate[1]);
    for (std::size_t i = 0; i < pids.size(); ++i) {
        std::string report;
        char buffer[256];
        for (ssize_t n; (n = ::read(reports[i], buffer, sizeof buffer)) != 0;) {
            if (n > 0)
                report.append(buffer, static_cast<std::size_t>(n));
            else if (errno != EINTR)
                break;
        }
        ::close(reports[i]);
        int status = 0;
        ::waitpid(pids[i], &status, 0);
        long deadlocks = 0;
        int consumed = 0;
        if (std::sscanf(report.c_str(), "%ld %n", &deadlocks, &consumed) >= 1)
            result.deadlocks += deadlocks;
        std::string failure = report.substr(static_cast<std::size_t>(consumed));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failure += " (process " + std::to_string(i) + " did not exit normally: status " +
                       std::to_string(status) + (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM
                                                     ? ", killed by its alarm: it hung)"
                                                     : ")");
        if (!failure.empty())
            result.failures.push_back("process " + std::to_string(i) + ": " + failure);
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace contention
