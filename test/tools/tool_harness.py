"""What the tests of the netshm tool share: running the tool, unique object
names removed after each test, random tables and their JSON dump, and the
words of a table file.

Each test script is run as `python3 SCRIPT PATH/TO/netshm` (see meson.build).
"""

import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

TOOL = None  # the tool's path, set by main()

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1


def random_table(seed, keys=150):
    """{key: [newest value, ..., oldest value]}: several bindings per key, empty
    values, negative numbers, extremes, and values spanning several pages."""
    rng = random.Random(seed)
    table = {}
    while len(table) < keys:
        key = rng.choice([rng.randint(INT32_MIN, INT32_MAX), rng.randint(-50, 50), INT32_MIN, INT32_MAX])
        values = []
        for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
            length = rng.choice([0, 1, 2, 4, 9, 40, rng.randint(100, 700)])
            values.append([rng.choice([rng.randint(INT32_MIN, INT32_MAX), rng.randint(-3, 3), INT32_MIN,
                                       INT32_MAX]) for _ in range(length)])
        table[key] = values
    return table


def dump_json(table, pagesize):
    """The text `netshm dump --json` prints for a table."""
    bindings = sum(len(values) for values in table.values())
    lines = ['{"key":%d,"values":[%s]}' % (key, ",".join("[" + ",".join(map(str, v)) + "]" for v in values))
             for key, values in sorted(table.items())]
    return '{"pagesize":%d,"bindings":%d,"keys":[\n%s\n]}\n' % (pagesize, bindings, ",\n".join(lines))


def remove_if_present(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class ToolTestCase(unittest.TestCase):
    """A test case with helpers to run the tool and make objects to run it on."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="netshm-tool-test-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.names = 0

    def tool(self, *args, status=0, stdin=None, cwd=None):
        """Runs the tool, requires the exit status, returns the completed process."""
        result = subprocess.run([TOOL, *map(str, args)], input=stdin, capture_output=True, text=True,
                                timeout=120, check=False, cwd=cwd)
        self.assertEqual(result.returncode, status,
                         f"netshm {' '.join(map(str, args))}\nstdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def posix_object(self):
        """A unique POSIX object name, "/name"; the object is removed after the test."""
        self.names += 1
        name = f"/netshm-tool-test-{os.getpid()}-{self._testMethodName}-{self.names}"
        self.addCleanup(remove_if_present, "/dev/shm" + name)
        return name

    def file_object(self, basename="table"):
        """A path in the test's own folder."""
        return os.path.join(self.folder, basename)

    def write_file(self, basename, text):
        path = self.file_object(basename)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path


def read_words(path):
    """The native-endian int32 words of a file."""
    with open(path, "rb") as f:
        data = f.read()
    return list(struct.unpack(f"={len(data) // 4}i", data[:len(data) // 4 * 4]))


def write_word(path, index, value):
    """Overwrites word `index` of a file with the int32 `value`."""
    with open(path, "r+b") as f:
        f.seek(4 * index)
        f.write(struct.pack("=i", value))


def main():
    global TOOL
    if len(sys.argv) < 2:
        sys.exit(f"usage: {sys.argv[0]} PATH/TO/netshm [unittest arguments]")
    TOOL = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
