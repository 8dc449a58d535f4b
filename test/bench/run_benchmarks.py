#!/usr/bin/env python3
"""Runs the benchmark suite of issue 6 and writes doc/PERFORMANCE.md.

Every W1 program (netshm with record locking and without locking, OCamlnet
Netshm both ways, TDB with fcntl locks and with mutexes, LMDB, Boost.Interprocess),
the growth-under-contention program, the readers-under-a-paced-writer
program (netshm with mutex and with record locking), the memory-latency
floor of a format-1 find, netshm_find_many beside LMDB (each locking mode) and
the Python package beside python3-lmdb and python3-tdb (python_bench.py, run
by --python) run --rounds times,
interleaved: round 1 runs every program once, then round 2, ...  Then the
growth program runs once more under strace to count the mappings of the
table each process makes (remaps).  The medians, min..max, ratios and targets go to the report
(perf_report.py), the chart to doc/performance.png (gnuplot).

  python3 test/bench/run_benchmarks.py [--build-dir build-bench] [--rounds 3]

Without a configured build directory it runs
  meson setup BUILD -Dbench_peers=enabled -Dbuildtype=release -Dinterop_tests=disabled
and in any case `meson compile -C BUILD` of the benchmark programs first.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf_report  # noqa: E402

SOURCE_ROOT = Path(__file__).resolve().parents[2]
SETUP_OPTIONS = ['-Dbench_peers=enabled', '-Dbuildtype=release', '-Dinterop_tests=disabled']

# (program under BUILD/test/bench, variant) in the order of a round.
W1_PROGRAMS = [
    ('netshm_w1', 'record'),
    ('netshm_w1', 'mutex'),
    ('netshm_w1', 'none'),
    ('peers/ocamlnet_w1', 'record'),
    ('peers/ocamlnet_w1', 'none'),
    ('peers/tdb_w1', 'fcntl'),
    ('peers/tdb_w1', 'mutex'),
    ('peers/lmdb_w1', 'nosync'),
    ('peers/boost_w1', 'sharable_mutex'),
]
GROWTH_PROGRAM = 'netshm_growth'
READERS_PROGRAM = 'netshm_readers'
READERS_VARIANTS = ['mutex', 'record']
FLOOR_PROGRAM = 'memory_floor'
# netshm_find_many beside LMDB's batched reads, in one process per locking mode.
FIND_MANY_PROGRAM = 'peers/find_many_lmdb'
FIND_MANY_VARIANTS = ['none', 'mutex', 'record']
BENCH_TARGETS = sorted({Path(p).name for p, _ in W1_PROGRAMS}
                       | {GROWTH_PROGRAM, READERS_PROGRAM, FLOOR_PROGRAM, Path(FIND_MANY_PROGRAM).name})


def run_checked(command, **kwargs):
    print('+ ' + shlex.join(str(c) for c in command), file=sys.stderr, flush=True)
    return subprocess.run([str(c) for c in command], check=True, **kwargs)


def prepare_build(build_dir):
    """Configures (if needed) with the peers enabled and builds; returns the setup command."""
    setup = ['meson', 'setup', str(build_dir)] + SETUP_OPTIONS
    if not (build_dir / 'build.ninja').exists():
        run_checked(setup, cwd=SOURCE_ROOT)
    else:
        options = json.loads(subprocess.run(['meson', 'introspect', '--buildoptions', str(build_dir)],
                                            check=True, capture_output=True, text=True).stdout)
        peers = next((o['value'] for o in options if o['name'] == 'bench_peers'), None)
        if peers != 'enabled':
            run_checked(['meson', 'configure', str(build_dir), '-Dbench_peers=enabled'])
        setup = None
    run_checked(['meson', 'compile', '-C', str(build_dir)] + BENCH_TARGETS)
    return setup


def run_program(command):
    """Runs one benchmark program; returns its JSON records.  A failed check stops everything."""
    print('+ ' + shlex.join(str(c) for c in command), file=sys.stderr, flush=True)
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f'{command[0]} failed (exit {done.returncode}):\n{done.stderr}{done.stdout}')
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def count_table_mappings(trace_prefix, pid):
    """MAP_SHARED mappings of a file made by process pid after its getpid() marker."""
    path = Path(f'{trace_prefix}.{pid}')
    if not path.exists():
        return None
    started = False
    count = 0
    for line in path.read_text().splitlines():
        if line.startswith('getpid('):
            started = True
        elif started and re.match(r'mmap\(.*MAP_SHARED, (\d+), ', line):
            count += 1
    return count if started else None


def traced_growth(program, growth_args):
    """Runs the growth program under strace; returns the remaps per role and the traced rates."""
    strace = shutil.which('strace')
    if strace is None:
        return {'error': 'strace not found: remaps not counted'}
    with tempfile.TemporaryDirectory(prefix='netshm-growth-trace-') as folder:
        prefix = Path(folder) / 'trace'
        command = [strace, '-f', '-ff', '-qq', '--seccomp-bpf', '-e', 'trace=mmap,getpid', '-e', 'signal=none',
                   '-o', prefix, program] + growth_args
        records = run_program(command)
        by_phase = {r['phase']: r for r in records}
        roles = {
            'writer 0': by_phase['growth_add']['writer0_pid'],
            'writer 1': by_phase['growth_add']['writer1_pid'],
            'reader': by_phase['growth_find']['reader_pid'],
        }
        remaps = {role: count_table_mappings(prefix, int(pid)) for role, pid in roles.items()}
    return {
        'command': shlex.join(str(c) for c in command).replace(folder, 'TMP')
                                                      .replace(str(SOURCE_ROOT) + '/', ''),
        'remaps': remaps,
        'add_ops_per_s': by_phase['growth_add']['ops_per_s'],
        'find_ops_per_s': by_phase['growth_find']['ops_per_s'],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--build-dir', default=str(SOURCE_ROOT / 'build-bench'))
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--python', default='/usr/bin/python3',
                        help='the interpreter of python_bench.py (Debian\'s has python3-lmdb and python3-tdb)')
    parser.add_argument('--n', type=int, default=100000, help='keys of W1')
    parser.add_argument('--mp-ops', type=int, default=200000, help='operations per mp_mixed process')
    parser.add_argument('--growth-keys', type=int, default=200000, help='keys per growth writer')
    parser.add_argument('--readers-seconds', type=float, default=2.0,
                        help='seconds of each timed run of the readers under a paced writer')
    parser.add_argument('--output', default=str(SOURCE_ROOT / 'doc' / 'PERFORMANCE.md'))
    parser.add_argument('--chart', default=str(SOURCE_ROOT / 'doc' / 'performance.png'))
    parser.add_argument('--results', help='also save the raw results (JSON) here')
    parser.add_argument('--from-results', help='write the report from saved results, running nothing')
    args = parser.parse_args()

    if args.from_results:
        results = json.loads(Path(args.from_results).read_text())
    else:
        build_dir = Path(args.build_dir).resolve()
        setup = prepare_build(build_dir)
        bench_dir = build_dir / 'test' / 'bench'
        w1_args = ['--n', str(args.n), '--mp-ops', str(args.mp_ops)]
        growth_args = ['--keys', str(args.growth_keys)]
        readers_args = ['--n', str(args.n), '--seconds', str(args.readers_seconds)]
        results = {
            'command': shlex.join(['python3', os.path.relpath(__file__, SOURCE_ROOT)] + sys.argv[1:]),
            'setup': shlex.join(setup) if setup else None,
            'environment': perf_report.environment(SOURCE_ROOT),
            'n': args.n, 'mp_ops': args.mp_ops, 'growth_keys': args.growth_keys,
            'readers_seconds': args.readers_seconds,
            'rounds': [],
        }
        start = time.time()
        for round_number in range(args.rounds):
            records = []
            for program, variant in W1_PROGRAMS:
                records += run_program([bench_dir / program, '--variant', variant] + w1_args)
            records += run_program([bench_dir / GROWTH_PROGRAM] + growth_args)
            for variant in READERS_VARIANTS:
                records += run_program([bench_dir / READERS_PROGRAM, '--variant', variant] + readers_args)
            records += run_program([bench_dir / FLOOR_PROGRAM, '--n', str(args.n)])
            for variant in FIND_MANY_VARIANTS:
                records += run_program([bench_dir / FIND_MANY_PROGRAM, '--variant', variant, '--n', str(args.n)])
            records += run_program([args.python, Path(__file__).parent / 'python_bench.py', '--json',
                                    '--build-dir', build_dir, '--n', str(args.n)])
            results['rounds'].append(records)
            print(f'round {round_number + 1} of {args.rounds} done', file=sys.stderr, flush=True)
        results['growth_trace'] = traced_growth(bench_dir / GROWTH_PROGRAM, growth_args)
        results['seconds'] = time.time() - start
        results['load_after'] = Path('/proc/loadavg').read_text().split()[:3]
    if args.results:
        Path(args.results).write_text(json.dumps(results, indent=1))
    perf_report.write(results, Path(args.output), Path(args.chart))
    print(f'wrote {args.output} and {args.chart}', file=sys.stderr)


if __name__ == '__main__':
    main()
