"""Runs one file of the python suite under pytest, in the interpreter the package is
installed for; exit 77 (skipped) with the reason when that interpreter has no pytest.

Usage: run_pytest.py TEST_FILE [PYTEST ARGUMENTS...]
"""

import importlib.util
import sys


class SkippedWhenNothingRan:
    """A file whose every test skipped exits 77, so that meson counts it as skipped."""

    def __init__(self):
        self.passed = self.skipped = 0

    def pytest_runtest_logreport(self, report):
        if report.passed and report.when == "call":
            self.passed += 1
        elif report.skipped:
            self.skipped += 1

    def pytest_sessionfinish(self, session, exitstatus):
        if exitstatus == 0 and self.skipped and not self.passed:
            session.exitstatus = 77


def main():
    if importlib.util.find_spec("pytest") is None:
        print("skipped: %s has no pytest (Debian: apt-get install python3-pytest)" % sys.executable)
        return 77
    import pytest
    return pytest.main(["-q", "-rs", "-p", "no:cacheprovider"] + sys.argv[1:],
                       plugins=[SkippedWhenNothingRan()])


# multiprocessing's spawn workers import this file again, as __mp_main__: not a new run.
if __name__ == "__main__":
    sys.exit(main())
