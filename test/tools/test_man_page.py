"""The man page: netshm.1, generated from the help texts, renders with
`man -l` and documents every subcommand and the global --quiet option.

Usage: test_man_page.py PATH/TO/netshm PATH/TO/netshm.1|none
("none": help2man was not found, and the test says so and is skipped).
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

SKIP = 77
TOOL = MAN_PAGE = None


def subcommands():
    overview = subprocess.run([TOOL, "--help"], capture_output=True, text=True, check=True).stdout
    listing = overview.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^  (\S+)", listing, re.MULTILINE)


class ManPageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        env = dict(os.environ, MANWIDTH="80")
        result = subprocess.run(["man", "-l", MAN_PAGE], capture_output=True, text=True, env=env, check=False,
                                timeout=60)
        cls.stderr = result.stderr
        # man marks bold and underlined text by overstriking ("X\bX", "_\bX").
        cls.page = re.sub(r".\x08", "", result.stdout)
        assert result.returncode == 0, f"man -l failed: {result.stderr}"

    def test_renders_without_warnings(self):
        self.assertEqual(self.stderr, "")
        self.assertRegex(self.page, r"NAME\s+netshm - shared-memory hash tables compatible with OCamlnet Netshm")

    def test_every_subcommand_has_its_section(self):
        names = subcommands()
        self.assertGreater(len(names), 10)
        for name in names:
            self.assertRegex(self.page, rf"(?m)^\s+netshm {re.escape(name)}$", f"no section for {name}")
            self.assertRegex(self.page, rf"Usage:\s+netshm\s+{re.escape(name)}\b", f"no usage line for {name}")

    def test_global_options_and_version(self):
        self.assertIn("--quiet", self.page)
        version = subprocess.run([TOOL, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
        self.assertIn(version, self.page)

    def test_lines_fit_the_width(self):
        self.assertLessEqual(max(len(line) for line in self.page.splitlines()), 80)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    TOOL, MAN_PAGE = sys.argv.pop(1), sys.argv.pop(1)
    if MAN_PAGE == "none":
        print("SKIP: help2man was not found when the build was configured: no man page was built")
        sys.exit(SKIP)
    if shutil.which("man") is None:
        print("SKIP: man is not installed: the page cannot be rendered")
        sys.exit(SKIP)
    unittest.main(verbosity=2)
