"""netshm create, add, replace, remove, get, get-all, mem, length, dump, unlink,
the help texts, and the exit statuses of their errors."""

import os
import stat

from tool_harness import ToolTestCase, main

SUBCOMMANDS = ["create", "add", "replace", "remove", "get", "get-all", "mem", "length", "dump", "load",
               "stat", "check", "repair", "unlink", "list", "bench"]


class HelpTest(ToolTestCase):
    def test_overview_lists_every_subcommand(self):
        out = self.tool("--help").stdout
        for sub in SUBCOMMANDS:
            self.assertRegex(out, rf"\n  {sub} +\S")

    def test_help_of_every_subcommand(self):
        for sub in SUBCOMMANDS:
            with self.subTest(sub=sub):
                out = self.tool(sub, "--help").stdout
                self.assertTrue(out.startswith(f"Usage: netshm {sub}"), out)
                self.assertIn("Exit status", out)
                self.assertEqual(self.tool(sub, "-h").stdout, out)

    def test_version(self):
        self.assertRegex(self.tool("--version").stdout, r"^netshm \d+\.\d+\.\d+ \(library \d+\.\d+\.\d+\)\n$")

    def test_usage_errors_exit_2(self):
        name = self.posix_object()
        self.tool("create", name)
        for args in [[], ["frobnicate"], ["get", name], ["get-all", name, "1", "2"], ["length"],
                     ["get", name, "1", "--bogus"], ["create", name + "x", "--pagesize"],
                     ["length", name, "--pagesize", "big"], ["create", name + "y", "--mode", "9"],
                     ["mem", name, "-x"], ["length", name, "--force"], ["load", name, "--batch", "0"],
                     ["list", "/dev/shm", "extra"], ["bench", "--processes", "1,,2"]]:
            with self.subTest(args=args):
                result = self.tool(*args, status=2)
                self.assertTrue(result.stderr.startswith("netshm"), result.stderr)


class BindingsTest(ToolTestCase):
    def setUp(self):
        super().setUp()
        self.name = self.posix_object()
        self.tool("create", self.name, "--init", "10")

    def test_add_get_get_all_newest_first(self):
        self.tool("add", self.name, "5", "1", "2", "3")
        self.tool("add", self.name, "5", "-4", "-2147483648", "2147483647")
        self.tool("add", self.name, "5")
        self.assertEqual(self.tool("get", self.name, "5").stdout, "\n")
        self.assertEqual(self.tool("get-all", self.name, "5").stdout,
                         "\n-4 -2147483648 2147483647\n1 2 3\n")
        self.assertEqual(self.tool("length", self.name).stdout, "3\n")

    def test_negative_keys_are_not_options(self):
        self.tool("add", self.name, "-7", "-1")
        self.assertEqual(self.tool("get", self.name, "-7").stdout, "-1\n")
        self.tool("add", self.name, "--", "-8", "2")
        self.assertEqual(self.tool("get", self.name, "-8").stdout, "2\n")

    def test_replace_and_remove(self):
        self.tool("replace", self.name, "9", "1")  # adds: 9 was unbound
        self.tool("add", self.name, "9", "2")
        self.tool("replace", self.name, "9", "3")
        self.assertEqual(self.tool("get-all", self.name, "9").stdout, "3\n1\n")
        self.tool("remove", self.name, "9")
        self.assertEqual(self.tool("get", self.name, "9").stdout, "1\n")
        self.tool("remove", self.name, "9")
        result = self.tool("remove", self.name, "9", status=1)
        self.assertEqual(result.stderr, "netshm remove: key 9 is not bound\n")

    def test_missing_key_exits_1(self):
        self.tool("add", self.name, "1", "1")
        self.assertEqual(self.tool("get", self.name, "2", status=1).stderr, "netshm get: key 2 is not bound\n")
        self.tool("get-all", self.name, "2", status=1)
        self.assertEqual(self.tool("mem", self.name, "2", status=1).stdout, "no\n")
        self.assertEqual(self.tool("mem", self.name, "1").stdout, "yes\n")

    def test_get_several_keys_one_line_each_in_order(self):
        self.tool("add", self.name, "1", "10", "11")
        self.tool("add", self.name, "2")
        self.assertEqual(self.tool("get", self.name, "2", "1", "1").stdout, "\n10 11\n10 11\n")
        result = self.tool("get", self.name, "1", "7", "2", status=1)
        self.assertEqual(result.stdout, "10 11\n\n\n")
        self.assertEqual(result.stderr, "netshm get: key 7 is not bound\n")

    def test_bad_numbers_exit_2(self):
        for word in ["2147483648", "-2147483649", "1x", "0x10", "", " 1", "+1", "1.0"]:
            with self.subTest(word=word):
                result = self.tool("add", self.name, "1", word, status=2)
                self.assertIn("is not an int32", result.stderr)
                self.tool("get", self.name, word, status=2)
        self.assertEqual(self.tool("length", self.name).stdout, "0\n")

    def test_wrong_page_size_exits_2_with_the_library_message(self):
        result = self.tool("get", self.name, "1", "--pagesize", "512", status=2)
        self.assertIn("the table has page size 256, not 512", result.stderr)
        self.tool("get", self.name, "1", "--pagesize", "256", status=1)

    def test_dump_text_is_netshm_dump(self):
        self.tool("add", self.name, "3", "1", "2")
        self.tool("add", self.name, "3", "-5")
        self.tool("add", self.name, "4")
        lines = self.tool("dump", self.name).stdout.split("\n")
        # Keys come in the table's order; a key's bindings newest first.
        self.assertEqual(lines[0], "<shm length=3")
        self.assertEqual(lines[-2:], [">", ""])
        body = lines[1:-2]
        self.assertEqual(sorted(body), sorted(["  3 => [| -5 |]", "  3 => [| 1; 2 |]", "  4 => [|  |]"]))
        self.assertLess(body.index("  3 => [| -5 |]"), body.index("  3 => [| 1; 2 |]"))


