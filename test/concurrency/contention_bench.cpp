// Throughput of the contention workload (contention_workload.hpp) with 1, 2
// and 4 processes: each process runs `iterations` read-modify-write groups
// { find; replace(v + 1) } on 16 shared counters of one file table, adding a
// key of its own every 5th iteration.  Prints increments per second (the
// median of `repeats` runs, each on a new table), for netshm_group_write and
// for plain netshm_group retried on NETSHM_EDEADLK.
//
//   contention_bench [iterations per process = 20000] [repeats = 3] [folder = /dev/shm]
#include "contention_workload.hpp"

#include <netshm.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

int main(int argc, char **argv)
{
    const int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
    const std::string folder = argc > 3 ? argv[3] : "/dev/shm";
    if (iterations <= 0 || repeats <= 0) {
        std::fprintf(stderr, "usage: %s [iterations per process] [repeats] [folder]\n", argv[0]);
        return 2;
    }
    const std::string name = folder + "/netshm-contention-bench-" + std::to_string(::getpid());
    std::printf("{ find; replace(v + 1) } on 16 counters, %d iterations per process, median of %d runs, table %s\n",
                iterations, repeats, name.c_str());
    int status = 0;
    for (bool write_groups : {true, false}) {
        for (int processes : {1, 2, 4}) {
            std::vector<double> rates;
            long deadlocks = 0;
            for (int r = 0; r < repeats; ++r) {
                if (std::string failure = contention::create_table(name); !failure.empty()) {
                    std::fprintf(stderr, "%s\n", failure.c_str());
                    return 1;
                }
                contention::round_result round =
                    contention::run_round(name, processes, iterations, write_groups, 600);
                for (const std::string &f : round.failures) {
                    std::fprintf(stderr, "%s\n", f.c_str());
                    status = 1;
                }
                rates.push_back(processes * iterations / round.seconds);
                deadlocks += round.deadlocks;
            }
            std::sort(rates.begin(), rates.end());
            std::printf("%-40s %d process%s: %8.0f ops/s (min %.0f, max %.0f; %ld NETSHM_EDEADLK retried per run)\n",
                        write_groups ? "netshm_group_write" : "netshm_group retried on NETSHM_EDEADLK", processes,
                        processes == 1 ? "  " : "es", rates[rates.size() / 2], rates.front(), rates.back(),
                        deadlocks / repeats);
            std::fflush(stdout);
        }
    }
    netshm_unlink(NETSHM_TYPE_FILE, name.c_str());
    return status;
}
