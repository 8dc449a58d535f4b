"""netshm list and netshm bench: objects found in /dev/shm and in a folder, a
short bench run, and a bench stopped by a signal leaving nothing behind."""

import json
import os
import re
import signal
import subprocess
import threading
import time

import tool_harness
from tool_harness import ToolTestCase, main, remove_if_present, write_word

MASTER_MAGIC = [0xDE871209, 0xDE881209, 0xDE871309, 0xDE87120A]


def listed(stdout):
    """{name: [bytes, pagesize, bindings, note...]} from list's output."""
    rows = {}
    for line in stdout.splitlines()[1:]:
        fields = line.split()
        rows[fields[0]] = fields[1:]
    return rows


class ListTest(ToolTestCase):
    def test_dev_shm(self):
        name = self.posix_object()
        self.tool("create", name, "--pagesize", "512")
        for key in range(3):
            self.tool("add", name, key, key)
        plain = self.posix_object()
        with open("/dev/shm" + plain, "wb") as f:
            f.write(os.urandom(4096))
        rows = listed(self.tool("list").stdout)
        self.assertEqual(rows[name], [str(os.stat("/dev/shm" + name).st_size), "512", "3"])
        self.assertNotIn(plain, rows)
        self.assertEqual(listed(self.tool("list", "/dev/shm/").stdout)[name], rows[name])

    def test_a_folder(self):
        table = self.file_object("table")
        self.tool("create", table, "--pagesize", "160")
        self.tool("add", table, "1")
        # The master page's magic numbers and nothing else: listed, with why it cannot be opened.
        magic_only = self.file_object("magic-only")
        with open(magic_only, "wb"):
            pass
        for i, word in enumerate(MASTER_MAGIC):
            write_word(magic_only, i, word - 2**32 if word >= 2**31 else word)
        self.write_file("text", "not a table\n" * 10)
        self.write_file("short", "ab")
        os.symlink(table, self.file_object("link"))
        os.mkdir(self.file_object("folder"))
        out = self.tool("list", self.folder).stdout
        rows = listed(out)
        self.assertEqual(sorted(rows), [magic_only, table])
        self.assertEqual(rows[table][1:], ["160", "1"])
        self.assertEqual(rows[magic_only][:3], ["16", "-", "-"])
        self.assertIn("too small", out)

    def test_a_table_truncated_while_listed(self):
        """Another program truncating a table while list reads it (SIGBUS for a
        process touching the lost pages) is a note on that table, not a crash."""
        table = self.file_object("table")
        self.tool("create", table, "--pagesize", "256")
        for key in range(40):
            self.tool("add", table, key, key, key)
        with open(table, "rb") as f:
            image = f.read()
        stop = threading.Event()

        def truncate_and_restore():
            fd = os.open(table, os.O_RDWR)
            try:
                while not stop.is_set():
                    os.ftruncate(fd, 16)
                    os.pwrite(fd, image, 0)
            finally:
                os.close(fd)

        toggler = threading.Thread(target=truncate_and_restore)
        toggler.start()
        self.addCleanup(toggler.join)
        self.addCleanup(stop.set)
        # Before list ran in a child process, about half of these runs died of SIGBUS.
        deadline = time.monotonic() + 3
        notes = set()
        while time.monotonic() < deadline:
            out = self.tool("list", self.folder).stdout
            row = listed(out).get(table)
            if row and row[1] == "-":
                notes.add(out.splitlines()[1].split("  ")[-1].strip())
        stop.set()
        toggler.join()
        self.assertEqual(listed(self.tool("list", self.folder).stdout)[table], [str(len(image)), "256", "40"])
        # Caught between truncation and restoring: the library's error about the
        # image it saw, or the child's death (AddressSanitizer catches SIGBUS in
        # a sanitized build and exits with status 1 instead).
        for note in notes:
            self.assertRegex(note, rf"^({re.escape(table)}: .+|could not be read: the process reading it (was killed by "
                                   r"SIGBUS|exited with status 1) \(the object may have been truncated meanwhile\))$")

    def test_missing_folder_exits_2(self):
        self.assertIn("No such file", self.tool("list", self.file_object("missing"), status=2).stderr)


def bench_objects_of(stdout):
    """The objects a bench run names in its first lines."""
    return re.findall(r"/netshm-bench-[0-9A-Z]{8}", "\n".join(stdout.splitlines()[:3]))


