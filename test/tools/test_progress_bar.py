"""The progress bar as a person sees it: `netshm load` run in a tmux pane of
20 and of 200 columns, the pane read every few milliseconds while it runs.

The bar must show on one line that fits the pane (it never wraps), be redrawn
in place (never two bar lines, nothing scrolled into the history), and be
gone when the command ends; --quiet must keep it away.

Skipped (exit 77) when tmux is not installed.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import unittest

import tool_harness
from tool_harness import ToolTestCase

# With --batch 1, one write group per binding: about 1.5 s here, three times
# the half second after which the bar shows. A machine that loads them in less
# than a second gets four times as many.
BINDINGS = 600_000
MORE_BINDINGS = 4 * BINDINGS
ROWS = 8
BAR = re.compile(r"\[[#.]+\]\s+\d+%")


class ProgressBarTest(ToolTestCase):

    def setUp(self):
        super().setUp()
        self.socket = f"netshm-progress-{os.getpid()}"
        self.addCleanup(subprocess.run, ["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                        check=False)

    def bindings_file(self, bindings):
        path = os.path.join(self.folder, f"bindings-{bindings}.txt")
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(f"{key} {key}\n" for key in range(bindings))
        return path

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True,
                              text=True, check=True, timeout=30).stdout

    def watch_load(self, columns, *options, bindings=BINDINGS):
        """Runs a load in a pane `columns` wide; returns every distinct screen
        seen while it ran, the pane's whole text (history included) at the end
        and the seconds it took."""
        table = self.posix_object()
        command = shlex.join([tool_harness.TOOL, "load", table, self.bindings_file(bindings), "--batch", "1",
                              *options])
        self.tmux("new-session", "-d", "-x", str(columns), "-y", str(ROWS), "-s", "load",
                  f"{command}; echo load-status-$?; sleep 60")
        screens = []
        start = time.monotonic()
        deadline = start + 120
        while time.monotonic() < deadline:
            screen = self.tmux("capture-pane", "-p", "-t", "load")
            if not screens or screens[-1] != screen:
                screens.append(screen)
            if "load-status-" in screen:
                break
            time.sleep(0.02)
        else:
            self.fail(f"the load did not end: {screens[-1:]}")
        self.assertIn("load-status-0", screens[-1], screens[-1])
        seconds = time.monotonic() - start
        history = self.tmux("capture-pane", "-p", "-t", "load", "-S", "-", "-E", "-")
        self.tmux("kill-session", "-t", "load")
        self.tool("unlink", table)
        return screens, history, seconds

    def watch_long_load(self, columns, *options):
        """watch_load of a load that took a second at least."""
        screens, history, seconds = self.watch_load(columns, *options)
        if seconds < 1:
            screens, history, seconds = self.watch_load(columns, *options, bindings=MORE_BINDINGS)
        return screens, history, seconds

    def check_bar(self, columns, label_shown):
        screens, history, seconds = self.watch_long_load(columns)
        with_bar = [s for s in screens if BAR.search(s)]
        self.assertTrue(with_bar, f"no bar was seen in {len(screens)} screens of a load of {seconds:.1f} s")
        for screen in with_bar:
            lines = [line for line in screen.splitlines() if line.strip()]
            self.assertEqual(len(lines), 1, f"the bar is not one line:\n{screen}")
            bar_line = lines[0]
            # The last column stays empty, so the terminal never wraps the line.
            self.assertLessEqual(len(bar_line), columns - 1, bar_line)
            self.assertEqual(bar_line.startswith("loading "), label_shown, bar_line)
        self.assertNotRegex(screens[-1], r"[#%]", "the bar was not erased at the end")
        self.assertEqual([line for line in history.splitlines() if line.strip()], ["load-status-0"],
                         "the bar left lines behind")
        return with_bar

    def test_fits_20_columns(self):
        self.check_bar(20, label_shown=True)

    def test_fits_200_columns_with_counts(self):
        with_bar = self.check_bar(200, label_shown=True)
        self.assertRegex(with_bar[-1], r"\d+/\d+\b", "the counts are missing on a wide terminal")

    def test_quiet_draws_nothing(self):
        screens, _, _ = self.watch_long_load(80, "--quiet")
        self.assertFalse([s for s in screens if BAR.search(s)], "a bar was drawn despite --quiet")


if __name__ == "__main__":
    if shutil.which("tmux") is None:
        print("SKIP: tmux is not installed: the progress bar cannot be watched in a terminal")
        sys.exit(77)
    tool_harness.main()
