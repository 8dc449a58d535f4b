"""netshm load and netshm dump --json: exact round trips of random tables,
the text format, and input errors (which add nothing)."""

import os
import pty
import random
import subprocess
import time

import tool_harness

from tool_harness import ToolTestCase, dump_json, main, random_table


def text_lines(table, seed):
    """The table as load's text format: a key's bindings oldest first, keys interleaved."""
    rng = random.Random(seed)
    pending = {key: list(reversed(values)) for key, values in table.items()}
    lines = []
    while pending:
        key = rng.choice(sorted(pending))
        value = pending[key].pop(0)
        if not pending[key]:
            del pending[key]
        lines.append(" ".join(map(str, [key, *value])))
    return lines


class RoundTripTest(ToolTestCase):
    def test_json_round_trip_is_exact(self):
        for seed, pagesize in [(1, 256), (2, 160), (3, 1024)]:
            with self.subTest(seed=seed, pagesize=pagesize):
                expected = dump_json(random_table(seed), pagesize)
                source = self.write_file(f"dump-{seed}.json", expected)
                name = self.posix_object()
                self.tool("load", name, source)  # a new table, of the dump's page size
                self.assertEqual(self.tool("dump", name, "--json").stdout, expected)
                # And back through standard input into a file table.
                path = self.file_object(f"copy-{seed}")
                # No progress bar when standard error is not a terminal.
                self.assertEqual(self.tool("load", path, "-", "--batch", "3", stdin=expected).stderr, "")
                self.assertEqual(self.tool("dump", path, "--json").stdout, expected)

    def test_text_load(self):
        table = random_table(4, keys=80)
        lines = text_lines(table, 4)
        text = "# a comment\n\n" + "\n".join(f"{line}   # binding {i}" if i % 7 == 0 else line
                                              for i, line in enumerate(lines)) + "\n\t\n"
        name = self.posix_object()
        self.tool("load", name, self.write_file("bindings.txt", text), "--batch", "10", "--pagesize", "512")
        self.assertEqual(self.tool("dump", name, "--json").stdout, dump_json(table, 512))
        key = next(k for k, v in table.items() if len(v) > 1)
        self.assertEqual(self.tool("get-all", name, key).stdout,
                         "".join(" ".join(map(str, v)) + "\n" for v in table[key]))

    def test_load_adds_to_an_existing_table(self):
        name = self.posix_object()
        self.tool("create", name, "--pagesize", "192")
        self.tool("add", name, "1", "10")
        self.tool("load", name, "-", stdin="1 11\n2\n")
        self.tool("load", name, "-", stdin='{"pagesize":4096,"keys":[{"key":1,"values":[[13],[12]]}]}')
        self.assertEqual(self.tool("get-all", name, "1").stdout, "13\n12\n11\n10\n")
        self.assertEqual(self.tool("dump", name, "--json").stdout,
                         '{"pagesize":192,"bindings":5,"keys":[\n{"key":1,"values":[[13],[12],[11],[10]]},\n'
                         '{"key":2,"values":[[]]}\n]}\n')

    def test_progress_bar_only_on_a_terminal(self):
        # One group per binding: a load slow enough for the bar on most machines.
        source = self.write_file("many.txt", "".join(f"{k}\n" for k in range(300000)))
        terminal, terminal_side = pty.openpty()
        started = time.monotonic()
        subprocess.run([tool_harness.TOOL, "load", self.file_object("drawn"), source, "--batch", "1",
                        "--pagesize", "160"], stderr=terminal_side, stdout=subprocess.DEVNULL, timeout=120,
                       check=True)
        seconds = time.monotonic() - started
        os.close(terminal_side)
        drawn = b""
        try:
            while chunk := os.read(terminal, 4096):
                drawn += chunk
        except OSError:  # EIO: the terminal's other side is closed
            pass
        os.close(terminal)
        if seconds > 1.0:  # the bar appears once the load has taken half a second
            self.assertIn(b"\rloading [", drawn)
            # Erased at the end: a carriage return, then "erase to the end of the line".
            self.assertTrue(drawn.endswith(b"\r\x1b[K"), drawn[-200:])
            # A terminal that does not say its width is taken as 80 columns wide.
            for line in drawn.split(b"\r")[1:-1]:
                self.assertLessEqual(len(line.removesuffix(b"\x1b[K")), 79, line)

    def test_empty_inputs(self):
        for text in ["", "\n# nothing\n", '{"keys":[]}', ' \n{ "bindings" : 0 , "keys" : [ ] }\n']:
            with self.subTest(text=text):
                name = self.posix_object()
                self.tool("load", name, stdin=text)
                self.assertEqual(self.tool("length", name).stdout, "0\n")

    def test_json_syntax_that_is_valid(self):
        name = self.posix_object()
        self.tool("load", name, stdin='{"\\u006beys" : [ {"values":[[ -0 , 5 ]],\r\n"key":-3} ] }')
        self.assertEqual(self.tool("get", name, "-3").stdout, "0 5\n")

    def test_format_option(self):
        name = self.posix_object()
        self.assertIn("line 1", self.tool("load", name, "--format", "text", stdin='{"keys":[]}', status=2).stderr)
        self.assertIn("line 1, column 1", self.tool("load", name, "--format", "json", stdin="1 2\n", status=2).stderr)
        self.tool("load", name, "--format", "xml", stdin="", status=2)
        self.tool("load", name, "--format", "text", stdin="1 2\n")
        self.assertEqual(self.tool("get", name, "1").stdout, "2\n")


