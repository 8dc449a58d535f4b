"""doc/PERFORMANCE.md and its chart from the results run_benchmarks.py collected.

results: {'rounds': [[record, ...] per round], 'growth_trace': {...},
'environment': {...}, 'command', 'setup', 'n', 'mp_ops', 'growth_keys',
'readers_seconds', 'seconds', 'load_after'}; a record is one JSON line of a
benchmark program.
"""
import math
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

PHASES = ['load', 'find_hit', 'find_hit_group64', 'find_miss', 'replace', 'iter', 'remove', 'mp_mixed']

# label ("system variant" of the programs' records) -> what the report calls it
SYSTEMS = {
    'netshm record': 'netshm record locking',
    'netshm mutex': 'netshm mutex locking',
    'netshm none': 'netshm no locking',
    'ocamlnet record': 'OCamlnet Record_locking',
    'ocamlnet none': 'OCamlnet No_locking',
    'tdb fcntl': 'TDB fcntl',
    'tdb mutex': 'TDB mutex',
    'lmdb nosync': 'LMDB',
    'boost sharable_mutex': 'Boost.Interprocess',
}

CONFIGURATIONS = {
    'netshm record': 'test/bench/netshm_w1.cpp: the public C API (`netshm_find_into` for finds), a file '
                     'table in /dev/shm, page size 256, `NETSHM_RECORD_LOCKING`.',
    'netshm mutex': 'the same program with `NETSHM_MUTEX_LOCKING` (optimistic finds, a robust '
                    'process-shared writer mutex).',
    'netshm none': 'the same program with `NETSHM_NO_LOCKING` (mp_mixed skipped: no protection '
                   'between processes).',
    'ocamlnet record': 'test/bench/peers/ocamlnet_w1.ml: OCamlnet 4.1.9 `Netshm` on a `File` in /dev/shm '
                       '(locks on the file itself), page size 256, `Record_locking`; `Netshm.find` '
                       '(a fresh bigarray per find).',
    'ocamlnet none': 'the same program with `No_locking` (mp_mixed skipped).',
    'tdb fcntl': 'test/bench/peers/tdb_w1.cpp: `tdb_open` with hash size 131071, `TDB_DEFAULT` (fcntl '
                 'locks); finds with `tdb_parse_record` (no malloc); mp_mixed workers `tdb_reopen`.',
    'tdb mutex': 'the same with `TDB_MUTEX_LOCKING | TDB_INCOMPATIBLE_HASH | TDB_CLEAR_IF_FIRST`, '
                 'run only where `tdb_runtime_check_for_robust_mutexes()` allows it.',
    'lmdb nosync': 'test/bench/peers/lmdb_w1.cpp: `MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOTLS`, '
                   '`MDB_INTEGERKEY`, one write transaction per write, one read transaction reused '
                   'with `mdb_txn_renew`/`mdb_txn_reset` per find.',
    'boost sharable_mutex': 'test/bench/peers/boost_w1.cpp: `managed_shared_memory` + '
                            '`boost::unordered_map` with the segment allocator + an '
                            '`interprocess_sharable_mutex` in the segment (shared for finds and '
                            'iteration, exclusive for writes).',
}

# Records of test/bench/peers/find_many_lmdb.cpp: "batch MODE", netshm_find_many and LMDB
# batched reads in one process.
BATCH_SYSTEMS = {
    'batch none': 'find_many, no locking',
    'batch mutex': 'find_many, mutex locking',
    'batch record': 'find_many, record locking',
}
BATCH_SIZES = [64, 8, 1]
# Records of test/bench/python_bench.py: W1's lookups from Python, system "python".
PYTHON_SYSTEMS = {
    'python netshm mutex': 'Python netshm, mutex locking',
    'python netshm record': 'Python netshm, record locking',
    'python lmdb': 'Python python3-lmdb',
    'python tdb': 'Python python3-tdb',
}
PYTHON_PHASES = ['load', 'find_hit', 'find_many64', 'ctypes_call']
LABELS = {**SYSTEMS, **BATCH_SYSTEMS, **PYTHON_SYSTEMS}

