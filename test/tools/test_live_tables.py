"""The tool on live tables: a process holds the table open with record or mutex
locking and keeps writing while the tool reads it (--locking auto finds the
mode; explicit choices; a user who may only read); and a dump into a pipe
nobody reads, which must not keep the writer waiting.

Usage: test_live_tables.py PATH/TO/netshm PATH/TO/libnetshm.so.1
"""

import fcntl
import os
import re
import shutil
import subprocess
import sys
import termios
import time
import unittest

import tool_harness
from tool_harness import ToolTestCase

LIBRARY = None  # set by main()
WRITER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "live_writer.py")
DUMP_LINE = re.compile(r"  -?\d+ => \[\| (-?\d+(; -?\d+)*)? \|\]")
READ_ONLY_USER = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


class LiveTableTest(ToolTestCase):
    def make_table(self, keys=2000, basename="table"):
        """A file table readable by everybody, keys 0..keys-1 bound to [k, k+1, k+2]."""
        os.chmod(self.folder, 0o755)
        path = self.file_object(basename)
        text = "".join(f"{k} {k} {k + 1} {k + 2}\n" for k in range(keys))
        self.tool("load", path, "-", stdin=text)
        os.chmod(path, 0o644)
        return path

    def start_writer(self, path, locking, paced=False):
        """A process holding the table open with `locking`, replacing keys as fast as it can
        (paced: with 5 ms pauses)."""
        writer = subprocess.Popen([sys.executable, WRITER, LIBRARY, path, locking] + (["paced"] if paced else []),
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(writer.stdout.close)
        self.addCleanup(writer.wait)
        self.addCleanup(writer.kill)
        self.assertEqual(writer.stdout.readline(), "ready\n")
        return writer

    def counter(self, path, *options):
        """The writer's counter (key -1), as `get` reads it."""
        return int(self.tool("get", path, "-1", *options).stdout)

    def assert_reads_while_writing(self, path, writer, *options, user=()):
        """get, dump, stat, check and list succeed on the live table; the writer goes on."""
        def tool(*args, status=0):
            result = subprocess.run([*user, tool_harness.TOOL, *args, *options], capture_output=True, text=True,
                                    timeout=120, check=False)
            self.assertEqual(result.returncode, status, f"{args}: {result.stderr}")
            return result.stdout

        first = int(tool("get", path, "-1"))
        self.assertEqual(tool("get", path, "1500"), "1500 1501 1502\n")
        self.assertEqual(tool("mem", path, "7"), "yes\n")
        dump = tool("dump", path).splitlines()
        self.assertTrue(dump[0].startswith("<shm length="), dump[0])
        self.assertEqual(dump[-1], ">")
        for line in dump[1:-1]:
            self.assertRegex(line, DUMP_LINE)
        self.assertGreaterEqual(len(dump) - 2, 2001)
        self.assertIn('"key":1999,"values":[[1999,2000,2001]]', tool("dump", "--json", path))
        self.assertRegex(tool("stat", path), r"bindings +2001\n")
        self.assertEqual(tool("check", path), "table is sound\n")
        self.assertRegex(tool("list", self.folder), rf"{re.escape(path)} +\d+ +256 +2001\n")
        self.assertIsNone(writer.poll())
        self.assertGreater(int(tool("get", path, "-1")), first, "the writer made no progress")

    def test_record_mode_table_read_while_written(self):
        path = self.make_table()
        writer = self.start_writer(path, "record")
        self.assert_reads_while_writing(path, writer)
        self.assert_reads_while_writing(path, writer, "--locking", "record")

    def test_mutex_mode_table_read_while_written(self):
        path = self.make_table()
        writer = self.start_writer(path, "mutex")
        self.assert_reads_while_writing(path, writer)
        self.assert_reads_while_writing(path, writer, "--locking", "mutex")
        # Record locking is refused while the table is open in mutex mode.
        result = self.tool("get", path, "1", "--locking", "record", status=2)
        self.assertIn("mutex locking in another process", result.stderr)
        # Writes join the mutex-mode writer too.
        self.tool("add", path, "-2", "5")
        self.assertEqual(self.tool("get", path, "-2").stdout, "5\n")

    def test_explicit_locking_choices(self):
        path = self.make_table(10)
        for locking in ["none", "record", "mutex", "auto"]:
            with self.subTest(locking=locking):
                self.tool("add", path, "100", "1", "--locking", locking)
                self.assertEqual(self.tool("get", path, "100", "--locking", locking).stdout, "1\n")
                self.assertEqual(self.tool("length", path, "--locking", locking).stdout, "11\n")
                self.tool("remove", path, "100", "--locking", locking)
        result = self.tool("get", path, "1", "--locking", "fcntl", status=2)
        self.assertIn("--locking 'fcntl' is not one of auto, record, mutex, none", result.stderr)

    def read_only_user_available(self):
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            self.skipTest("needs root and setpriv to run the tool as user nobody")

    def test_read_only_user_reads_a_live_record_mode_table(self):
        self.read_only_user_available()
        path = self.make_table()
        writer = self.start_writer(path, "record")
        self.assert_reads_while_writing(path, writer, user=READ_ONLY_USER)

    def test_read_only_user_reads_a_live_mutex_mode_table(self):
        self.read_only_user_available()
        path = self.make_table()
        # A read-only user cannot take the writer mutex: stat and check copy the whole
        # object optimistically, which a writer that never pauses keeps disturbing until
        # the lock wait runs out (guide, "Locking"). This writer pauses between rounds.
        writer = self.start_writer(path, "mutex", paced=True)
        self.assert_reads_while_writing(path, writer, user=READ_ONLY_USER)
        self.assert_reads_while_writing(path, writer, "--locking", "mutex", user=READ_ONLY_USER)
        result = subprocess.run([*READ_ONLY_USER, tool_harness.TOOL, "add", path, "-3", "1"], capture_output=True,
                                text=True, timeout=120, check=False)
        self.assertEqual((result.returncode, result.stdout), (2, ""), result.stderr)

    def test_dump_into_a_blocked_pipe_keeps_writers_going(self):
        for locking in ["record", "mutex"]:
            with self.subTest(locking=locking):
                path = self.make_table(20000, locking)
                writer = self.start_writer(path, locking)
                read_end, write_end = os.pipe()
                dump = subprocess.Popen([tool_harness.TOOL, "dump", path], stdout=write_end)
                os.close(write_end)
                self.addCleanup(dump.wait)
                self.addCleanup(dump.kill)
                capacity = fcntl.fcntl(read_end, 1032)  # F_GETPIPE_SZ
                deadline = time.monotonic() + 60
                while self.bytes_in_pipe(read_end) < capacity:
                    self.assertLess(time.monotonic(), deadline, "the dump never filled the pipe")
                    self.assertIsNone(dump.poll(), "the dump ended before filling the pipe")
                    time.sleep(0.02)
                # The dump is blocked on its output: the writer must go on.
                before = self.counter(path)
                time.sleep(0.5)
                after = self.counter(path)
                self.assertIsNone(dump.poll())
                self.assertGreater(after, before + 10, "the writer waited for the blocked dump")
                with os.fdopen(read_end, "r") as output:
                    lines = output.read().splitlines()
                self.assertEqual(dump.wait(timeout=60), 0)
                self.assertIsNone(writer.poll())
                writer.kill()
                self.assertRegex(lines[0], r"^<shm length=\d+$")
                self.assertEqual(lines[-1], ">")
                keys = set()
                for line in lines[1:-1]:
                    self.assertRegex(line, DUMP_LINE)
                    keys.add(int(line.split()[0]))
                self.assertEqual(keys, set(range(-1, 20000)))

    @staticmethod
    def bytes_in_pipe(fd):
        return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)


def main():
    global LIBRARY
    LIBRARY = os.path.abspath(sys.argv.pop(2))
    tool_harness.main()


if __name__ == "__main__":
    main()
