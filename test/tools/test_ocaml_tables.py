"""The tool on tables of the real OCamlnet Netshm, and OCamlnet on tables the
tool loaded or repaired: `netshm dump` prints what Netshm.dump prints, `check`
finds them sound, and POSIX tables are shared through OCamlnet 4.1.9's lock
files.

Usage: test_ocaml_tables.py PATH/TO/netshm PATH/TO/netshm_ocaml_helper
(the helper of test/interop, which runs an operation script through Netshm).
"""

import json
import random
import subprocess
import sys

from tool_harness import INT32_MAX, INT32_MIN, ToolTestCase, dump_json, main, random_table, read_words, write_word

HELPER = None  # set below, before main()


def random_script(seed, operations=400):
    """add, replace and remove lines of the interop script grammar, then "netdump"."""
    rng = random.Random(seed)
    lines = []
    for _ in range(operations):
        key = rng.randint(-40, 40)
        words = [rng.randint(INT32_MIN, INT32_MAX) for _ in range(rng.choice([0, 1, 3, 20, 300]))]
        op = rng.choice(["add", "add", "add", "replace", "remove"])
        lines.append(f"remove {key}" if op == "remove" else " ".join(map(str, [op, key, *words])))
    return "\n".join(lines + ["netdump"]) + "\n"


class OcamlTablesTest(ToolTestCase):
    def ocaml(self, name, pagesize, script, lock_file=None):
        """Runs the script through OCamlnet's Netshm; returns what Netshm.dump printed."""
        path = self.write_file(f"script-{self.names}.txt", script)
        args = [HELPER] + (["--posix", lock_file] if lock_file else []) + [name, str(pagesize), "none", path]
        result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        header = f"{script.count(chr(10))} netdump\n"
        self.assertTrue(result.stdout.startswith(header), result.stdout[:200])
        return result.stdout[len(header):]

    def test_tables_written_by_ocaml(self):
        for seed, pagesize in [(1, 256), (2, 160)]:
            with self.subTest(seed=seed, pagesize=pagesize):
                path = self.file_object(f"ocaml-{seed}")
                netshm_dump = self.ocaml(path, pagesize, random_script(seed))
                self.assertEqual(self.tool("dump", path).stdout, netshm_dump)
                self.assertEqual(self.tool("check", path).stdout, "table is sound\n")
                stat = json.loads(self.tool("stat", path, "--json").stdout)
                self.assertEqual(stat["pagesize"], pagesize)
                self.assertEqual(f"<shm length={stat['bindings']}\n", netshm_dump.splitlines(True)[0])

    def test_tables_loaded_by_the_tool(self):
        path = self.file_object("loaded")
        self.tool("load", path, stdin=dump_json(random_table(3, keys=120), 192))
        self.assertEqual(self.ocaml(path, 192, "netdump\n"), self.tool("dump", path).stdout)

    def test_tables_repaired_by_the_tool(self):
        path = self.file_object("repaired")
        self.tool("load", path, stdin=dump_json(random_table(5, keys=120), 256))
        words, w = read_words(path), 256 // 4
        head, count = words[w + 5], words[w + 6]
        self.assertGreaterEqual(count, 2)
        # Two pages taken off the free list, as by a writer killed before it linked them.
        write_word(path, w + 5, words[words[head * w + 1] * w + 1])
        write_word(path, w + 6, count - 2)
        self.tool("check", path, status=1)
        self.assertIn("reclaimed 2 pages", self.tool("repair", path).stdout)
        self.assertEqual(self.ocaml(path, 256, "netdump\n"), self.tool("dump", path).stdout)
        # OCamlnet writes on the repaired table, which stays sound.
        self.assertEqual(self.ocaml(path, 256, random_script(6, operations=200)), self.tool("dump", path).stdout)
        self.assertEqual(self.tool("check", path).stdout, "table is sound\n")

    def test_posix_tables_locked_through_a_lock_file(self):
        name = self.posix_object()
        lock_file = self.file_object("lock")
        netshm_dump = self.ocaml(name, 256, random_script(4, operations=100), lock_file=lock_file)
        self.assertEqual(self.tool("dump", name, "--lock-file", lock_file).stdout, netshm_dump)
        self.tool("add", name, "12345", "6", "--lock-file", lock_file)
        self.assertIn("  12345 => [| 6 |]\n", self.ocaml(name, 256, "netdump\n", lock_file=lock_file))
        self.tool("unlink", name, "--lock-file", lock_file)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} PATH/TO/netshm PATH/TO/netshm_ocaml_helper")
    HELPER = sys.argv.pop(2)
    main()