# Phases of test/bench/netshm_readers.cpp: reads/s of R readers under a paced writer.
READER_COUNTS = [1, 2]
PHASE_LABELS = {f'paced_readers_{r}': f"reads/s of {r} reader{'s' if r > 1 else ''} under a paced writer"
                for r in READER_COUNTS}

# (issue, netshm label, netshm phase, peer label, peer phase, factor): netshm >= factor x peer;
# a target within one system compares two of its phases.
TARGETS = [
    (6, 'netshm record', 'find_hit', 'ocamlnet record', 'find_hit', 3.0),
    (6, 'netshm record', 'find_hit', 'tdb fcntl', 'find_hit', 0.95),
    (6, 'netshm record', 'find_hit_group64', 'ocamlnet record', 'find_hit', 10.0),
    (6, 'netshm record', 'load', 'ocamlnet record', 'load', 12.0),
    (6, 'netshm record', 'mp_mixed', 'ocamlnet record', 'mp_mixed', 2.5),
    (6, 'netshm none', 'find_hit', 'boost sharable_mutex', 'find_hit', 1.0),
    (6, 'netshm none', 'find_hit', 'lmdb nosync', 'find_hit', 1.5),
    (8, 'netshm mutex', 'find_hit', 'lmdb nosync', 'find_hit', 2.0),
    (8, 'netshm mutex', 'find_hit', 'boost sharable_mutex', 'find_hit', 1.5),
    (8, 'netshm mutex', 'mp_mixed', 'boost sharable_mutex', 'mp_mixed', 1.0),
    (8, 'netshm mutex', 'paced_readers_2', 'netshm mutex', 'paced_readers_1', 1.7),
    (18, 'batch none', 'find_many_64', 'batch none', 'lmdb_64', 5.0),
    (18, 'batch mutex', 'find_many_64', 'batch mutex', 'lmdb_64', 5.0),
    (18, 'batch record', 'find_many_64', 'batch record', 'lmdb_64', 2.0),
    (18, 'netshm none', 'iter', 'lmdb nosync', 'iter', 0.5),
    (18, 'netshm mutex', 'iter', 'lmdb nosync', 'iter', 0.5),
    (18, 'netshm record', 'iter', 'lmdb nosync', 'iter', 0.5),
    (18, 'netshm none', 'find_hit', 'lmdb nosync', 'find_hit', 0.75),
    (18, 'netshm mutex', 'find_hit', 'lmdb nosync', 'find_hit', 0.75),
    (18, 'batch none', 'find_many_1', 'batch none', 'find_into', 1.0),
    (18, 'batch mutex', 'find_many_1', 'batch mutex', 'find_into', 1.0),
    (18, 'batch record', 'find_many_1', 'batch record', 'find_into', 1.0),
    (19, 'python netshm mutex', 'find_hit', 'python lmdb', 'find_hit', 0.5),
    (19, 'python netshm mutex', 'find_many64', 'python lmdb', 'find_hit', 1.5),
    (19, 'python netshm record', 'find_many64', 'python lmdb', 'find_hit', 1.5),
]

PACKAGES = ['libtdb1', 'liblmdb0', 'libboost-dev', 'libocamlnet-ocaml-dev', 'g++', 'strace', 'gnuplot-nox']


def _output(command, cwd=None):
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False).stdout.rstrip()
    except OSError:
        return ''


def environment(root):
    """The machine, the packages and the source tree, before the run."""
    cpu = next((line.split(':', 1)[1].strip() for line in Path('/proc/cpuinfo').read_text().splitlines()
                if line.startswith('model name')), 'unknown')
    packages = {p: _output(['dpkg-query', '-W', '-f=${Version}', p]) or 'not installed' for p in PACKAGES}
    dirty = _output(['git', 'status', '--porcelain', '--', 'lib', 'capi', 'cxx'], cwd=root)
    return {
        'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        'cpu': cpu,
        'cores': os.cpu_count(),
        'kernel': platform.release(),
        'packages': packages,
        'ocaml': _output(['ocamlfind', 'ocamlopt', '-version']).strip(),
        'commit': _output(['git', 'rev-parse', '--short', 'HEAD'], cwd=root).strip(),
        'engine_changes': [line[3:] for line in dirty.splitlines()],
        'load_before': Path('/proc/loadavg').read_text().split()[:3],
        'scheduling': scheduling(),
    }


