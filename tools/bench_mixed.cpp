#include "bench_mixed.hpp"

#include "bench_scratch_object.hpp"
#include "bench_workload.hpp"
#include "whole_io.hpp"

#include <netshm.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace netshm_tool::bench {

namespace {

// A pipe whose ends close at scope exit (or when closed early).
class pipe_pair {
public:
    pipe_pair()
    {
        if (::pipe2(fds_, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe");
    }
    ~pipe_pair()
    {
        close_read();
        close_write();
    }
    pipe_pair(const pipe_pair &) = delete;
    pipe_pair &operator=(const pipe_pair &) = delete;

    int read_end() const { return fds_[0]; }
    int write_end() const { return fds_[1]; }
    void close_read() { close_end(fds_[0]); }
    void close_write() { close_end(fds_[1]); }

private:
    static void close_end(int &fd)
    {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
    int fds_[2];
};

std::string read_until_end(int fd)
{
    std::string text;
    char buffer[512];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
        if (n > 0)
            text.append(buffer, static_cast<std::size_t>(n));
        else if (errno != EINTR)
            break;
    }
    return text;
}

struct counts {
    std::uint64_t finds = 0;
    std::uint64_t replaces = 0;
};

counts run_operations(netshm::table &table, std::span<const std::int32_t> keys, int process, std::uint64_t ops)
{
    xorshift32 random(0x9E3779B9u * static_cast<std::uint32_t>(process + 1));
    std::vector<std::int32_t> found;
    counts done;
    auto read_count = [&](std::int32_t key) {
        if (!table.find_into(key, found))
            throw std::runtime_error(fmt::format("key {} is not bound", key));
        std::optional<std::uint32_t> count = count_of(key, found);
        if (!count)
            throw std::runtime_error(fmt::format("key {} holds a malformed value: {}", key, fmt::join(found, " ")));
        return *count;
    };
    for (std::uint64_t i = 0; i < ops; ++i) {
        std::uint32_t draw = random.next();
        std::int32_t key = keys[draw % keys.size()];
        if ((draw >> 16) % 10 != 0) {
            read_count(key);
            ++done.finds;
        } else {
            table.group_write([&] { table.replace(key, value_of(key, read_count(key) + 1)); });
            ++done.replaces;
        }
    }
    return done;
}

// A forked process: opens the object, says it is ready (closes its end of the
// ready pipe), waits for the start (the end of the start pipe),
// runs, reports "finds replaces" or "error: ..." and exits.
[[noreturn]] void child(const std::string &name, netshm::locking locking, std::span<const std::int32_t> keys,
                        int process, std::uint64_t ops, int ready_fd, int start_fd, int report_fd)
{
    std::string report;
    try {
        auto descr = netshm::descriptor::open(netshm::shm_type::posix, name, O_RDWR);
        auto table = netshm::table::manage(descr, locking);
        ::close(ready_fd);
        char go;
        while (::read(start_fd, &go, 1) < 0 && errno == EINTR) {
        }
        counts done = run_operations(table, keys, process, ops);
        report = fmt::format("{} {}", done.finds, done.replaces);
    } catch (const std::exception &e) {
        report = fmt::format("error: {}", e.what());
    }
    write_all(report_fd, report);
    ::_exit(0);
}

} // namespace

mixed_result run_mixed(const std::string &name, netshm::locking locking, std::span<const std::int32_t> keys,
                       int processes, std::uint64_t ops)
{
    pipe_pair ready;
    pipe_pair start;
    std::vector<std::unique_ptr<pipe_pair>> reports;
    std::vector<pid_t> pids;
    const pid_t parent = ::getpid();
    std::fflush(nullptr);
    for (int p = 0; p < processes; ++p) {
        auto &report = reports.emplace_back(std::make_unique<pipe_pair>());
        pid_t pid;
        {
            termination_signals_blocked blocked;
            pid = ::fork();
            if (pid == 0) {
                reset_termination_signals_in_child();
                // Dies with the bench, which removes the object.
                ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (::getppid() != parent)
                    ::_exit(1);
                ::close(start.write_end());
                child(name, locking, keys, p, ops, ready.write_end(), start.read_end(), report->write_end());
            }
        }
        if (pid < 0) {
            int fork_errno = errno;
            // The processes started wait for the start: they must not run alone.
            for (pid_t started : pids) {
                ::kill(started, SIGKILL);
                ::waitpid(started, nullptr, 0);
            }
            throw std::system_error(fork_errno, std::generic_category(), "fork");
        }
        report->close_write();
        pids.push_back(pid);
    }
    ready.close_write();
    // The end of the ready pipe: every process is ready, or gone.
    read_until_end(ready.read_end());

    auto started = std::chrono::steady_clock::now();
    start.close_write();
    std::vector<std::string> texts;
    for (auto &report : reports)
        texts.push_back(read_until_end(report->read_end()));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    mixed_result result{processes, 0, 0, seconds};
    std::string failures;
    for (int p = 0; p < processes; ++p) {
        int status = 0;
        while (::waitpid(pids[p], &status, 0) < 0 && errno == EINTR) {
        }
        unsigned long long finds = 0, replaces = 0;
        int consumed = 0;
        if (std::sscanf(texts[p].c_str(), "%llu %llu%n", &finds, &replaces, &consumed) == 2 &&
            static_cast<std::size_t>(consumed) == texts[p].size()) {
            result.finds += finds;
            result.replaces += replaces;
        } else if (!texts[p].empty()) {
            failures += fmt::format("; process {}: {}", p + 1, texts[p]);
        } else {
            failures += fmt::format("; process {} ended without a report (status {:#x})", p + 1, status);
        }
    }
    if (!failures.empty())
        throw std::runtime_error(fmt::format("mixed phase with {} processes failed{}", processes, failures));
    return result;
}

} // namespace netshm_tool::bench
