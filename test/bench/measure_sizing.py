"""What a binding costs: for each page size and value length, loads a table
of N distinct keys (one binding each) with the netshm tool and reads its size
with `netshm stat --json`. Prints the Markdown table of doc/guide.md, "Sizing".

Usage: measure_sizing.py PATH/TO/netshm [--bindings N]
"""

import argparse
import json
import os
import subprocess
import tempfile

PAGE_SIZES = [160, 256, 1024, 4096]
VALUE_WORDS = [1, 4, 16, 64]


def tool(netshm, *args):
    return subprocess.run([netshm, *map(str, args)], capture_output=True, text=True, check=True).stdout


def measure(netshm, folder, pagesize, words, bindings):
    """Object bytes and content bytes per binding of a freshly loaded table."""
    table = os.path.join(folder, f"table-{pagesize}-{words}")
    source = os.path.join(folder, "bindings.txt")
    with open(source, "w", encoding="utf-8") as f:
        f.writelines(f"{key}{' 7' * words}\n" for key in range(bindings))
    tool(netshm, "create", table, "--pagesize", pagesize, "--init", bindings)
    tool(netshm, "load", table, source, "--quiet")
    stats = json.loads(tool(netshm, "stat", "--json", table))
    os.unlink(table)
    assert stats["bindings"] == bindings, stats
    return stats["object_bytes"] / bindings, stats["content_pages"] * pagesize / bindings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("netshm")
    parser.add_argument("--bindings", type=int, default=100_000)
    args = parser.parse_args()
    header = "| page size | " + " | ".join(f"{w} word{'s' if w > 1 else ''} ({4 * w} B)" for w in VALUE_WORDS)
    print(f"Bytes per binding, whole object (content pages only), {args.bindings} keys:\n")
    print(header + " |")
    print("|" + " --- |" * (len(VALUE_WORDS) + 1))
    with tempfile.TemporaryDirectory(prefix="netshm-sizing-") as folder:
        for pagesize in PAGE_SIZES:
            cells = []
            for words in VALUE_WORDS:
                total, content = measure(args.netshm, folder, pagesize, words, args.bindings)
                cells.append(f"{total:.0f} ({content:.0f})")
            print(f"| {pagesize} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