def scheduling():
    """The policy the programs inherit: real time (chrt -f) keeps other work from preempting them."""
    if os.sched_getscheduler(0) == os.SCHED_FIFO:
        return (f'SCHED_FIFO priority {os.sched_getparam(0).sched_priority} (`chrt -f`): other work on the '
                'machine does not preempt the programs, though it still shares caches and memory bandwidth')
    return 'the default time-sharing policy'


def label(record):
    return f"{record['system']} {record['variant']}"


def collect(results):
    """rates[label][phase] = [ops/s per round]; memory, skipped and growth records by label."""
    rates, memory, skipped, growth_pages = {}, {}, {}, []
    for records in results['rounds']:
        for r in records:
            name, phase = label(r), r.get('phase')
            if 'skipped' in r:
                skipped.setdefault(name, {})[phase or '*'] = r['skipped']
            elif phase == 'memory':
                memory.setdefault(name, []).append(r)
            elif phase == 'growth_table':
                growth_pages.append(r['pages'])
            elif 'ops_per_s' in r:
                rates.setdefault(name, {}).setdefault(phase, []).append(r['ops_per_s'])
    return rates, memory, skipped, growth_pages


def si(x):
    for limit, suffix in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if x >= limit:
            return f'{x / limit:.3g} {suffix}'
    return f'{x:.3g}'


def median(values):
    return statistics.median(values) if values else None


def cell(values):
    if not values:
        return '–'
    return f'**{si(median(values))}** ({si(min(values))}..{si(max(values))})'


def ratio(rates, a, pa, b, pb):
    """Ratio of the medians and the per-round ratios (same round, same machine state)."""
    x, y = rates.get(a, {}).get(pa), rates.get(b, {}).get(pb)
    if not x or not y:
        return None, []
    return median(x) / median(y), [xi / yi for xi, yi in zip(x, y)]


def results_table(rates, skipped):
    names = [n for n in SYSTEMS if n in rates]
    lines = ['| phase | ' + ' | '.join(SYSTEMS[n] for n in names) + ' |',
             '|---|' + '---:|' * len(names)]
    for phase in PHASES:
        row = []
        for n in names:
            if phase in skipped.get(n, {}):
                row.append('skipped')
            else:
                row.append(cell(rates[n].get(phase)))
        lines.append(f'| {phase} | ' + ' | '.join(row) + ' |')
    return lines


def ratio_table(rates, netshm):
    peers = [n for n in SYSTEMS if n in rates and not n.startswith('netshm')]
    lines = ['| phase | ' + ' | '.join(f'÷ {SYSTEMS[p]}' for p in peers) + ' |',
             '|---|' + '---:|' * len(peers)]
    for phase in PHASES:
        row = []
        for p in peers:
            r, _ = ratio(rates, netshm, phase, p, phase)
            row.append('–' if r is None else f'{r:.2f}')
        if any(v != '–' for v in row):
            lines.append(f'| {phase} | ' + ' | '.join(row) + ' |')
    return lines


def targets_table(rates):
    lines = ['| issue | target | measured (ratio of medians) | per round | required | |',
             '|---|---|---:|---|---:|---|']
    met_count = 0
    for issue, a, pa, b, pb, factor in TARGETS:
        r, rounds = ratio(rates, a, pa, b, pb)
        if a == b:
            what = f'{LABELS[a]}: {PHASE_LABELS.get(pa, pa)} ÷ {PHASE_LABELS.get(pb, pb)}'
        else:
            what = f'{LABELS[a]} {pa} ÷ {LABELS[b]} {pb}'
        if r is None:
            lines.append(f'| {issue} | {what} | not measured | | ≥ {factor:g} | not met |')
            continue
        met = r >= factor
        met_count += met
        per_round = ', '.join(f'{x:.2f}' for x in rounds)
        lines.append(f"| {issue} | {what} | {r:.2f} | {per_round} | ≥ {factor:g} | {'**met**' if met else 'not met'} |")
    return lines, met_count


