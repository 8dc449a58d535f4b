"""netshm repair: a sound table is left as it is; pages a killed writer took
are reclaimed and a damaged binding dropped, after which `check` passes."""

from tool_harness import ToolTestCase, dump_json, main, random_table, read_words, write_word

CONTENT_MAGIC = 0x12DE9F67
FREE_MAGIC = 0xF3EEF3EE - (1 << 32)
PAGESIZE = 256
W = PAGESIZE // 4
D_FREE_HEAD, D_FREE_COUNT = W + 5, W + 6


class RepairTest(ToolTestCase):
    def table_of_five_keys(self):
        path = self.file_object()
        self.tool("create", path, "--init", "1")
        for key in range(1, 6):
            self.tool("add", path, key, *range(key * 10))
        # A removed value of 200 words leaves its pages on the free list.
        self.tool("add", path, 9, *range(200))
        self.tool("remove", path, 9)
        return path

    def test_a_sound_table_is_left_as_it_is(self):
        name = self.posix_object()
        self.tool("load", name, stdin=dump_json(random_table(21, keys=100), PAGESIZE))
        before = self.tool("dump", name, "--json").stdout
        length = self.tool("length", name).stdout.strip()
        result = self.tool("repair", name)
        self.assertEqual(result.stdout,
                         f"kept {length} bindings, dropped 0 bindings, reclaimed 0 pages\ntable is sound\n")
        self.assertEqual(self.tool("dump", name, "--json").stdout, before)

    def test_pages_a_killed_writer_took_are_reclaimed(self):
        path = self.table_of_five_keys()
        words = read_words(path)
        head, count = words[D_FREE_HEAD], words[D_FREE_COUNT]
        self.assertGreaterEqual(count, 3)
        self.assertEqual(words[head * W], FREE_MAGIC)
        # Three pages taken off the free list, as by a writer killed before it
        # linked its binding.
        taken = [head]
        for _ in range(2):
            taken.append(read_words(path)[taken[-1] * W + 1])
        write_word(path, D_FREE_HEAD, read_words(path)[taken[-1] * W + 1])
        write_word(path, D_FREE_COUNT, count - 3)
        self.assertIn("page lost", self.tool("check", path, status=1).stdout)
        self.tool("stat", path, status=2)

        result = self.tool("repair", path)
        self.assertEqual(result.stdout, "kept 5 bindings, dropped 0 bindings, reclaimed 3 pages\ntable is sound\n")
        self.assertEqual(self.tool("check", path).stdout, "table is sound\n")
        self.tool("stat", path)
        for key in range(1, 6):
            self.assertEqual(self.tool("get", path, key).stdout, " ".join(map(str, range(key * 10))) + "\n")

    def test_a_damaged_binding_is_dropped(self):
        path = self.table_of_five_keys()
        self.tool("add", path, 4, 7, 7)
        words = read_words(path)
        pages = [p for p in range(len(words) // W)
                 if words[p * W] == CONTENT_MAGIC and words[p * W + 1] == 3]
        self.assertEqual(len(pages), 1)
        write_word(path, pages[0] * W + 5, -3)  # a negative value length
        self.tool("check", path, status=1)

        result = self.tool("repair", path)
        self.assertEqual(result.stdout, "kept 5 bindings, dropped 1 binding, reclaimed 1 page\ntable is sound\n")
        self.tool("check", path)
        self.tool("get", path, 3, status=1)
        self.assertEqual(self.tool("get-all", path, 4).stdout, "7 7\n" + " ".join(map(str, range(40))) + "\n")

    def test_a_table_that_cannot_be_repaired(self):
        path = self.file_object()
        self.tool("create", path)
        write_word(path, W, 0)  # the descriptor page's magic
        self.tool("repair", path, status=2)
        self.tool("repair", self.file_object("missing"), status=2)


if __name__ == "__main__":
    main()
