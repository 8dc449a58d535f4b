"""Writes the netshm(1) man page from the tool's own help texts, with help2man:
`netshm --help` and `--version` give the page, each `netshm <subcommand> --help`
a subsection of SUBCOMMANDS, so nothing is written twice.

Usage: man_page.py HELP2MAN NETSHM OUTPUT
"""

import os
import re
import subprocess
import sys
import tempfile

OPTION = re.compile(r"^  (\S.*?)\s{2,}(\S.*)$")


def escaped(line):
    """A line of text as roff text: backslashes and hyphens literal, no request."""
    line = line.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + line if line.startswith((".", "'")) else line


def roff(help_text):
    """A subcommand's help as roff: paragraphs filled to the reader's width,
    indented lines (examples) kept as they are, each option a tagged paragraph."""
    out = []
    verbatim = False
    in_options = False
    for line in help_text.rstrip("\n").split("\n"):
        indented = line.startswith("  ")
        if verbatim and not (indented and not in_options):
            out += [".fi", ".RE"]
            verbatim = False
        if not line:
            out.append(".PP")
            in_options = False
        elif line == "Options:":
            out.append(".B Options:")
            in_options = True
        elif in_options and OPTION.match(line):
            label, text = OPTION.match(line).groups()
            out += [".TP", ".B " + escaped(label), escaped(text)]
        elif indented and not in_options:
            if not verbatim:
                out += [".RS", ".nf"]
                verbatim = True
            out.append(escaped(line[2:]))
        else:
            out.append(escaped(line))
    if verbatim:
        out += [".fi", ".RE"]
    return "\n".join(out) + "\n"


def subcommands(tool):
    """The subcommand names `netshm --help` lists under "Subcommands:"."""
    overview = subprocess.run([tool, "--help"], capture_output=True, text=True, check=True).stdout
    listing = overview.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^  (\S+)", listing, re.MULTILINE)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    help2man, tool, output = sys.argv[1:]
    sections = ["[SUBCOMMANDS]\n"]
    for name in subcommands(tool):
        text = subprocess.run([tool, name, "--help"], capture_output=True, text=True, check=True).stdout
        sections.append(f'.SS "netshm {name}"\n' + roff(text))
    sections.append("[SEE ALSO]\nThe guide (doc/guide.md) and tools/README.md of the netshm sources;\n"
                    "the guide is installed under share/doc/netshm.\n")
    with tempfile.NamedTemporaryFile("w", suffix=".h2m", delete=False) as include:
        include.write("".join(sections))
    try:
        subprocess.run([help2man, "--no-info", "--name=shared-memory hash tables compatible with OCamlnet Netshm",
                        f"--include={include.name}", f"--output={output}", tool], check=True)
    finally:
        os.unlink(include.name)


if __name__ == "__main__":
    main()