def memory_table(memory):
    lines = ['| system | shm bytes after load | bytes per binding | file size |', '|---|---:|---:|---:|']
    for name in SYSTEMS:
        if name in memory:
            r = memory[name][-1]
            lines.append(f"| {SYSTEMS[name]} | {r['shm_bytes']:,.0f} | {r['bytes_per_binding']:.1f} | "
                         f"{r['file_bytes']:,.0f} |")
    return lines


def growth_section(results, rates, pages):
    g = rates.get('netshm record', {})
    trace = results.get('growth_trace', {})
    k = results['growth_keys']
    lines = [
        f'2 writer processes add {k:,} keys each (disjoint: W1\'s xorshift32 keys, W1\'s values) to one '
        'new netshm file table with record locking (page size 256, created with the default size hint), '
        'while a third process finds random keys the writers have already added (published through '
        'shared counters) and checks each value. Each process opens the table itself. '
        'test/bench/netshm_growth.cpp.',
        '',
        '| role | median ops/s (min..max) |', '|---|---:|',
        f"| writers (adds, {2 * k:,} / slowest writer) | {cell(g.get('growth_add'))} |",
        f"| reader (finds while the writers add) | {cell(g.get('growth_find'))} |",
        '',
    ]
    if pages:
        lines += [f'The table ends with {int(median(pages)):,} pages of 256 bytes '
                  f'({median(pages) * 256 / 2**20:.0f} MiB) for {2 * k:,} bindings.', '']
    remaps = trace.get('remaps')
    if not remaps:
        lines.append(f"Remaps: not counted ({trace.get('error', 'no traced run')}).")
        return lines
    lines += [
        'Remaps are counted from outside, by the kernel\'s view: one more run of the program under '
        '`strace` (seccomp filter: only `mmap` and `getpid` stop the processes). Each worker makes one '
        '`getpid()` right before its timed loop; the remaps of a process are its `mmap(..., MAP_SHARED, '
        'fd, 0)` calls after that marker (the library maps the whole table anew whenever it finds the '
        'table grew: by its own growth, or by another process\'s, seen at its next operation). '
        'The ops/s of the traced run are shown for comparison only.',
        '',
        '| process | remaps during the run |', '|---|---:|',
    ]
    lines += [f'| {role} | {"?" if count is None else count} |' for role, count in remaps.items()]
    lines += ['', f"Traced run: writers {si(trace['add_ops_per_s'])} adds/s, reader "
                  f"{si(trace['find_ops_per_s'])} finds/s. Command: `{trace['command']}`"]
    return lines


def readers_section(results, rates):
    lines = [
        f"One writer process replaces random keys of a W1 table ({results['n']:,} keys, page size 256) at "
        '1,000 replaces/s, paced by the clock, while R reader processes do `netshm_find_into` of random '
        f"keys for {results.get('readers_seconds', 2):g} s and check every value (a whole value of its key, "
        'of a generation the writer has published); R = 1, then R = 2, in one run of '
        'test/bench/netshm_readers.cpp. Each process opens the table itself. With mutex locking readers '
        'take no lock and make no system call: on 2 cores, 2 readers should read nearly twice as much '
        'as one (issue 8: at least 1.7 times, in the targets above).',
        '',
        '| locking | ' + ' | '.join(f'reads/s, {r} reader{"s" if r > 1 else ""}' for r in READER_COUNTS)
        + ' | 2 ÷ 1 (ratio of medians) | per round |',
        '|---|' + '---:|' * len(READER_COUNTS) + '---:|---|',
    ]
    for name in ('netshm mutex', 'netshm record'):
        phases = rates.get(name, {})
        r, rounds = ratio(rates, name, 'paced_readers_2', name, 'paced_readers_1')
        lines.append(f'| {SYSTEMS[name]} | '
                     + ' | '.join(cell(phases.get(f'paced_readers_{n}')) for n in READER_COUNTS)
                     + f" | {'–' if r is None else f'{r:.2f}'} | {', '.join(f'{x:.2f}' for x in rounds)} |")
    return lines


