// Forked worker processes of the multi-process benchmarks (mp_mixed, growth):
// each worker opens the store itself, says it is ready, and all start their
// timed loops together once every worker is ready.
#pragma once

#include "bench_common.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <new>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bench {

// What a worker reports; lives in memory shared with the parent.
struct worker_result {
    double seconds = 0;
    long long ops = 0;
    int pid = 0;
    bool finished = false;
    char error[240] = {};
};

// Passed to a worker's body: call start() once the store is open; it blocks
// until every worker is ready and returns the start time.
class start_gate {
public:
    start_gate(int ready_fd, int go_fd) : ready_fd_(ready_fd), go_fd_(go_fd) {}
    double start()
    {
        char byte = 'r';
        bool told = ::write(ready_fd_, &byte, 1) == 1;
        // Closed at once: the parent sees EOF once every worker is ready or dead.
        ::close(ready_fd_);
        if (!told)
            throw failure("worker: cannot signal readiness");
        ssize_t got;
        do
            got = ::read(go_fd_, &byte, 1);
        while (got < 0 && errno == EINTR);
        return now_seconds();
    }

private:
    int ready_fd_;
    int go_fd_;
};

// Runs body(index, gate, result) in `count` forked processes and returns their
// results.  A worker that throws, crashes or outlives `timeout_seconds`
// reports an error.  The parent's stdout must be flushed before the call.
template <class Body>
std::vector<worker_result> run_workers(int count, unsigned timeout_seconds, Body body)
{
    void *shared = ::mmap(nullptr, sizeof(worker_result) * static_cast<std::size_t>(count),
                          PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        throw failure(std::string("mmap of the workers' results: ") + std::strerror(errno));
    auto *results = new (shared) worker_result[count];
    int ready[2], go[2];
    if (::pipe(ready) != 0 || ::pipe(go) != 0)
        throw failure(std::string("pipe: ") + std::strerror(errno));
    std::fflush(nullptr);
    for (int i = 0; i < count; ++i) {
        pid_t pid = ::fork();
        if (pid < 0)
            throw failure(std::string("fork: ") + std::strerror(errno));
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::alarm(timeout_seconds);
            ::close(ready[0]);
            ::close(go[1]);
            worker_result &mine = results[i];
            mine.pid = static_cast<int>(::getpid());
            try {
                start_gate gate(ready[1], go[0]);
                body(i, gate, mine);
                mine.finished = true;
            } catch (const std::exception &e) {
                std::snprintf(mine.error, sizeof mine.error, "%s", e.what());
            }
            ::_exit(0);
        }
        results[i].pid = static_cast<int>(pid);
    }
    ::close(ready[1]);
    ::close(go[0]);
    // Every worker ready (or dead: read then sees EOF early), then release all.
    char byte;
    for (int i = 0; i < count; ++i)
        if (::read(ready[0], &byte, 1) != 1)
            break;
    ::close(go[1]);
    ::close(ready[0]);
    std::vector<worker_result> out;
    for (int i = 0; i < count; ++i) {
        int status = 0;
        while (::waitpid(results[i].pid, &status, 0) < 0 && errno == EINTR) {
        }
        worker_result r = results[i];
        if (!r.finished && r.error[0] == '\0')
            std::snprintf(r.error, sizeof r.error, "worker %d died (status 0x%x)", i, status);
        out.push_back(r);
    }
    ::munmap(shared, sizeof(worker_result) * static_cast<std::size_t>(count));
    return out;
}

} // namespace bench