class ObjectsTest(ToolTestCase):
    def test_missing_object_exits_2(self):
        name = self.posix_object()
        for sub in ["get", "mem", "get-all", "remove"]:
            with self.subTest(sub=sub):
                self.assertIn("No such file", self.tool(sub, name, "1", status=2).stderr)
        for sub in ["length", "dump", "stat", "check", "unlink"]:
            with self.subTest(sub=sub):
                self.tool(sub, name, status=2)
        self.tool("add", name, "1", status=2)
        self.assertFalse(os.path.exists("/dev/shm" + name))
        self.tool("length", self.file_object("missing"), status=2)

    def test_create_refuses_an_existing_object_unless_forced(self):
        name = self.posix_object()
        self.tool("create", name)
        self.tool("add", name, "1", "1")
        self.assertIn("File exists", self.tool("create", name, status=2).stderr)
        self.assertEqual(self.tool("length", name).stdout, "1\n")
        self.tool("create", name, "--force")
        self.assertEqual(self.tool("length", name).stdout, "0\n")

    def test_create_force_never_overwrites_through_a_link_or_over_other_data(self):
        victim = self.write_file("victim", "root:x:0:0:root:/root:/bin/bash\n")
        link = self.file_object("link")
        os.symlink(victim, link)
        stderr = self.tool("create", link, "--force", status=2).stderr
        self.assertIn("a symbolic link", stderr)
        stderr = self.tool("create", victim, "--force", status=2).stderr
        self.assertIn("not a netshm table", stderr)
        with open(victim) as f:
            self.assertEqual(f.read(), "root:x:0:0:root:/root:/bin/bash\n")

    def test_create_page_size_and_mode_of_a_file(self):
        path = self.file_object()
        self.tool("create", path, "--pagesize", "160", "--init", "1", "--mode", "640")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o640, stat.S_IMODE(os.stat(path).st_mode))
        self.tool("add", path, "1", *range(100))
        self.assertEqual(self.tool("get", path, "1").stdout, " ".join(map(str, range(100))) + "\n")
        self.assertIn("has page size 160", self.tool("length", path, "--pagesize", "256", status=2).stderr)
        self.assertIn("page size 100 is invalid",
                      self.tool("create", self.file_object("small"), "--pagesize", "100", status=2).stderr)

    def test_a_relative_path_is_a_file(self):
        self.tool("create", "relative", cwd=self.folder)
        self.assertTrue(os.path.exists(os.path.join(self.folder, "relative")))
        self.tool("unlink", "relative", cwd=self.folder)
        self.assertFalse(os.path.exists(os.path.join(self.folder, "relative")))

    def test_lock_file_objects(self):
        name = self.posix_object()
        lock = self.file_object("lock")
        self.tool("create", name, "--lock-file", lock)
        self.assertTrue(os.path.exists(lock))
        self.tool("add", name, "1", "7", "--lock-file", lock)
        self.assertEqual(self.tool("get", name, "1", "--lock-file", lock).stdout, "7\n")
        self.assertIn("--lock-file goes with POSIX objects",
                      self.tool("length", self.file_object(), "--lock-file", lock, status=2).stderr)
        self.tool("unlink", name, "--lock-file", lock)
        self.assertFalse(os.path.exists(lock))
        self.assertFalse(os.path.exists("/dev/shm" + name))

    def test_unlink(self):
        name = self.posix_object()
        self.tool("create", name)
        self.tool("unlink", name)
        self.assertFalse(os.path.exists("/dev/shm" + name))
        self.assertIn("No such file", self.tool("unlink", name, status=2).stderr)


if __name__ == "__main__":
    main()