FLOOR_PHASES = {'floor_serial_first': 'serial, first pass after the load',
                'floor_serial': 'serial',
                'floor_overlapped': 'overlapped',
                'floor_overlapped_100': 'overlapped + 100 instructions',
                'floor_pipelined': 'pipelined in groups of 64'}


def floor_section(rates):
    floor = rates.get('floor format1', {})
    if not all(floor.get(p) for p in FLOOR_PHASES):
        return ['Not measured in this run.']
    lines = [
        'A find on a format-1 table reads the key\'s hash cell (probing past the cells of other keys), then '
        'the content page the cell names: loads at places the hash spreads at random over the table, the '
        'second dependent on the first. test/bench/memory_floor.cpp loads W1 into a netshm table, maps the '
        'file itself and times nothing but those loads for W1\'s find_hit order (the probe as the format '
        'defines it; no validation, no lock, no API call; the best of 3 passes, but for the first row).',
        '',
        '- *serial, first pass after the load*: the first pass of the next row, right after the table was '
        'loaded, in a mapping no pass touched yet: as the W1 find_hit phase runs (one pass after the load), '
        'so the ceiling of its ratios;',
        '- *serial*: each lookup starts from the word the previous one read, so that no two overlap;',
        '- *overlapped*: independent lookups of a few instructions each: the processor overlaps the misses '
        'of several;',
        '- *overlapped + 100 instructions*: the same with 100 additions per lookup, and the overlap is gone;',
        '- *pipelined in groups of 64*: lookups taken 64 at a time in three stages with software prefetches '
        '(every first cell, then every content page, then the values), as `netshm_find_many` takes them: '
        'the best case of that design, nothing validated.',
        '',
        'A find that runs hundreds of instructions (any of the systems here: a call through '
        'an API, a lock, checks; netshm\'s `netshm_find_into` without locking runs about 670, by callgrind) overlaps '
        'little of two finds\' misses, so *serial* is about the fastest such a find can be on '
        'a format-1 table of W1 on this machine; the last columns divide it by the peers\' find_hit, the '
        'ceiling of every netshm find_hit ratio.',
        '',
        '| lookups/s | median (min..max) | ÷ LMDB find_hit | ÷ Boost.Interprocess find_hit |',
        '|---|---:|---:|---:|',
    ]
    for phase, what in FLOOR_PHASES.items():
        bounds = [ratio(rates, 'floor format1', phase, peer, 'find_hit')[0]
                  for peer in ('lmdb nosync', 'boost sharable_mutex')]
        lines.append(f'| {what} | {cell(floor[phase])} | '
                     + ' | '.join('–' if b is None else f'{b:.2f}' for b in bounds) + ' |')
    for name in ('netshm none', 'netshm mutex'):
        r, _ = ratio(rates, name, 'find_hit', 'floor format1', 'floor_serial')
        first, _ = ratio(rates, name, 'find_hit', 'floor format1', 'floor_serial_first')
        if r is not None and first is not None:
            lines += ['', f'{SYSTEMS[name]} find_hit reaches {r:.0%} of the serial floor, {first:.0%} of its '
                          'first pass after the load.']
    return lines


