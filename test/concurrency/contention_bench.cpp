// Throughput of the contention workload (contention_workload.hpp) with 1, 2
// and 4 processes: each process runs `iterations` read-modify-write groups
// { find; replace(v + 1) } on 16 shared counters of one file table, adding a
// key of its own every 5th iteration.  Prints increments per second, for
// netshm_group_write and for plain netshm_group retried on NETSHM_EDEADLK.
//
//   contention_bench [iterations per process, default 20000] [folder, default /dev/shm]
#include "contention_workload.hpp"

#include <netshm.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

int main(int argc, char **argv)
{
    const int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
    const std::string folder = argc > 2 ? argv[2] : "/dev/shm";
    if (iterations <= 0) {
        std::fprintf(stderr, "usage: %s [iterations per process] [folder]\n", argv[0]);
        return 2;
    }
    const std::string name = folder + "/netshm-contention-bench-" + std::to_string(::getpid());
    std::printf("contention: { find; replace(v + 1) } on 16 counters, %d iterations per process, table %s\n",
                iterations, name.c_str());
    int status = 0;
    for (bool write_groups : {true, false}) {
        for (int processes : {1, 2, 4}) {
            std::string failure = contention::create_table(name);
            if (!failure.empty()) {
                std::fprintf(stderr, "%s\n", failure.c_str());
                return 1;
            }
            contention::round_result round = contention::run_round(name, processes, iterations, write_groups, 600);
            for (const std::string &f : round.failures) {
                std::fprintf(stderr, "%s\n", f.c_str());
                status = 1;
            }
            std::printf("%-40s %d process%s: %8.0f ops/s (%d ops in %.2f s, %ld NETSHM_EDEADLK retried)\n",
                        write_groups ? "netshm_group_write" : "netshm_group retried on NETSHM_EDEADLK", processes,
                        processes == 1 ? "  " : "es", processes * iterations / round.seconds,
                        processes * iterations, round.seconds, round.deadlocks);
            std::fflush(stdout);
        }
    }
    netshm_unlink(NETSHM_TYPE_FILE, name.c_str());
    return status;
}
