#!/usr/bin/env python3
"""W1's lookups from Python: the netshm package beside python3-lmdb and python3-tdb.

The W1 key set of test/bench (bench_common.hpp: n xorshift32 keys, each bound to the
4 words k, k+1, k+2, k+3, looked up in a shuffled order), loaded into each store, then
  find_hit      one lookup per key: netshm t.get(k), LMDB txn.get(kb) in one read
                transaction, TDB db.get(kb) (keys pre-packed as 4 native bytes)
  find_many64   netshm t.find_many over batches of 64 keys
  ctypes_call   netshm_find_into called through ctypes alone, prepared arguments and
                nothing else: what any package over ctypes costs at the least
each timed over all n keys with the garbage collector off (as timeit does), best of
--repeat passes (the passes interleaved: each visits every store in turn), every value
checked once after.
Prints a table side by side and the issue-19 targets (find_hit >= 0.5 x LMDB's txn.get,
find_many64 >= 1.5 x it); --json prints run_benchmarks.py's records instead (system
"python", variant the store, one line per phase).

  python3 test/bench/python_bench.py [--build-dir build] [--n 100000] [--dir /dev/shm]

Run it with Debian's /usr/bin/python3 (python3-lmdb, python3-tdb); a missing module
skips its store.  --build-dir loads BUILD/capi/libnetshm.so.1 and the package from the
source tree, so no install is needed.
"""

import argparse
import array
import contextlib
import ctypes
import functools
import gc
import json
import os
import pathlib
import struct
import sys
import tempfile
import time

W1_SEED, SHUFFLE_SEED = 2463534242, 88675123
BATCH = 64
PHASES = ("load", "find_hit", "find_many64", "ctypes_call")
MASK = 0xFFFFFFFF


def xorshift32(state):
    while True:
        state ^= (state << 13) & MASK
        state ^= state >> 17
        state ^= (state << 5) & MASK
        yield state


def signed(u):
    return u - (1 << 32) if u & 0x80000000 else u


def workload(n):
    """(keys, order) exactly as bench::make_workload."""
    gen = xorshift32(W1_SEED)
    keys = [signed(next(gen)) for _ in range(n)]
    order = list(keys)
    shuffle = xorshift32(SHUFFLE_SEED)
    for i in range(n, 1, -1):
        j = next(shuffle) % i
        order[i - 1], order[j] = order[j], order[i - 1]
    return keys, order


def value_of(key):
    return [signed((key + i) & MASK) for i in range(4)]


def check(system, got, order):
    for key, value in zip(order, got):
        if value is None or list(value) != value_of(key):
            sys.exit("%s: key %d: wrong value %r" % (system, key, value))


# Each open_* loads W1 into a store whose cleanup it registers on stack, and returns
# (adds/s, {phase: (body, verify)}): body() runs the phase's lookups and keeps what they
# found, verify() checks it.


def open_netshm(args, keys, order, workdir, stack, locking):
    import netshm
    name = "/bench-python-%s-%d" % (locking, os.getpid())
    t = netshm.open(name, create=True, locking=locking, init=len(keys))
    stack.callback(netshm.unlink, name)
    stack.callback(t.close)
    t0 = time.perf_counter()
    for k in keys:
        t.add(k, value_of(k))
    load = len(keys) / (time.perf_counter() - t0)
    get, find_many, got, got_many = t.get, t.find_many, [], []
    batches = [array.array("i", order[i:i + BATCH]) for i in range(0, len(order), BATCH)]

    def find_hit():
        got[:] = [get(k) for k in order]

    def find_many64():
        got_many[:] = [v for batch in batches for v in find_many(batch)]

    phases = {"find_hit": (find_hit, lambda: check("netshm " + locking, got, order)),
              "ctypes_call": ctypes_call_phase(t, order)}
    try:
        find_many(batches[0])
        phases["find_many64"] = (find_many64,
                                 lambda: check("netshm find_many " + locking, got_many, order))
    except netshm.NotSupported:
        pass
    return load, phases


def ctypes_call_phase(t, order):
    """The floor of any package over ctypes: netshm_find_into called through ctypes with
    its arguments prepared once (t's handle, a private attribute, and one buffer), and
    nothing else: no key check, no array made.  Every call must answer NETSHM_OK."""
    find_into = ctypes.CDLL("libnetshm.so.1").netshm_find_into  # the library already loaded
    words = array.array("i", bytes(4 * 64))
    length = array.array("i", bytes(ctypes.sizeof(ctypes.c_size_t)))
    words_arg, cap_arg = ctypes.c_void_p(words.buffer_info()[0]), ctypes.c_size_t(64)
    length_arg = ctypes.c_void_p(length.buffer_info()[0])
    handle, answers = t._handle, []

    def ctypes_call():
        answers[:] = [find_into(handle, k, words_arg, cap_arg, length_arg) for k in order]
    ctypes_call.buffers = words, length  # alive as long as the pointers to them

    def verify():
        if len(answers) != len(order) or any(answers):
            sys.exit("netshm ctypes_call: a call did not answer NETSHM_OK")

    return ctypes_call, verify


def load_bytes(put, keys):
    """Loads W1 through put(key bytes, value bytes); returns adds/s and the packed keys."""
    packed = {k: struct.pack("=i", k) for k in keys}
    t0 = time.perf_counter()
    for k in keys:
        put(packed[k], struct.pack("=4i", *value_of(k)))
    return len(keys) / (time.perf_counter() - t0), packed