def batch_section(rates):
    if not any(name in rates for name in BATCH_SYSTEMS):
        return ['Not measured in this run.']
    lines = [
        'test/bench/peers/find_many_lmdb.cpp loads W1 into a netshm file table (page size 256) and into LMDB '
        '(as lmdb_w1.cpp), then makes 5 passes over W1\'s find_hit order, interleaved in one process: for '
        'each batch size B, LMDB with one read transaction per batch of B (`mdb_get` for each key, the value '
        'copied out) and `netshm_find_many` in batches of B; and `netshm_find_into` one key at a time. The '
        'program reports the median of its passes; below, the median of the rounds and the ratio of those '
        'medians. Issue 18\'s targets (in the table of targets above): find_many ≥ 5 × LMDB in batches of 64 '
        'without locking and with mutex locking, ≥ 2 × with record locking (one `fcntl` pair per 64 keys), '
        'and a batch of 1 no slower than `netshm_find_into`.',
        '',
        '| locking | batch | find_many lookups/s | LMDB lookups/s | find_many ÷ LMDB | per round |',
        '|---|---:|---:|---:|---:|---|',
    ]
    for name, what in BATCH_SYSTEMS.items():
        phases = rates.get(name, {})
        for b in BATCH_SIZES:
            r, rounds = ratio(rates, name, f'find_many_{b}', name, f'lmdb_{b}')
            lines.append(f"| {what.split(', ')[1]} | {b} | {cell(phases.get(f'find_many_{b}'))} | "
                         f"{cell(phases.get(f'lmdb_{b}'))} | {'–' if r is None else f'{r:.2f}'} | "
                         f"{', '.join(f'{x:.2f}' for x in rounds)} |")
    lines += ['', '`netshm_find_into` one key at a time, for the batch of 1: '
              + '; '.join(f"{what.split(', ')[1]} {cell(rates.get(name, {}).get('find_into'))}"
                          for name, what in BATCH_SYSTEMS.items()) + '.']
    floor = rates.get('floor format1', {}).get('floor_pipelined')
    if floor:
        reached, ceilings = [], []
        for name, what in BATCH_SYSTEMS.items():
            mode = what.split(', ')[1]
            r, _ = ratio(rates, name, 'find_many_64', 'floor format1', 'floor_pipelined')
            c, _ = ratio(rates, 'floor format1', 'floor_pipelined', name, 'lmdb_64')
            if r is not None:
                reached.append(f'{mode} {r:.0%}')
                ceilings.append(f'{mode} {c:.1f}')
        lines += ['', 'Batches of 64 against the pipelined memory floor of the section above (the same three '
                  'stages of loads and prefetches with nothing else: no validation, no lock, no API call): '
                  'find_many reaches ' + '; '.join(reached) + ' of it. That floor divided by LMDB\'s batches of '
                  '64 (the ceiling of the design on this machine): ' + '; '.join(ceilings) + '. The memory '
                  'system is not what limits find_many: its instructions are (the checks of every word read, '
                  'probing, the result slots), four times the floor\'s. '
                  'Instructions per lookup (callgrind, `valgrind --tool=callgrind '
                  'build-bench/test/bench/peers/find_many_lmdb --variant none --n 20000 --passes 1 --batch 64`, '
                  'inclusive counts ÷ 20,000; `mdb_get` runs in two passes there): about 296 for `netshm_find_many` '
                  'in batches of 64, 667 for `netshm_find_into`, 975 for `mdb_get`; 71 for a lookup of the pipelined floor (`memory_floor '
                  '--n 20000 --rounds 1`, `pipelined_pass`).']
    return lines


