#!/usr/bin/env python3
"""System calls per table operation, counted with strace (issue 4).

Runs syscall_probe under `strace -f -c -e trace=fcntl,lseek` twice per
operation and mode, with 0 and with N repetitions, on a fresh copy of one
table; the difference divided by N is the cost of one operation.  Asserts:
  - outside a group, netshm_find / netshm_find_into / netshm_mem of a small
    value cost at most 2 fcntl calls each;
  - inside a group, an operation whose locks are already held costs 0;
  - no run ever calls lseek.
With --markdown, prints the table of doc/locking.md.  Exits 77 (skipped) when
strace is missing or cannot trace here.

  syscall_counts.py PROBE [--markdown] [--repeat N]
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

# At most this many fcntl calls outside a group (issue 4: cheap reads).
OUTSIDE_LIMITS = {"find": 2, "find_into": 2, "mem": 2}
# Inside a group, after a first call took their locks, these cost nothing.
FREE_INSIDE = {"add", "mem", "find", "find_large", "find_into", "find_all", "iter", "iter_keys", "length",
               "find_blocks", "write_blocks", "group", "group_write", "dump", "memory"}


def strace_counts(strace, command, workdir):
    """Calls of fcntl and lseek made by command (and its children)."""
    summary = os.path.join(workdir, "strace.txt")
    # LeakSanitizer cannot run under ptrace; the sanitizer builds check leaks
    # in every other test.
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    run = subprocess.run([strace, "-f", "-c", "-e", "trace=fcntl,lseek", "-o", summary] + command,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} under strace failed ({run.returncode}): {run.stderr}")
    counts = {"fcntl": 0, "lseek": 0}
    with open(summary) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 5 and fields[-1] in counts and fields[3].isdigit():
                counts[fields[-1]] = int(fields[3])
    return counts


def strace_works(strace, workdir):
    try:
        strace_counts(strace, ["true"], workdir)
        return True, ""
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return False, str(e)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probe")
    parser.add_argument("--markdown", action="store_true", help="print the table of doc/locking.md")
    parser.add_argument("--repeat", type=int, default=10, help="repetitions per measured run")
    args = parser.parse_args()

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
