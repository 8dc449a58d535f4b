"""netshm --wait: a command that waits longer than --wait for a lock another
process holds gives up with exit status 2 and a message saying so, in record
and mutex locking.  Run as `python3 test_lock_wait.py PATH/TO/netshm
PATH/TO/group_holder`."""

import subprocess
import sys
import time
import unittest

from tool_harness import ToolTestCase, main

HOLDER = None  # group_holder's path, from the command line


class LockWaitTest(ToolTestCase):
    def hold_write_group(self, name, locking):
        """A process holding a write group on `name` until the test ends."""
        holder = subprocess.Popen([HOLDER, name, locking], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)

        def release():
            holder.stdin.close()
            holder.wait(timeout=30)
            holder.stdout.close()
            holder.stderr.close()
        self.addCleanup(release)
        self.assertEqual(holder.stdout.readline(), "held\n", holder.stderr.read() if holder.poll() else "")

    def check_gives_up(self, locking, *options):
        name = self.posix_object()
        self.tool("create", name)
        self.tool("add", name, 5, 1, 2)
        if locking == "mutex":
            # The tool takes a table a mutex-locking process has open only with --locking.
            if "--locking" not in self.tool("get", "--help").stdout:
                self.skipTest("this tool has no --locking option: a table open with mutex locking is EBUSY to it")
        self.hold_write_group(name, locking)
        for command in (["get", name, 5], ["dump", name]):
            start = time.monotonic()
            result = self.tool(*command, "--wait", 1, *options, status=2)
            waited = time.monotonic() - start
            self.assertGreaterEqual(waited, 1.0)
            self.assertLess(waited, 3.0)
            self.assertIn("gave up waiting for a lock", result.stderr)
            self.assertIn("timed out after 1000 ms", result.stderr)
            self.assertIn(name, result.stderr)

    def test_record_locking(self):
        self.check_gives_up("record")

    def test_mutex_locking(self):
        self.check_gives_up("mutex", "--locking", "auto")

    def test_wait_is_checked(self):
        name = self.posix_object()
        self.tool("create", name)
        self.assertIn("--wait", self.tool("length", name, "--wait", "x", status=2).stderr)
        self.assertIn("--wait SECONDS", self.tool("length", "--help").stdout)
        self.tool("length", name, "--wait", 0)


if __name__ == "__main__":
    HOLDER = sys.argv.pop(2) if len(sys.argv) > 2 else sys.exit("usage: test_lock_wait.py NETSHM GROUP_HOLDER")
    main()