def python_section(rates):
    if not any(name in rates for name in PYTHON_SYSTEMS):
        return ['Not measured in this run.']
    lines = [
        'test/bench/python_bench.py, run by Debian\'s /usr/bin/python3: W1\'s keys and values loaded from '
        'Python into each store, then W1\'s find_hit order looked up one key at a time (netshm `t.get(k)`, '
        'python3-lmdb `txn.get(kb)` in one read transaction, python3-tdb `db.get(kb)`, keys pre-packed as '
        'bytes for both) and, for netshm, with `t.find_many` in batches of 64 keys, and as *ctypes_call*: '
        '`netshm_find_into` called through `ctypes` with prepared arguments and nothing else (no key check, '
        'no array returned), the least any package over `ctypes` can cost; best of 3 passes per round, '
        'each with the garbage collector off (as `timeit` measures: netshm\'s `array(\'i\')` values are '
        'tracked by the collector, LMDB\'s and TDB\'s bytes are not, and with it on the collections of the '
        'results the program keeps to check them took most of netshm\'s time), every value checked. Issue '
        '19\'s targets (in the table of targets above): per-key find ≥ 0.5 × LMDB\'s `txn.get` loop, '
        'find_many in batches of 64 ≥ 1.5 × it.',
        '',
        '| store | ' + ' | '.join(PYTHON_PHASES) + ' | find_hit ÷ LMDB | find_many64 ÷ LMDB | ctypes_call ÷ LMDB |',
        '|---|' + '---:|' * (len(PYTHON_PHASES) + 3),
    ]
    for name, what in PYTHON_SYSTEMS.items():
        phases = rates.get(name, {})
        ratios = [ratio(rates, name, phase, 'python lmdb', 'find_hit')[0]
                  for phase in ('find_hit', 'find_many64', 'ctypes_call')]
        lines.append(f'| {what} | ' + ' | '.join(cell(phases.get(p)) if phases.get(p) else '–' for p in PYTHON_PHASES)
                     + ' | ' + ' | '.join('–' if r is None else f'{r:.2f}' for r in ratios) + ' |')
    lines += ['', 'A bare `ctypes` call (ctypes_call) leaves `t.get` little of the per-key target\'s budget: '
              'at 0.5 × LMDB, `t.get` may take twice `txn.get`\'s time per key, and the call alone takes most of '
              'that; what `t.get` adds on top (the int32 check of the key, a buffer safe between threads, the '
              '`array(\'i\')` it returns, its own Python call) is about 450 ns per key here (measured with the '
              'same loop around `t.get`, a bare call and nothing). With record locking every find also makes '
              'two `fcntl` calls.']
    return lines


def write_chart(rates, chart, n):
    names = [n for n in SYSTEMS if n in rates]
    highest = max(median(rates[n][p]) for n in names for p in PHASES if rates[n].get(p))
    top = 10 ** math.ceil(math.log10(highest * 1.5))
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / 'w1.dat'
        rows = ['phase ' + ' '.join(f'"{SYSTEMS[n]}"' for n in names)]
        for phase in PHASES:
            values = [median(rates[n].get(phase, [])) for n in names]
            rows.append(phase + ' ' + ' '.join('NaN' if v is None else f'{v:.0f}'
                                                                  for v in values))
        data.write_text('\n'.join(rows) + '\n')
        script = f"""
set terminal pngcairo noenhanced size 1500,700 font "sans,10"
set output '{chart}'
set title "W1 workload, {n:,} int32 keys, 4-word values: median ops/s per phase (log scale)"
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.85 border -1
set boxwidth 0.95
set logscale y
set yrange [1000:{top}]
set format y "%.0s%c"
set grid ytics mytics
set ylabel "operations per second"
set key outside right top vertical
set datafile missing "NaN"
plot '{data}' using 2:xtic(1) title columnheader(2), for [i=3:{len(names) + 1}] '' using i title columnheader(i)
"""
        subprocess.run(['gnuplot'], input=script, text=True, check=True)


