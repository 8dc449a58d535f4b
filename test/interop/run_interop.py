#!/usr/bin/env python3
"""Interop test: netshm against the real OCamlnet Netshm.

For every seed, script_gen.py generates a random script of operations (every operation of
the API, block operations included) on a table with a random page size (160, 256, 1024;
now and then 164, 172, 300 or 4096) and init hint (0..10000, or none), in one of four styles
(mixed, colliding keys, growth, deep binding stacks), and predicts its transcript. Then:

  run     the OCaml helper, the C driver in mimic mode and the C driver in default mode each
          run the script on a fresh file; each transcript must be the predicted one.
  bytes   (c) the OCaml file and the mimic-mode file are byte-identical.
  shape   (d) the OCaml file and the default-mode file have the same canonical structure
          (format1.canonical: everything but page numbering and free pages), and
          netshm_dump lists the bindings in Netshm.dump's order.
  sound   every file passes format1.check (no leaked pages, counts right, keys reachable).
  c-check and every such file passes netshm_check (the C driver, read-only, with --check),
          OCaml's own files included, with netshm_stat's statistics equal to format1's.
  c-reads (a) the C driver reads the OCaml file back: every binding, find/mem/find_all/
          find_blocks/iter/iter_keys/length/dump, as predicted, half of the time through a
          read-only descriptor and with the page size detected; reading changes nothing.
  ocaml-reads (b) the OCaml helper reads the default-mode file back the same way.
  alternate   the script is cut into chunks run alternately by OCaml and the C driver on
          one file: both keep working on what the other wrote; with the C driver in mimic
          mode the file must be byte-identical to the one OCaml wrote alone.
  pagesize    managing the OCaml file with a wrong page size is refused, naming the real one.
  reinit  (even seeds) the C driver re-initialises the OCaml file (init on a non-empty
          object) and runs a new script, OCaml continues it: as on a new table; the object
          does not shrink.
  stale   (odd seeds) OCaml re-initialises its file (leaving the old pages behind), the C
          driver runs a new script growing into them, OCaml reads the result: no phantom key.
  concurrent  OCaml and the C driver run two scripts on keys of different parity at the same
          time on one table (record locking): each prints its own predicted transcript, the
          table ends with both's bindings, and a counter both increment with Netshm's
          group { find; replace } idiom (retried on deadlock) holds the sum. The scripts avoid
          OCamlnet's write_blocks patterns that leave page locks behind
          (script_gen.ocaml_lock_safe). Half of the time the table is a POSIX object whose
          locks live on a lock file (OCamlnet 4.1.9's `POSIX names, netshm_open_posix_lockfile).

A failure names the seed, the check, and the first differing script line / page and word;
for bytes and shape the script is bisected to the first operation after which the files
differ. Reproduce one seed with --seeds S:S+1; --keep DIR keeps the failing seeds' files.

Environment: NETSHM_INTEROP_SEEDS=FIRST:END and NETSHM_INTEROP_OPS=N override the seeds and
the number of operations per script that the meson suites pass as arguments (each meson test
of a suite runs its --shard of the seeds); NETSHM_INTEROP_KEEP=DIR is --keep. For example
NETSHM_INTEROP_SEEDS=0:2000 meson test --suite interop runs ten times the usual seeds.
"""

import argparse
import concurrent.futures
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import format1  # noqa: E402
import script_gen  # noqa: E402

CHECKS = ("run", "bytes", "shape", "sound", "c-check", "c-reads", "ocaml-reads", "alternate", "reinit",
          "pagesize", "stale", "concurrent")
PROBLEM_TAIL = "14"   # netshm_problem_kind NETSHM_PROBLEM_TAIL
CONCURRENT_OPS = 300
INT32_MAX = 2**31 - 1


def short(text, limit=300):
    return text if len(text) <= limit else text[:limit] + "..."


