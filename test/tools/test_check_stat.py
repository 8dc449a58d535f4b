"""netshm stat and netshm check: statistics that agree with what was loaded,
problems found in damaged tables, and the exit statuses."""

import json
import os

from tool_harness import ToolTestCase, dump_json, main, random_table, read_words, write_word

CONTENT_MAGIC = 0x12DE9F67


def pages_for_value(length, words_per_page):
    """Pages a value takes (doc/format.md)."""
    return (length + 1) // (words_per_page - 4) + 1


class StatTest(ToolTestCase):
    def test_stat_agrees_with_what_was_loaded(self):
        for seed, pagesize in [(11, 256), (12, 160)]:
            with self.subTest(pagesize=pagesize):
                table = random_table(seed, keys=300)
                name = self.posix_object()
                self.tool("load", name, "--init", "10", stdin=dump_json(table, pagesize))
                s = json.loads(self.tool("stat", name, "--json").stdout)
                values = [v for vs in table.values() for v in vs]
                words = pagesize // 4
                self.assertEqual(s["pagesize"], pagesize)
                self.assertEqual(s["bindings"], len(values))
                self.assertEqual(s["distinct_keys"], len(table))
                self.assertEqual(s["value_bytes"], 4 * sum(map(len, values)))
                self.assertEqual(s["content_pages"], sum(pages_for_value(len(v), words) for v in values))
                self.assertEqual(s["object_bytes"], os.stat("/dev/shm" + name).st_size)
                self.assertLessEqual(s["total_pages"] * pagesize, s["object_bytes"])
                self.assertEqual(2 + s["free_pages"] + s["hash_pages"] + s["content_pages"], s["total_pages"])
                self.assertEqual(s["hash_cells"], s["hash_pages"] * (words // 4 - 1))
                self.assertGreater(s["extents"], 1)  # --init 10: the load grew the hash table
                self.assertLessEqual(s["extents"], 16)
                self.assertTrue(len(table) <= s["claimed_cells"] <= s["hash_cells"])
                self.assertAlmostEqual(s["fill_percent"], 100 * s["claimed_cells"] / s["hash_cells"], places=2)
                self.assertAlmostEqual(s["bytes_per_binding"], s["content_pages"] * pagesize / len(values), places=2)
                self.assertGreaterEqual(s["longest_probe"], 1)
                text = self.tool("stat", name).stdout
                self.assertIn(f"bindings           {len(values)}\n", text)
                self.assertIn(f"page size          {pagesize} bytes\n", text)

    def test_stat_of_an_empty_table(self):
        name = self.posix_object()
        self.tool("create", name)
        s = json.loads(self.tool("stat", name, "--json").stdout)
        self.assertEqual((s["bindings"], s["distinct_keys"], s["value_bytes"], s["bytes_per_binding"]), (0, 0, 0, 0))


class CheckTest(ToolTestCase):
    def test_a_sound_table(self):
        name = self.posix_object()
        self.tool("load", name, stdin=dump_json(random_table(13, keys=200), 256))
        self.assertEqual(self.tool("check", name).stdout, "table is sound\n")

    def first_content_page(self, path, key, pagesize):
        """The first page of key's newest binding, found through the hash cells."""
        words = read_words(path)
        w = pagesize // 4
        descriptor = words[4]
        hash_size = words[descriptor * w + 2]
        for extent in range(16):
            first, count = words[descriptor * w + 8 + 2 * extent: descriptor * w + 10 + 2 * extent]
            for page in range(first, first + count):
                for cell in range(w // 4 - 1):
                    at = page * w + 4 + 4 * cell
                    if words[at] == key and words[at + 1] not in (0, -1):
                        return words[at + 1]
        self.fail(f"key {key} is in none of the {hash_size} cells")

    def test_a_damaged_content_page(self):
        path = self.file_object()
        self.tool("create", path, "--init", "1")
        for key in range(1, 6):
            self.tool("add", path, key, *range(key * 10))
        page = self.first_content_page(path, 3, 256)
        self.assertEqual(read_words(path)[page * 64], CONTENT_MAGIC)
        write_word(path, page * 64, 0x0BADF00D)
        result = self.tool("check", path, status=1)
        lines = result.stdout.splitlines()
        self.assertTrue(any(line.startswith(f"page {page}: ") for line in lines[:-1]), result.stdout)
        self.assertRegex(lines[-1], r"^\d+ problems?$")
        self.assertIn(f"page {page}", self.tool("get", path, "3", status=2).stderr)
        self.tool("dump", path, status=2)
        self.tool("stat", path, status=2)
        self.assertEqual(self.tool("get", path, "4").stdout, " ".join(map(str, range(40))) + "\n")

    def test_a_table_too_damaged_to_open(self):
        path = self.file_object()
        self.tool("create", path)
        write_word(path, 64, 0)  # the descriptor page's magic
        result = self.tool("check", path, status=1)
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 2, result.stdout)
        self.assertTrue(lines[0].startswith(f"object: unreadable: {path}: "), lines[0])
        self.assertEqual(lines[1], "1 problem")
        self.tool("get", path, "1", status=2)
        self.tool("stat", path, status=2)

    def test_check_failures_other_than_damage_exit_2(self):
        path = self.file_object()
        self.tool("check", path, status=2)  # missing
        self.tool("create", path)
        self.assertIn("not 512", self.tool("check", path, "--pagesize", "512", status=2).stderr)


if __name__ == "__main__":
    main()