def write(results, output, chart):
    rates, memory, skipped, pages = collect(results)
    env = results['environment']
    rounds = len(results['rounds'])
    targets, met = targets_table(rates)
    write_chart(rates, chart, results['n'])
    engine = ', '.join(env['engine_changes']) or 'none'
    lines = [
        '# Performance',
        '',
        'Written by `test/bench/run_benchmarks.py` (do not edit by hand: run it again). The workload, '
        'the programs and the targets are those of issues 6 (record and no locking) and 8 (mutex locking).',
        '',
        '## Workload W1',
        '',
        f"N = {results['n']:,} distinct int32 keys from xorshift32 (seed 2463534242), value = 4 words "
        '(k, k+1, k+2, k+3); every store fresh in /dev/shm. Phases, each timed in the program '
        '(`CLOCK_MONOTONIC`): **load** (add N), **find_hit** (N lookups in a fixed shuffled order, value '
        'copied out and summed), **find_hit_group64** (netshm only: the same in groups of 64 finds, '
        '`netshm_group_begin`/`_end`), **find_miss** (N absent keys), **replace** (all N), **iter** '
        '(one full pass), **remove** (N/2), **mp_mixed** (2 forked processes, each opening the store '
        f"itself, {results['mp_ops']:,} operations each, 90 % find / 10 % replace of the live keys, the "
        'store\'s own multi-process locking; total operations ÷ the slowest process). Every program '
        'checks its results (values found, sums, no torn reads, final lengths) and fails on any error.',
        '',
        '## How it was run',
        '',
        f"- Command: `{results['command']}`" + (f" (it configured the build with `{results['setup']}`)"
                                              if results.get('setup') else ''),
        f'- {rounds} rounds, interleaved: each round runs every program once, in the same order; '
        f"{results['seconds'] / 60:.1f} minutes in all.",
        f"- Load average before: {' '.join(env['load_before'])}; after: {' '.join(results['load_after'])}. "
        'Other work on the machine makes the numbers noisy: compare the ratios, taken within one run.',
        f"- Scheduling: {env.get('scheduling', 'not recorded')}.",
        f"- Source: commit {env['commit']}; uncommitted changes to the engine (lib/, capi/, cxx/): {engine}.",
        '',
        '## Machine and packages',
        '',
        f"- CPU: {env['cpu']}, {env['cores']} cores; kernel {env['kernel']}; {env['date']}.",
        f"- OCaml {env['ocaml']}; " + '; '.join(f'{p} {v}' for p, v in env['packages'].items()) + '.',
        '',
        f'## Results: median ops/s (min..max of {rounds} rounds)',
        '',
    ]
    lines += results_table(rates, skipped)
    unavailable = [f'{SYSTEMS.get(n, n)} ({why})' for n, phases in skipped.items() for p, why in phases.items()
                   if p == '*']
    if unavailable:
        lines += ['', 'Not run on this machine: ' + '; '.join(unavailable) + '.']
    image = os.path.relpath(chart, output.parent)
    lines += ['', f'![W1 ops/s per phase and system, log scale]({image})', '',
              '## Ratios: netshm ÷ each peer (medians of this run)', '', '### netshm with record locking', '']
    lines += ratio_table(rates, 'netshm record')
    lines += ['', '### netshm with mutex locking', '']
    lines += ratio_table(rates, 'netshm mutex')
    lines += ['', '### netshm without locking', '']
    lines += ratio_table(rates, 'netshm none')
    lines += ['', '## Targets', '',
              f'{met} of {len(TARGETS)} met. "Per round" divides the two systems\' rates measured in the same '
              'round.', '']
    lines += targets
    lines += ['', '## Shared memory after load', '',
              'Bytes the store\'s files hold in /dev/shm after the load phase (`st_blocks × 512`: tmpfs pages '
              'really allocated, lock files included) and per binding.', '']
    lines += memory_table(memory)
    lines += ['', '## Growth under contention', '']
    lines += growth_section(results, rates, pages)
    lines += ['', '## Readers under a paced writer', '']
    lines += readers_section(results, rates)
    lines += ['', '## The memory-latency floor of a find', '']
    lines += floor_section(rates)
    lines += ['', '## Batch lookups: netshm_find_many beside LMDB', '']
    lines += batch_section(rates)
    lines += ['', '## Python: the netshm package beside python3-lmdb and python3-tdb', '']
    lines += python_section(rates)
    lines += ['', '## The programs', '']
    lines += [f'- **{SYSTEMS[n]}**: {text}' for n, text in CONFIGURATIONS.items()]
    lines.append('')
    output.write_text('\n'.join(lines))