def normalize(lines):
    """The transcript with the raw output of each netdump ("<shm length=N", "  K => [| ... |]"
    per binding in hash table order, ">") prefixed by its script line number and its bindings
    sorted by key (stably: a key's bindings stay newest first), as the model predicts it;
    and the raw netdump outputs, whose order two programs on equal hash tables share."""
    out, raw = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        if line.endswith(" netdump"):
            head = line.split(" ")
            block = []
            while i < len(lines) and (not block or block[-1] != ">"):
                block.append(lines[i])
                i += 1
            raw.append(block)
            body = [b for b in block if b.startswith("  ")]
            body.sort(key=lambda b: int(b.split()[0]) if b.split()[0].lstrip("-").isdigit() else 0)
            rest = [b for b in block if not b.startswith("  ")]
            out += ["%s %s" % (head[0], b) for b in rest[:1] + body + rest[1:]]
    return out, raw


class Seed:
    """Runs every check of one seed in a directory of its own."""

    def __init__(self, seed, ops, ocaml, driver, workdir):
        self.seed = seed
        self.ocaml = ocaml
        self.driver = driver
        self.dir = workdir
        self.scenario = script_gen.generate(seed, ops)
        self.rng = random.Random(seed * 7919 + 1)
        self.init_arg = "none" if self.scenario.init is None else str(self.scenario.init)
        self.failures = []
        self.tables = {}
        self.verify = None
        self.last_netdumps = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_script(self, name, lines):
        p = self.path(name)
        with open(p, "w") as f:
            f.write("\n".join(lines) + "\n")
        return p

    def run(self, program, table, script, pagesize=None, init=None, first_line=1, mimic=False,
            readonly=False, lock_file=None):
        """Runs the OCaml helper or the C driver; returns (transcript lines, error text)."""
        cmd = [self.ocaml if program == "ocaml" else self.driver, "--first-line", str(first_line)]
        if lock_file:
            cmd += ["--posix", lock_file]
        if mimic:
            cmd.append("--mimic")
        if readonly:
            cmd.append("--readonly")
        cmd += [table, str(self.scenario.pagesize if pagesize is None else pagesize),
                self.init_arg if init is None else init, script]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return [], "timed out after 300 s: %s" % " ".join(cmd)
        lines, self.last_netdumps = normalize(r.stdout.splitlines())
        if r.returncode != 0:
            text = "exit status %d" % r.returncode
            if r.stderr.strip():
                text += ", stderr: " + short(r.stderr.strip())
            if lines:
                text += ", last output: " + short(lines[-1])
            return lines, text
        return lines, None

    def fail(self, check, text):
        self.failures.append((check, text))

    def compare_transcript(self, check, who, got, error, expected, lines):
        """Fails check unless got == expected; names the first differing script line."""
        if got == expected and error is None:
            return True
        n = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e),
                 min(len(got), len(expected)))
        if n < len(expected):
            ln = int(expected[n].split(" ", 1)[0])
        elif n < len(got) and got[n].split(" ", 1)[0].isdigit():
            ln = int(got[n].split(" ", 1)[0])
        else:
            ln = len(lines)
        op = lines[ln - 1] if 0 < ln <= len(lines) else "?"
        if error and n == len(got) - 1:
            error = error.split(", last output: ")[0]
        self.fail(check, "%s: transcript differs at script line %d `%s`:\n      expected: %s\n"
                  "      got:      %s%s" % (
                      who, ln, short(op, 120),
                      short(expected[n]) if n < len(expected) else "(end of transcript)",
                      short(got[n]) if n < len(got) else "(end of transcript)",
                      "\n      " + error if error else ""))
        return False

    def bisect(self, differs):
        """The smallest prefix length k (script lines) for which differs(k) holds, assuming
        the full script differs and the empty one does not."""
        lo, hi = 1, len(self.scenario.lines)
        while lo < hi:
            mid = (lo + hi) // 2
            if differs(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def prefix_files(self, k, c_mode):
        """Runs the first k script lines with OCaml and with the C driver on fresh files."""
        script = self.write_script("prefix.txt", self.scenario.lines[:k])
        a, c = self.path("prefix-ocaml.tbl"), self.path("prefix-c.tbl")
        for p in (a, c):
            if os.path.exists(p):
                os.unlink(p)
        _, err_a = self.run("ocaml", a, script)
        _, err_c = self.run("c", c, script, mimic=(c_mode == "mimic"))
        return a, c, err_a or err_c

    def diverging_line(self, differs_files, c_mode):
        def differs(k):
            a, c, err = self.prefix_files(k, c_mode)
            return err is not None or differs_files(a, c) is not None
        k = self.bisect(differs)
        a, c, err = self.prefix_files(k, c_mode)
        if k > 1:
            where = "first diverging operation: script line %d `%s`" % (
                k, short(self.scenario.lines[k - 1], 120))
        else:
            where = "the files differ right after netshm_manage, before any operation"
        return "%s\n      there: %s" % (where, err or differs_files(a, c))

    def table(self, path):
        """The parsed table file (cached while its bytes are unchanged: a file written
        through a mapping can keep its size and modification time)."""
        with open(path, "rb") as f:
            stamp = (path, hashlib.sha1(f.read()).digest())
        if stamp not in self.tables:
            self.tables[stamp] = format1.Table(path, self.scenario.pagesize)
        return self.tables[stamp]

    def canonical_difference(self, path_a, path_c):
        try:
            ta = self.table(path_a)
        except format1.FormatError as e:
            return "OCaml file unparsable: %s" % e
        try:
            tc = self.table(path_c)
        except format1.FormatError as e:
            return "C file unparsable: %s" % e
        return format1.first_canonical_difference(format1.canonical(ta), format1.canonical(tc))

    def check_sound(self, who, path, zero_tail=True):
        try:
            problems = format1.check(self.table(path), zero_tail)
        except format1.FormatError as e:
            problems = [str(e)]
        if problems:
            self.fail("sound", "%s file: %s" % (who, "; ".join(problems[:5])))
        self.c_check(who, path, zero_tail)

    def c_check(self, who, path, zero_tail):
        """netshm_check on a finished file finds no problem (but nonzero bytes after the
        table's pages when zero_tail is false), and netshm_stat's statistics are format1's."""
        cmd = [self.driver, "--check", path, str(self.scenario.pagesize)]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            self.fail("c-check", "%s file: netshm_check did not finish within 300 s" % who)
            return
        if r.returncode != 0:
            self.fail("c-check", "%s file: exit status %d: %s" % (who, r.returncode, short(r.stdout + r.stderr)))
            return
        lines = r.stdout.splitlines()
        problems = [line for line in lines if line.startswith("problem ")]
        kept = [p for p in problems if zero_tail or p.split(" ", 3)[1] != PROBLEM_TAIL]
        if kept:
            self.fail("c-check", "%s file: netshm_check found %d problems: %s" % (
                who, len(kept), "; ".join(short(p, 200) for p in kept[:5])))
            return
        if problems:
            return   # only stale bytes after the table: netshm_stat refuses the table, as it should
        stats = next((line.split()[1:] for line in lines if line.startswith("stats ")), [])
        got = dict(item.split("=", 1) for item in stats if "=" in item)
        try:
            expected = format1.stats(self.table(path))
        except format1.FormatError as e:
            self.fail("c-check", "%s file: netshm_check finds it sound, format1 cannot parse it: %s" % (who, e))
            return
        differ = ["%s %s where format1 counts %s" % (name, got.get(name), value)
                  for name, value in expected.items() if got.get(name) != str(value)]
        if differ:
            self.fail("c-check", "%s file: netshm_stat: %s" % (who, "; ".join(differ)))

    def read_back(self, check, program, table, who):
        """Runs the verification script on a finished table; it must print the predicted
        transcript and leave the file unchanged."""
        if self.verify is None:
            self.verify = script_gen.verification(self.scenario.model, self.scenario.keys, self.rng)
        lines, expected = self.verify
        script = self.write_script("verify.txt", lines)
        before = open(table, "rb").read()
        # the C driver detects the page size itself half of the time, and reads through a
        # read-only descriptor half of the time
        pagesize = 0 if program == "c" and self.rng.random() < 0.5 else None
        readonly = program == "c" and self.rng.random() < 0.5
        got, err = self.run(program, table, script, pagesize=pagesize, init="none", readonly=readonly)
        if readonly:
            who += " (read-only)"
        self.compare_transcript(check, who, got, err, expected, lines)
        if open(table, "rb").read() != before:
            copy = self.path("after-read.tbl")
            with open(copy, "wb") as f:
                f.write(open(table, "rb").read())
            with open(self.path("before-read.tbl"), "wb") as f:
                f.write(before)
            self.fail(check, "%s: reading changed the file: %s" % (
                who, format1.first_difference(self.path("before-read.tbl"), copy, self.scenario.pagesize)))

    def alternate(self, ocaml_file):
        """Chunks of the script run alternately by OCaml and the C driver on one file, the C
        driver in default mode or (half of the seeds) in mimic mode: then the file must be
        byte-identical to the one OCaml wrote alone."""
        sc = self.scenario
        table = self.path("alternate.tbl")
        mimic = self.rng.random() < 0.5
        points = sc.splits[1:-1]
        cuts = sorted(self.rng.sample(points, min(len(points), self.rng.randrange(2, 6))))
        bounds = [1] + cuts + [len(sc.lines)]
        first = program = self.rng.choice(["ocaml", "c"])
        transcript = []
        for i in range(len(bounds) - 1):
            a, b = bounds[i], bounds[i + 1]
            script = self.write_script("chunk.txt", sc.lines[a:b])
            pagesize = 0 if program == "c" and i > 0 and self.rng.random() < 0.5 else None
            got, err = self.run(program, table, script, pagesize=pagesize, mimic=mimic and program == "c",
                                init=None if i == 0 else "none", first_line=a + 1)
            transcript += got
            if err:
                self.fail("alternate", "%s chunk of lines %d-%d: %s" % (program, a + 1, b, err))
                return
            program = "c" if program == "ocaml" else "ocaml"
        who = "chunks cut at lines %s, run alternately by OCaml and C %s starting with %s" % (
            [c + 1 for c in cuts], "mimic" if mimic else "default", first)
        if not self.compare_transcript("alternate", who, transcript, None, sc.expected, sc.lines):
            return
        if mimic and ocaml_file:
            diff = format1.first_difference(ocaml_file, table, sc.pagesize)
            if diff:
                self.fail("alternate", "%s: the file differs from OCaml's own: %s" % (who, diff))
        elif not mimic:
            self.check_sound("alternately written", table)

    def reinit(self, source):
        """This library re-initialises a table OCaml has filled and runs a new script on it,
        then OCaml continues that script: the table must behave as a new one (OCamlnet's own
        re-initialisation leaves stale pages and phantom keys, so only this library
        re-initialises here), and the object must not shrink."""
        table = self.path("reinit.tbl")
        shutil.copyfile(source, table)
        size = os.path.getsize(table)
        init = self.rng.choice([0, 1, 10, 100, 1000])
        second = script_gen.generate(self.seed + 1000000007, 400, pagesize=self.scenario.pagesize, init=init)
        cut = self.rng.choice(second.splits[1:-1] or [len(second.lines) - 3])
        got, err = self.run("c", table, self.write_script("reinit-c.txt", second.lines[:cut]), init=str(init))
        who = "C re-initialising the OCaml file with init %d (lines 1-%d), then OCaml" % (init, cut)
        if err is None:
            self.check_sound("re-initialised (after the C part)", table)
            more, err = self.run("ocaml", table, self.write_script("reinit-ocaml.txt", second.lines[cut:]),
                                 init="none", first_line=cut + 1)
            got += more
        if self.compare_transcript("reinit", who, got, err, second.expected, second.lines):
            self.check_sound("re-initialised (after the OCaml part)", table)
        if os.path.getsize(table) < size:
            self.fail("reinit", "%s: the object shrank from %d to %d bytes" % (
                who, size, os.path.getsize(table)))

    def stale(self, source):
        """OCamlnet re-initialises the OCaml file, leaving its old pages past the new table
        (and a stale last cell in each new hash page, cleared here); the C driver (default
        or mimic mode) then runs a new script growing into them: it must overwrite what it
        reuses (a stale word in a new hash page would be a phantom key), so that its own
        transcript and OCaml's reading afterwards are as predicted."""
        table = self.path("stale.tbl")
        shutil.copyfile(source, table)
        _, err = self.run("ocaml", table, self.write_script("reinit.txt", ["# re-initialise"]), init="1")
        if err:
            self.fail("stale", "OCaml re-initialising: %s" % err)
            return
        # the new table's own hash pages keep a stale last cell (OCamlnet's defect): clear
        # them, leaving only the old pages past the new table
        format1.clear_last_cells(table, self.scenario.pagesize)
        mimic = self.rng.random() < 0.5
        second = script_gen.generate(self.seed + 3000000019, 400, pagesize=self.scenario.pagesize, init=1)
        who = "C %s on a table OCaml re-initialised over old pages" % ("mimic" if mimic else "default")
        got, err = self.run("c", table, self.write_script("stale.txt", second.lines), init="none", mimic=mimic)
        if not self.compare_transcript("stale", who, got, err, second.expected, second.lines):
            return
        lines, expected = script_gen.verification(second.model, second.keys, self.rng)
        got, err = self.run("ocaml", table, self.write_script("stale-verify.txt", lines), init="none")
        self.compare_transcript("stale", "OCaml reading after the " + who, got, err, expected, lines)
        self.check_sound("re-initialised by OCaml then grown by C", table, zero_tail=False)

    def wrong_pagesize(self, table):
        """Managing a table with another page size than its own is refused, naming the real
        one, and changes nothing."""
        real = self.scenario.pagesize
        wrong = self.rng.choice([p for p in (160, 256, 512, 1024) if p != real])
        before = open(table, "rb").read()
        got, err = self.run("c", table, self.write_script("length.txt", ["length"]), pagesize=wrong,
                            init="none")
        text = got[-1] if got else ""
        if err is None or "manage" not in text or str(real) not in text:
            self.fail("pagesize", "managing a table of page size %d with page size %d: %s" % (
                real, wrong, "accepted" if err is None else "refused without naming %d: %s" % (real, text)))
        if open(table, "rb").read() != before:
            self.fail("pagesize", "managing with the wrong page size %d changed the file" % wrong)

    def concurrent(self):
        """OCaml and the C driver (default mode) run two scripts at the same time on one table
        under record locking, on keys of different parity: each must print exactly its own
        script's predicted transcript, and the table must end holding the bindings of both,
        and a counter key both increment with group { find; replace } must hold the sum."""
        # half of the time on a POSIX object locked through a lock file, as OCamlnet 4.1.9
        # names them: `POSIX (lock file, "/name") / netshm_open_posix_lockfile
        if self.rng.random() < 0.5 and os.path.isdir("/dev/shm"):
            name = "/netshm-interop-%d-%d" % (os.getpid(), self.seed)
            lock_file, posix = self.path("concurrent.lock"), ["--posix", self.path("concurrent.lock")]
            try:
                self.concurrent_on(name, "/dev/shm" + name, lock_file, posix)
            finally:
                if os.path.exists("/dev/shm" + name):
                    os.unlink("/dev/shm" + name)
        else:
            table = self.path("concurrent.tbl")
            self.concurrent_on(table, table, None, [])

    def concurrent_on(self, table, path, lock_file, posix):
        sc = self.scenario
        _, err = self.run("ocaml", table, self.write_script("create.txt", ["# create"]), lock_file=lock_file)
        if err:
            self.fail("concurrent", "creating the table: %s" % err)
            return
        init = 1000 if sc.init is None else sc.init
        counter = self.rng.choice([INT32_MAX - 1, 123456789, -987654322, 0])
        parts = [script_gen.generate(self.seed * 2 + k + 2000000011, CONCURRENT_OPS, pagesize=sc.pagesize,
                                     init=init, part=k, counter=counter) for k in (0, 1)]
        programs = self.rng.choice([("ocaml", "c"), ("c", "ocaml")])
        procs = []
        for k, program in enumerate(programs):
            cmd = [self.ocaml if program == "ocaml" else self.driver] + posix + [
                table, str(sc.pagesize), "none", self.write_script("part%d.txt" % k, parts[k].lines)]
            with open(self.path("part%d.out" % k), "w") as out:
                procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT))
        deadline = time.time() + 300
        for p in procs:
            try:
                p.wait(timeout=max(1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
        if any(p.poll() is None for p in procs):
            for p in procs:
                p.kill()
                p.wait()
            self.fail("concurrent", "the two processes did not finish within 300 s "
                      "(a lock never released?)")
            return
        for k, p in enumerate(procs):
            with open(self.path("part%d.out" % k)) as f:
                got, _ = normalize(f.read().splitlines())
            who = "%s running part %d while %s runs part %d%s" % (
                programs[k], k, programs[1 - k], 1 - k, " (POSIX object)" if posix else "")
            error = None if p.returncode == 0 else "exit status %d" % p.returncode
            self.compare_transcript("concurrent", who, got, error, parts[k].expected, parts[k].lines)
        if self.failures and self.failures[-1][0] == "concurrent":
            return
        both = script_gen.merged(parts[0].model, parts[1].model, counter)
        lines, expected = script_gen.verification(both, parts[0].keys + parts[1].keys, self.rng)
        reader = self.rng.choice(["ocaml", "c"])
        got, err = self.run(reader, table, self.write_script("verify-both.txt", lines), init="none",
                            lock_file=lock_file)
        self.compare_transcript("concurrent", "%s reading the table both wrote" % reader, got, err,
                                expected, lines)
        self.check_sound("concurrently written", path)

    def run_all(self):
        sc = self.scenario
        script = self.write_script("script.txt", sc.lines)
        a, b, c = self.path("ocaml.tbl"), self.path("mimic.tbl"), self.path("default.tbl")
        ok = {}
        netdumps = {}
        for who, program, path, mimic in (("OCaml", "ocaml", a, False), ("C mimic", "c", b, True),
                                          ("C default", "c", c, False)):
            got, err = self.run(program, path, script, mimic=mimic)
            netdumps[who] = self.last_netdumps
            ok[who] = self.compare_transcript("run", who, got, err, sc.expected, sc.lines)
        for who in ("C mimic", "C default"):
            if ok["OCaml"] and ok[who] and netdumps[who] != netdumps["OCaml"]:
                n, (x, y) = next((n, xy) for n, xy in enumerate(zip(netdumps["OCaml"], netdumps[who]))
                                 if xy[0] != xy[1])
                i = next((i for i, (u, v) in enumerate(zip(x, y)) if u != v), min(len(x), len(y)))
                self.fail("shape", "netdump %d: %s prints the bindings in another order than OCaml; "
                          "line %d: OCaml `%s`, %s `%s`" % (n, who, i, short(x[i] if i < len(x) else "(end)"),
                                                          who, short(y[i] if i < len(y) else "(end)")))
        if ok["OCaml"] and ok["C mimic"]:
            diff = format1.first_difference(a, b, sc.pagesize)
            if diff:
                self.fail("bytes", "OCaml vs C mimic files differ: %s\n      %s" % (
                    diff, self.diverging_line(
                        lambda x, y: format1.first_difference(x, y, sc.pagesize), "mimic")))
        if ok["OCaml"] and ok["C default"]:
            diff = self.canonical_difference(a, c)
            if diff:
                self.fail("shape", "OCaml vs C default structures differ: %s\n      %s" % (
                    diff, self.diverging_line(self.canonical_difference, "default")))
        for who, path in (("OCaml", a), ("C mimic", b), ("C default", c)):
            if ok[who] and not (who == "C mimic" and open(a, "rb").read() == open(b, "rb").read()):
                self.check_sound(who, path)
        if ok["OCaml"]:
            self.read_back("c-reads", "c", a, "C reading the OCaml file")
        if ok["C default"]:
            self.read_back("ocaml-reads", "ocaml", c, "OCaml reading the C default file")
        if ok["C mimic"] and not (ok["OCaml"] and open(a, "rb").read() == open(b, "rb").read()):
            # (a file byte-identical to OCaml's own needs no reading by OCaml)
            self.read_back("ocaml-reads", "ocaml", b, "OCaml reading the C mimic file")
        self.alternate(a if ok["OCaml"] else None)
        if ok["OCaml"]:
            self.wrong_pagesize(a)
            # re-initialisation by either side: every other seed each, to save time
            if self.seed % 2 == 0:
                self.reinit(a)
            else:
                self.stale(a)
        self.concurrent()
        return self.failures


def run_seed(seed, ops, ocaml, driver, keep):
    """Runs one seed; returns (seed, description, failures, operations)."""
    # tmpfs when there is one: OCamlnet msyncs the whole mapping at every growth
    tmp = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="netshm-interop-%d-" % seed, dir=tmp) as d:
        s = Seed(seed, ops, ocaml, driver, d)
        try:
            failures = s.run_all()
        except Exception as e:   # a harness error is a failure of this seed, not of the run
            failures = [("harness", "%s: %s" % (type(e).__name__, e))]
        if failures and keep:
            dest = os.path.join(keep, "seed-%d" % seed)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(d, dest)
        sc = s.scenario
        desc = "%s pagesize=%d init=%s keys=%d" % (sc.style, sc.pagesize, s.init_arg, len(sc.keys))
        return seed, desc, failures, len(sc.lines)


def parse_seeds(text):
    first, end = text.split(":")
    return range(int(first), int(end))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ocaml", required=True, help="the OCaml helper (netshm_ocaml_helper)")
    ap.add_argument("--driver", required=True, help="the C driver (netshm_interop_driver)")
    ap.add_argument("--seeds", default="0:20", help="FIRST:END (default 0:20)")
    ap.add_argument("--shard", default="0/1",
                    help="I/N: run only the seeds equal to I modulo N (default 0/1: all)")
    ap.add_argument("--ops", type=int, default=2000, help="operations per script (default 2000)")
    ap.add_argument("--jobs", type=int, default=1, help="seeds run in parallel (default 1)")
    ap.add_argument("--keep", help="copy the files of failing seeds into this directory")
    args = ap.parse_args()
    shard, shards = (int(x) for x in args.shard.split("/"))
    seeds = [s for s in parse_seeds(os.environ.get("NETSHM_INTEROP_SEEDS") or args.seeds)
             if s % shards == shard]
    ops = int(os.environ.get("NETSHM_INTEROP_OPS") or args.ops)
    keep = args.keep or os.environ.get("NETSHM_INTEROP_KEEP")
    ocaml, driver = os.path.abspath(args.ocaml), os.path.abspath(args.driver)

    start = time.time()
    failed = 0
    total_lines = 0
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_seed, seed, ops, ocaml, driver, keep) for seed in seeds]
        for f in futures:
            seed, desc, failures, lines = f.result()
            total_lines += lines
            if failures:
                failed += 1
                for check, text in failures:
                    print("FAIL seed %d (%s) [%s] %s" % (seed, desc, check, text))
            else:
                print("ok   seed %d (%s)" % (seed, desc))
            sys.stdout.flush()
    print("%d seeds of %d operations (%d script lines in all), %d failed, checks %s, %.1f s"
          % (len(seeds), ops, total_lines, failed, ", ".join(CHECKS), time.time() - start))
    if failed:
        print("reproduce one seed: %s --ocaml %s --driver %s --seeds S:S+1 --ops %d --keep DIR"
              % (sys.argv[0], args.ocaml, args.driver, ops))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