class InputErrorTest(ToolTestCase):
    def assert_refused(self, text, message, fmt=None):
        name = self.posix_object()
        args = ["load", name, "-"] + (["--format", fmt] if fmt else [])
        stderr = self.tool(*args, stdin=text, status=2).stderr
        self.assertIn(message, stderr)
        self.assertIn("nothing was added", stderr)
        self.assertFalse(os.path.exists("/dev/shm" + name), "a refused load must not create the object")
        return stderr

    def test_json_errors_name_line_and_column(self):
        second = '{"key":2,"values":[[1.5]]}'
        self.assert_refused('{"keys":[{"key":1,"values":[[1,2],[3]]},\n' + second + "]}",
                            f"line 2, column {second.index('1.5') + 1}: expected an integer")
        cases = {
            '{"keys":[]} x': "line 1, column 13: expected the end of the input, found 'x'",
            '{"keys":[],"keys":[]}': 'line 1, column 12: duplicate member "keys"',
            '{"keys":[{"key":2147483648,"values":[]}]}': "2147483648 is out of range",
            '{"keys":[{"key":-2147483649,"values":[]}]}': "-2147483649 is out of range",
            '{"keys":[{"key":01,"values":[]}]}': "a number cannot start with 0",
            '{"keys":[{"key":1e3,"values":[]}]}': "found a fraction or an exponent",
            '{"keys":[{"key":1}]}': 'line 1, column 10: a key needs the members "key" and "values"',
            '{"keys":[{"key":1,"values":[[1],]}]}': "line 1, column 33: expected '['",
            '{"keys":[{"key":1,"values":[[1,]]}]}': "line 1, column 32: expected an integer",
            '{"pagesize":256,"bindings":3,"keys":[{"key":1,"values":[[1]]}]}': '"bindings" says 3 but the keys hold 1',
            '{"key":[]}': 'line 1, column 2: unknown member "key"',
            '{"keys":[{"key":1,"values":[[1]],"extra":0}]}': 'unknown member "extra"',
            "{}": 'the document has no member "keys"',
            '{"keys":[{"key":1,"values":[["1"]]}]}': "expected an integer",
            '{"keys":[{"key":true,"values":[]}]}': "expected an integer",
            '{"keys":[{"key":1,"values":[[1]]}]': "expected ',' or '}', found the end of the input",
            '{"keys":[{"key":1,"values":[[1]]}]}}': "expected the end of the input, found '}'",
            '{"ke\x01ys":[]}': "a control character in a string",
            '{"ke\\qys":[]}': "line 1, column 5: an invalid escape",
            '{"k\\u00e":[]}': "\\u needs four hexadecimal digits",
            '{"k\\udc00":[]}': "a low surrogate without a high one",
            '{"k\\ud800x":[]}': "a high surrogate without a low one",
            '{"keys":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[': "expected '{'",
            '{"keys" [] }': "expected ':'",
            '{keys:[]}': "expected a string",
        }
        for text, message in cases.items():
            with self.subTest(text=text):
                self.assert_refused(text, message)

    def test_deep_nesting_is_refused_quickly(self):
        self.assert_refused('{"keys":[{"values":' + "[" * 200000, "expected an integer")

    def test_text_errors_name_the_line(self):
        self.assert_refused("1 2\n# comment\n\n3 x 4\n", "line 4: 'x' is not an int32")
        self.assert_refused("1 2147483648\n", "line 1: '2147483648' is not an int32")
        self.assert_refused("1 2,3\n", "line 1: '2,3' is not an int32")

    def test_a_refused_load_leaves_an_existing_table_alone(self):
        name = self.posix_object()
        self.tool("create", name)
        self.tool("add", name, "1", "1")
        self.tool("load", name, stdin="2 2\n3 3\nbad\n", status=2)
        self.assertEqual(self.tool("length", name).stdout, "1\n")

    def test_missing_input_file(self):
        name = self.posix_object()
        stderr = self.tool("load", name, self.file_object("missing.json"), status=2).stderr
        self.assertIn("missing.json: No such file or directory", stderr)
        self.assertFalse(os.path.exists("/dev/shm" + name))


if __name__ == "__main__":
    main()
