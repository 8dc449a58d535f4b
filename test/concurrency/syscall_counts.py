#!/usr/bin/env python3
"""System calls per table operation, counted with strace (issue 4).

Runs syscall_probe under `strace -f -c -e trace=fcntl,lseek` twice per
operation and mode, with 0 and with N repetitions, on a fresh copy of one
table; the difference divided by N is the cost of one operation.  Asserts:
  - outside a group, netshm_find / netshm_find_into / netshm_mem of a small
    value cost at most 2 fcntl calls each;
  - inside a group, an operation whose locks are already held costs 0;
  - no run ever calls lseek.
With --markdown, prints the table of doc/locking.md.

With --mutex, runs the probe with NETSHM_PROBE_LOCKING=mutex under
`strace -f -c` (every system call) instead, and asserts that the optimistic
readers of mutex locking (netshm_find, netshm_find_into, netshm_mem,
netshm_length) make none at all (memory mappings excepted in an
AddressSanitizer build, whose allocator makes them).

Exits 77 (skipped) when strace is missing or cannot trace here.

  syscall_counts.py PROBE [--markdown | --mutex] [--repeat N]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77

# (operation, what it does in the probe)
OPERATIONS = [
    ("add", "netshm_add of a new key, 4 words"),
    ("replace", "netshm_replace of a bound key, 4 words"),
    ("remove", "netshm_remove of a bound key"),
    ("mem", "netshm_mem of a bound key"),
    ("find", "netshm_find of a 4-word value"),
    ("find_large", "netshm_find of a 5000-word value (84 pages)"),
    ("find_into", "netshm_find_into of a 4-word value"),
    ("find_all", "netshm_find_all of a key with one binding"),
    ("iter", "netshm_iter of a table of 302 keys"),
    ("iter_keys", "netshm_iter_keys of a table of 302 keys"),
    ("length", "netshm_length"),
    ("find_blocks", "netshm_find_blocks of a key with one binding"),
    ("write_blocks", "netshm_write_blocks of a key with one binding"),
    ("group", "netshm_group with an empty body"),
    ("group_write", "netshm_group_write with an empty body"),
    ("group_find_replace", "netshm_group { find_into; replace }"),
    ("group_write_find_replace", "netshm_group_write { find_into; replace }"),
    ("dump", "netshm_dump of a table of 302 keys"),
    ("memory", "netshm_memory"),
]

# With mutex locking, these make no system call (issue 8).  A large value is
# found into the caller's buffer: netshm_find's malloc of 20 KB per call maps
# memory under AddressSanitizer's allocator.
MUTEX_OPTIMISTIC = ["find", "find_into", "find_into_large", "mem", "length"]

# At most this many fcntl calls outside a group (issue 4: cheap reads).
OUTSIDE_LIMITS = {"find": 2, "find_into": 2, "mem": 2}
# Inside a group, after a first call took their locks, these cost nothing.
FREE_INSIDE = {"add", "mem", "find", "find_large", "find_into", "find_all", "iter", "iter_keys", "length",
               "find_blocks", "write_blocks", "group", "group_write", "dump", "memory"}


def strace_counts(strace, command, workdir, trace="fcntl,lseek", extra_env=None):
    """Calls made by command (and its children) of each system call in trace
    (every one with trace=None); "total" is their sum."""
    summary = os.path.join(workdir, "strace.txt")
    # LeakSanitizer cannot run under ptrace; the sanitizer builds check leaks
    # in every other test.  Without a quarantine, AddressSanitizer's allocator
    # reuses freed memory instead of mapping more: the calls counted are the
    # library's.
    asan_options = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0:quarantine_size_mb=0"
    env = dict(os.environ, ASAN_OPTIONS=asan_options, **(extra_env or {}))
    selection = ["-e", "trace=" + trace] if trace else []
    run = subprocess.run([strace, "-f", "-c"] + selection + ["-o", summary] + command,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} under strace failed ({run.returncode}): {run.stderr}")
    counts = {name: 0 for name in trace.split(",")} if trace else {}
    counts["total"] = 0
    with open(summary) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[3].isdigit() and not fields[-1].startswith("-"):
                counts[fields[-1]] = int(fields[3])
    return counts


def strace_works(strace, workdir):
    try:
        strace_counts(strace, ["true"], workdir)
        return True, ""
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return False, str(e)


def mutex_readers(strace, args, workdir, original, table):
    """Every system call of MUTEX_OPTIMISTIC with mutex locking: none."""
    failures = []

    def measure(operation, count):
        shutil.copyfile(original, table)
        return strace_counts(strace, [args.probe, operation, table, str(count), "outside"], workdir,
                             trace=None, extra_env={"NETSHM_PROBE_LOCKING": "mutex"})

    # AddressSanitizer's allocator maps memory for allocations that the plain
    # allocator serves from the heap: there, memory mappings are its own.
    with open(args.probe, "rb") as f:
        sanitized = b"__asan_init" in f.read()
    allocator_calls = {"mmap", "munmap", "madvise"} if sanitized else set()
    for operation in MUTEX_OPTIMISTIC:
        base = measure(operation, 0)
        total = measure(operation, args.repeat)
        extra = {name: calls - base.get(name, 0) for name, calls in total.items()
                 if name != "total" and name not in allocator_calls and calls != base.get(name, 0)}
        print(f"{operation:12} x{args.repeat} with mutex locking: system calls beyond the run without: {extra or 0}")
        if extra:
            failures.append(f"{operation} with mutex locking: {extra}")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probe")
    parser.add_argument("--markdown", action="store_true", help="print the table of doc/locking.md")
    parser.add_argument("--mutex", action="store_true",
                        help="assert that mutex locking's optimistic readers make no system call")
    parser.add_argument("--repeat", type=int, help="repetitions per measured run (10; 1000 with --mutex)")
    args = parser.parse_args()
    if args.repeat is None:
        args.repeat = 1000 if args.mutex else 10

    strace = shutil.which("strace")
    if strace is None:
        print("SKIP: strace is not installed (Debian: apt-get install strace)")
        return SKIP
    failures = []
    with tempfile.TemporaryDirectory(prefix="netshm-syscalls-") as workdir:
        ok, why = strace_works(strace, workdir)
        if not ok:
            print(f"SKIP: strace cannot trace here: {why}")
            return SKIP
        original = os.path.join(workdir, "original")
        subprocess.run([args.probe, "setup", original], check=True, timeout=60)
        table = os.path.join(workdir, "table")
        if args.mutex:
            return mutex_readers(strace, args, workdir, original, table)

        def measure(operation, count, mode):
            shutil.copyfile(original, table)
            counts = strace_counts(strace, [args.probe, operation, table, str(count), mode], workdir)
            if counts["lseek"] != 0:
                failures.append(f"{operation} {mode} x{count}: {counts['lseek']} lseek calls")
            return counts["fcntl"]

        rows = []
        for operation, description in OPERATIONS:
            cost = {}
            for mode in ("outside", "inside"):
                base = measure(operation, 0, mode)
                total = measure(operation, args.repeat, mode)
                per_op = (total - base) / args.repeat
                cost[mode] = per_op
            rows.append((operation, description, cost["outside"], cost["inside"]))
            limit = OUTSIDE_LIMITS.get(operation)
            if limit is not None and cost["outside"] > limit:
                failures.append(f"{operation} outside a group: {cost['outside']:g} fcntl calls, at most {limit}")
            if operation in FREE_INSIDE and cost["inside"] != 0:
                failures.append(f"{operation} inside a group with its locks held: {cost['inside']:g} fcntl calls, "
                                "expected 0")

    if args.markdown:
        print("| operation | what was measured | fcntl outside a group | fcntl inside a group, locks held |")
        print("|---|---|---:|---:|")
        for operation, description, outside, inside in rows:
            print(f"| `{operation}` | {description} | {outside:g} | {inside:g} |")
    else:
        for operation, description, outside, inside in rows:
            print(f"{operation:26} outside {outside:4g}  inside {inside:4g}   ({description})")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