class BenchTest(ToolTestCase):
    def assert_phases(self, out, columns):
        """Every phase's row, with `columns` pairs of seconds and ops/s."""
        rates = r" +\d+\.\d+ +\d+" * columns
        for phase in ["load (add)", "find", "find_many (64)", "replace", "iterate (bindings)", "remove"]:
            self.assertRegex(out, rf"\n{re.escape(phase)} +1 +2000{rates}\n")
        if columns:
            self.assertIn("bindings           2000\n", out)
            self.assertIn("page size          256 bytes\n", out)

    def test_record_and_mutex_side_by_side_by_default(self):
        out = self.tool("bench", "--keys", "2000", "--ops", "2000").stdout
        self.assert_phases(out, 2)
        self.assertRegex(out, r"\n +record locking +mutex locking\nphase +processes +ops +seconds +ops/s +seconds"
                              r" +ops/s\n")
        for processes in [1, 2, 4]:
            self.assertRegex(out, rf"\nmixed 90/10 +{processes} +{processes * 2000}( +\d+\.\d+ +\d+){{2}}\n")
        self.assertIn("group_write { find; replace }", out)
        self.assertRegex(out, r"replaces counted: \d+ \(record locking\), \d+ \(mutex locking\)\.\n")
        self.assertTrue(max(map(len, out.splitlines())) <= 80, out)
        names = bench_objects_of(out)
        self.assertEqual(len(set(names)), 2, out)
        for name in names:
            self.assertFalse(os.path.exists("/dev/shm" + name))

    def test_one_locking_mode(self):
        for locking in ["record", "mutex"]:
            with self.subTest(locking=locking):
                out = self.tool("bench", "--keys", "2000", "--ops", "2000", "--locking", locking).stdout
                self.assertRegex(out, rf"^netshm bench: /netshm-bench-[0-9A-Z]{{8}}, page size 256, 2000 keys, "
                                      rf"values of 4 words, {locking} locking\n")
                self.assert_phases(out, 1)
                for processes in [1, 2, 4]:
                    self.assertRegex(out, rf"\nmixed 90/10 +{processes} +{processes * 2000} +\d+\.\d+ +\d+\n")
                self.assertFalse(os.path.exists("/dev/shm" + bench_objects_of(out)[0]))

    def test_no_locking_runs_no_mixed_phase(self):
        out = self.tool("bench", "--keys", "2000", "--locking", "none").stdout
        self.assert_phases(out, 1)
        self.assertNotRegex(out, r"\nmixed 90/10 +\d")
        self.assertIn("mixed 90/10: not run, no locking keeps processes apart.\n", out)
        self.assertIn("--locking 'auto' is not one of record, mutex, none",
                      self.tool("bench", "--locking", "auto", status=2).stderr)

    def test_json(self):
        result = json.loads(self.tool("bench", "--keys", "500", "--ops", "300", "--processes", "3,1",
                                      "--pagesize", "1024", "--json", "--locking", "mutex").stdout)
        self.assertEqual([(p["phase"], p["processes"]) for p in result["phases"]][-2:],
                         [("mixed 90/10", 3), ("mixed 90/10", 1)])
        self.assertEqual(result["phases"][-2]["ops"], 900)
        self.assertEqual((result["keys"], result["pagesize"], result["stat"]["bindings"], result["locking"]),
                         (500, 1024, 500, "mutex"))
        self.assertFalse(os.path.exists("/dev/shm" + result["object"]))

    def test_json_of_both_modes(self):
        result = json.loads(self.tool("bench", "--keys", "300", "--ops", "100", "--processes", "1",
                                      "--json").stdout)
        self.assertEqual([run["locking"] for run in result["runs"]], ["record", "mutex"])
        for run in result["runs"]:
            self.assertEqual((run["keys"], run["stat"]["bindings"], len(run["phases"])), (300, 300, 7))

    def processes_with_argument(self, argument):
        pids = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if argument.encode() in f.read().split(b"\0"):
                        pids.append(int(entry))
            except (OSError, ValueError):
                pass
        return pids

    def test_a_signal_removes_the_object_and_stops_the_processes(self):
        for sig in [signal.SIGTERM, signal.SIGINT]:
            with self.subTest(signal=sig.name):
                ops = str(900000000 + os.getpid() * 10 + sig)  # marks this run's processes
                bench = subprocess.Popen([tool_harness.TOOL, "bench", "--keys", "300", "--ops", ops,
                                          "--processes", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.addCleanup(bench.kill)
                deadline = time.monotonic() + 60
                # The mixed phase has begun when the bench and its two processes run.
                while len(self.processes_with_argument(ops)) < 3 and bench.poll() is None:
                    self.assertLess(time.monotonic(), deadline, "the mixed phase did not begin")
                    time.sleep(0.05)
                links = [os.readlink(f"/proc/{bench.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{bench.pid}/fd")]
                objects = sorted({link for link in links if link.startswith("/dev/shm/netshm-bench-")})
                self.assertEqual(len(objects), 1, links)
                for path in objects:
                    self.addCleanup(remove_if_present, path)
                bench.send_signal(sig)
                bench.wait(timeout=60)
                self.assertEqual(bench.returncode, -sig)
                self.assertFalse(os.path.exists(objects[0]))
                while self.processes_with_argument(ops):
                    self.assertLess(time.monotonic(), deadline, "the bench's processes outlived it")
                    time.sleep(0.05)


if __name__ == "__main__":
    main()