def bytes_phases(system, get, packed, order):
    """find_hit through get(key bytes) -> value bytes."""
    order_bytes = [packed[k] for k in order]
    got = []

    def find_hit():
        got[:] = [get(kb) for kb in order_bytes]

    return {"find_hit": (find_hit, lambda: check(system, [struct.unpack("=4i", v) for v in got], order))}


def open_lmdb(args, keys, order, workdir, stack):
    import lmdb
    env = lmdb.open(os.path.join(workdir, "lmdb"), map_size=1 << 30, sync=False,
                    metasync=False, writemap=True)
    stack.callback(env.close)
    with env.begin(write=True) as txn:
        load, packed = load_bytes(txn.put, keys)
    txn = stack.enter_context(env.begin())
    return load, bytes_phases("lmdb", txn.get, packed, order)


def open_tdb(args, keys, order, workdir, stack):
    import tdb
    db = tdb.Tdb(os.path.join(workdir, "tdb"), len(keys), tdb.DEFAULT, os.O_RDWR | os.O_CREAT, 0o600)
    stack.callback(db.close)
    load, packed = load_bytes(db.store, keys)
    return load, bytes_phases("tdb", db.get, packed, order)


def use_build(build_dir):
    """The library of build_dir (loaded first: later loads by SONAME find it) and the
    package of this source tree."""
    ctypes.CDLL(str(pathlib.Path(build_dir).resolve() / "capi" / "libnetshm.so.1"),
                mode=ctypes.RTLD_GLOBAL)
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "python"))


def timed(body):
    """Seconds body() takes with the cyclic garbage collector off, as timeit measures:
    netshm's values are array('i'), which the collector tracks (LMDB's and TDB's bytes
    it does not), and with it on, the time would be mostly collections whose cost is
    that of this program's heap (the results it keeps to check them), not the store's."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        body()
        return time.perf_counter() - t0
    finally:
        if enabled:
            gc.enable()


def run(args):
    """Loads every store, then runs the lookups --repeat times, interleaved (each pass
    visits every store in turn, so that a change of the machine's load hits all of them),
    keeping each phase's best pass."""
    keys, order = workload(args.n)
    stores = [("netshm", "mutex", functools.partial(open_netshm, locking="mutex")),
              ("netshm", "record", functools.partial(open_netshm, locking="record")),
              ("lmdb", "python3-lmdb", open_lmdb),
              ("tdb", "python3-tdb", open_tdb)]
    records = []
    with tempfile.TemporaryDirectory(prefix="bench-python-", dir=args.dir) as workdir, \
            contextlib.ExitStack() as stack:
        opened = []
        for system, variant, open_store in stores:
            record = {"system": system, "variant": variant}
            records.append(record)
            try:
                record["load"], phases = open_store(args, keys, order, workdir, stack)
            except ImportError as e:
                record["skipped"] = "no module: %s" % e
                continue
            opened.append((record, phases))
        for _ in range(args.repeat):
            for record, phases in opened:
                for phase, (body, _) in phases.items():
                    record[phase] = max(record.get(phase, 0), len(order) / timed(body))
        for _, phases in opened:
            for _, verify in phases.values():
                verify()
    return records


def targets(records):
    """The issue's targets, against LMDB's find_hit: (what, ratio, goal) per netshm variant."""
    lmdb = next((r["find_hit"] for r in records if r["system"] == "lmdb" and "find_hit" in r), None)
    out = []
    if lmdb is None:
        return out
    for r in records:
        if r["system"] != "netshm":
            continue
        for phase, goal in (("find_hit", 0.5), ("find_many64", 1.5)):
            if phase in r:
                out.append(("netshm %s %s" % (r["variant"], phase), r[phase] / lmdb, goal))
    return out


def json_lines(records):
    """run_benchmarks.py's records: system "python", variant the store, one line per phase."""
    for r in records:
        variant = "netshm " + r["variant"] if r["system"] == "netshm" else r["system"]
        if "skipped" in r:
            yield {"system": "python", "variant": variant, "skipped": r["skipped"]}
        for phase in PHASES:
            if phase in r:
                yield {"system": "python", "variant": variant, "phase": phase, "ops_per_s": r[phase]}


def print_table(records, args):
    print("W1 lookups from Python %s, n = %d, best of %d (ops/s)"
          % (sys.version.split()[0], args.n, args.repeat))
    print("%-8s %-14s %12s %12s %12s %12s" % ("system", "variant", "load", "find_hit", "find_many64",
                                               "ctypes_call"))
    for r in records:
        if "skipped" in r:
            print("%-8s %-14s skipped: %s" % (r["system"], r["variant"], r["skipped"]))
            continue
        cells = ["%12.0f" % r[p] if p in r else "%12s" % "-" for p in PHASES]
        print("%-8s %-14s %s" % (r["system"], r["variant"], " ".join(cells)))
    for what, ratio, goal in targets(records):
        print("%-28s %.2f x lmdb txn.get (target >= %.1f): %s"
              % (what, ratio, goal, "met" if ratio >= goal else "MISSED"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="/dev/shm", help="where LMDB's and TDB's files go")
    parser.add_argument("--build-dir", help="use this build's libnetshm and the source tree's package")
    parser.add_argument("--json", action="store_true", help="one JSON object per store")
    args = parser.parse_args()
    if args.build_dir:
        use_build(args.build_dir)
    records = run(args)
    if args.json:
        for line in json_lines(records):
            print(json.dumps(line))
    else:
        print_table(records, args)


if __name__ == "__main__":
    main()
