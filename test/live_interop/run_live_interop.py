#!/usr/bin/env python3
"""Live interop: OCamlnet's Netshm processes and netshm's processes on one table at once.

Scenarios (--scenario):
  counters  OCaml processes (Netshm.group { find; replace }, retried on Deadlock) and C
            processes (netshm_group_write, netshm_group_begin_write, or netshm_group retried
            on NETSHM_EDEADLK: --c-variants) increment 16 shared counters, N times each
            (--increments), every 8th increment also adding a key of its own, so that the
            table grows through several hash resizes meanwhile. Every counter must end at
            exactly the number of increments it got, every added key must be there.
  readers   OCaml and C writers replace 16 keys with self-checking values (all words equal
            w = writer id << 24 | sequence, 1 + w mod 300 words) for --millis ms, and add a
            key of their own bound to such a value every 16th time (the object grows), while
            OCaml and C readers (the C one through a read-only table) check every value they
            read (find, find_into, iter). Each reader must have seen values of every writer,
            none torn; every added key must be there.
Then both sides read the whole table back: their Netshm.dump / netshm_dump outputs must be
identical, their sorted readbacks identical and as expected, and the table must pass
format1.check (test/interop/format1.py: no leaked page, counts right, keys reachable).

--kind file uses a File object; --kind posix a POSIX object with a companion lock file
(OCaml `POSIX (lock_file, shm)`, C netshm_open_posix_lockfile). Every process ends itself
after 60 s (alarm) and is killed after --timeout s. Exit status 0 on success, 1 on failure
with the reason on stderr.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

KEYS = 16
PAGESIZE = 256
EXTRA_EVERY = 8
GROW_EVERY = 16


class Failure(Exception):
    pass


def counter_length(n):
    return 1 + n % 97


def pattern_length(w):
    return 1 + w % 300


class Run:
    def __init__(self, args, workdir):
        self.args = args
        self.peers = {"ocaml": args.ocaml, "c": args.c_peer}
        if args.kind == "file":
            self.name, self.lock = os.path.join(workdir, "table"), "-"
            self.object_path = self.name
        else:
            self.name = "/netshm-live-%d-%s" % (os.getpid(), os.path.basename(workdir))
            self.lock = os.path.join(workdir, "table.lock")
            self.object_path = "/dev/shm" + self.name

    def command(self, side, verb, *extra):
        return [self.peers[side], verb, self.args.kind, self.name, self.lock] + [str(x) for x in extra]

    def call(self, side, verb, *extra):
        cmd = self.command(side, verb, *extra)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=self.args.timeout)
        if r.returncode != 0:
            raise Failure("%s exited with %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
        return r.stdout

    def concurrently(self, commands):
        """Starts every command, waits until all printed "ready", says "go" to all, and
        returns their outputs; a process failing or timing out fails the run."""
        procs = []
        try:
            for cmd in commands:
                procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True))
            for cmd, p in zip(commands, procs):
                line = p.stdout.readline()
                if line != "ready\n":
                    p.wait(timeout=self.args.timeout)
                    raise Failure("%s did not get ready (%r): %s"
                                  % (" ".join(cmd), line, p.stderr.read().strip()))
            start = time.monotonic()
            for p in procs:
                p.stdin.write("go\n")
                p.stdin.flush()
            deadline = start + self.args.timeout
            outputs = []
            for cmd, p in zip(commands, procs):
                try:
                    out, err = p.communicate(timeout=max(1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise Failure("%s still running after %d s" % (" ".join(cmd), self.args.timeout))
                if p.returncode != 0:
                    raise Failure("%s exited with %d: %s" % (" ".join(cmd), p.returncode, err.strip()))
                outputs.append(out)
            return outputs, time.monotonic() - start
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()

    def readback(self):
        """Both sides' dumps, which must agree; returns the sorted readback as
        {key: [value, ...]} (a key's bindings newest first) and the length."""
        dumps = {side: self.call(side, "dump") for side in ("ocaml", "c")}
        ocaml_lines, c_lines = dumps["ocaml"].splitlines(), dumps["c"].splitlines()
        if ocaml_lines != c_lines:
            first = next((i for i, (a, b) in enumerate(zip(ocaml_lines, c_lines)) if a != b),
                         min(len(ocaml_lines), len(c_lines)))
            raise Failure("the OCaml and C dumps differ at line %d (of %d and %d):\n  ocaml: %s\n  c:     %s"
                          % (first + 1, len(ocaml_lines), len(c_lines),
                             ocaml_lines[first] if first < len(ocaml_lines) else "<end>",
                             c_lines[first] if first < len(c_lines) else "<end>"))
        at = ocaml_lines.index(next(l for l in ocaml_lines if l.startswith("readback length=")))
        length = int(ocaml_lines[at].split("=")[1])
        table = {}
        for line in ocaml_lines[at + 1:]:
            key, n, *words = line.split()
            words = [int(w) for w in words]
            if int(n.strip("[]")) != len(words):
                raise Failure("readback line %r: length does not match its words" % line)
            table.setdefault(int(key), []).append(words)
        if sum(len(v) for v in table.values()) != length:
            raise Failure("readback: %d bindings, length says %d"
                          % (sum(len(v) for v in table.values()), length))
        return table, length

    def check_format(self):
        sys.path.insert(0, self.args.format1_dir)
        import format1  # noqa: E402  (test/interop's reader of format 1)
        try:
            problems = format1.check(format1.Table(self.object_path, PAGESIZE))
        except format1.FormatError as e:
            problems = [str(e)]
        if problems:
            raise Failure("the table fails format1.check: %s" % "; ".join(problems))

    # ---------------------------------------------------------------- counters

    def counters(self):
        n = self.args.increments
        variants = self.args.c_variants.split(",")
        ids = {}  # id -> (side, variant)
        for i in range(self.args.ocaml_processes):
            ids[len(ids) + 1] = ("ocaml", "group")
        for v in variants:
            ids[len(ids) + 1] = ("c", v)
        creator = self.args.creator
        self.call(creator, "init", KEYS, PAGESIZE, 1)
        commands = []
        for pid, (side, variant) in ids.items():
            extra = [pid, KEYS, n, EXTRA_EVERY] + ([variant] if side == "c" else [])
            commands.append(self.command(side, "count", *extra))
        outputs, seconds = self.concurrently(commands)

        deadlocks = {}
        for pid, out in zip(ids, outputs):
            fields = dict(f.split("=") for f in out.split()[1:])
            if out.split()[:1] != ["done"] or int(fields["groups"]) != n:
                raise Failure("process %d (%s %s) reported %r" % (pid, *ids[pid], out))
            deadlocks[pid] = int(fields["deadlocks"])

        expected = {k: 0 for k in range(KEYS)}
        extras = {}
        for pid in ids:
            for i in range(n):
                expected[(5 * i + 3 * pid) % KEYS] += 1
                if i % EXTRA_EVERY == 0:
                    extras[1000000 + 100000 * pid + i] = [pid, i]
        table, length = self.readback()
        problems = []
        for k, c in expected.items():
            want = [[c] * counter_length(c)]
            if table.get(k) != want:
                got = table.get(k)
                shown = "unbound" if got is None else "; ".join(
                    "[%d words] %s" % (len(v), " ".join(map(str, v[:4])) + (" ..." if len(v) > 4 else ""))
                    for v in got)
                problems.append("counter %d: expected %d (%d words), got %s"
                                % (k, c, counter_length(c), shown))
        for k, v in extras.items():
            if table.get(k) != [v]:
                problems.append("added key %d: expected [%s], got %s" % (k, v, table.get(k)))
        strangers = sorted(set(table) - set(expected) - set(extras))
        if strangers:
            problems.append("unexpected keys %s" % strangers[:10])
        if length != KEYS + len(extras):
            problems.append("length %d, expected %d" % (length, KEYS + len(extras)))
        if problems:
            raise Failure("after %d increments by %s:\n  %s"
                          % (n * len(ids), ", ".join("%d=%s/%s" % (p, *ids[p]) for p in ids),
                             "\n  ".join(problems[:20])))
        self.check_format()
        total = n * len(ids)
        print("counters %s: %s x %d increments = %d in %.2f s (%.0f groups/s); deadlocks retried: %s;"
              " %d counters exact, %d added keys, dumps identical"
              % (self.args.kind, "+".join("%s/%s" % ids[p] for p in ids), n, total, seconds,
                 total / seconds, ", ".join("%d=%d" % (p, d) for p, d in deadlocks.items()),
                 KEYS, len(extras)))

    # ----------------------------------------------------------------- readers

    def readers(self):
        millis = self.args.millis
        # init binds every key to [| 0 |]: the pattern of "writer 0", sequence 0.
        self.call(self.args.creator, "init", KEYS, PAGESIZE, 1)
        writers = {1: "ocaml", 2: "c"}
        readers = {3: "ocaml", 4: "c"}
        commands = [self.command(side, "write", wid, KEYS, millis) for wid, side in writers.items()]
        commands += [self.command(side, "read", rid, KEYS, millis) for rid, side in readers.items()]
        outputs, seconds = self.concurrently(commands)
        writes = {}
        for wid, out in zip(writers, outputs):
            writes[wid] = int(out.split("writes=")[1].split()[0])
        report = []
        for rid, out in zip(readers, outputs[len(writers):]):
            fields = dict(f.split("=") for f in out.split()[1:])
            seen = {int(w): int(c) for w, c in (x.split(":") for x in fields["seen"].split(",") if x)}
            missing = [w for w in writers if seen.get(w, 0) == 0]
            if missing:
                raise Failure("%s reader %d saw no value of writer(s) %s: seen %s (writes %s)"
                              % (readers[rid], rid, missing, seen, writes))
            report.append("%s reader: %s reads, %s" % (readers[rid], fields["reads"],
                          " ".join("%d from %s" % (seen[w], writers[w]) for w in writers)))
        extras = {}
        for wid, n in writes.items():
            for seq in range(GROW_EVERY, n + 1, GROW_EVERY):
                w = wid << 24 | (seq & 0xFFFFFF)
                extras[1000000 + 100000 * wid + seq // GROW_EVERY] = [w] * pattern_length(w)
        table, length = self.readback()
        problems = []
        if sorted(table) != sorted(list(range(KEYS)) + list(extras)) or length != KEYS + len(extras):
            missing = sorted((set(range(KEYS)) | set(extras)) - set(table))
            strangers = sorted(set(table) - set(range(KEYS)) - set(extras))
            problems.append("length %d, expected %d; missing keys %s; unexpected keys %s"
                            % (length, KEYS + len(extras), missing[:10], strangers[:10]))
        for k, vs in table.items():
            if len(vs) != 1 or not vs[0] or vs[0] != [vs[0][0]] * pattern_length(vs[0][0]):
                problems.append("key %d: %s" % (k, [v[:4] for v in vs]))
            elif k in extras and vs[0] != extras[k]:
                problems.append("added key %d: %d words %s, expected %d words %d"
                                % (k, len(vs[0]), vs[0][:4], len(extras[k]), extras[k][0]))
        if problems:
            raise Failure("after the readers run: %s" % "; ".join(problems[:20]))
        self.check_format()
        print("readers %s: %.2f s, writes %s (%d keys added, object of %d bytes); %s;"
              " no torn value, dumps identical"
              % (self.args.kind, seconds, ", ".join("%s %d" % (writers[w], writes[w]) for w in writes),
                 len(extras), os.path.getsize(self.object_path), "; ".join(report)))

    def unlink(self):
        """Removes the object by the other side than the one that created it."""
        other = "c" if self.args.creator == "ocaml" else "ocaml"
        self.call(other, "unlink")
        left = [p for p in (self.object_path, self.lock) if p != "-" and os.path.exists(p)]
        if left:
            raise Failure("%s unlink left %s behind" % (other, left))

    def cleanup(self):
        for p in (self.object_path, self.lock):
            if p != "-" and os.path.exists(p):
                os.unlink(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ocaml", required=True, help="the OCaml peer (live_peer.ml)")
    ap.add_argument("--c-peer", required=True, help="the C peer (live_peer.c)")
    ap.add_argument("--format1-dir", required=True, help="the folder of test/interop/format1.py")
    ap.add_argument("--scenario", choices=("counters", "readers"), required=True)
    ap.add_argument("--kind", choices=("file", "posix"), required=True)
    ap.add_argument("--creator", choices=("ocaml", "c"), default="ocaml")
    ap.add_argument("--ocaml-processes", type=int, default=2)
    ap.add_argument("--c-variants", default="write,begin",
                    help="one C process per variant: write, begin or plain")
    ap.add_argument("--increments", type=int, default=int(os.environ.get("NETSHM_LIVE_INCREMENTS", 5000)))
    ap.add_argument("--millis", type=int, default=1500)
    ap.add_argument("--timeout", type=int, default=55)
    args = ap.parse_args()

    workdir = tempfile.mkdtemp(prefix="netshm-live-")
    run = Run(args, workdir)
    try:
        if args.scenario == "counters":
            run.counters()
        else:
            run.readers()
        run.unlink()
    except (Failure, subprocess.TimeoutExpired) as e:
        print("FAIL live interop %s %s: %s" % (args.scenario, args.kind, e), file=sys.stderr)
        return 1
    finally:
        run.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
