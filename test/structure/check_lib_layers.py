#!/usr/bin/env python3
"""The engine's folders include one way: each file of lib/<folder>/ includes
only from its own folder and the folders below it, in the order lib/README.md
gives on its line "Layers, lowest first: ...", which lists every folder.

Usage: check_lib_layers.py LIB_DIR"""
import pathlib
import re
import sys


def main() -> int:
    lib = pathlib.Path(sys.argv[1])
    readme = (lib / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^Layers, lowest first: (.+)$", readme, re.M)
    if not match:
        print("lib/README.md has no line 'Layers, lowest first: ...'")
        return 1
    order = [name.strip(" `.") for name in match.group(1).split(",")]
    rank = {name: i for i, name in enumerate(order)}
    folders = sorted(p.name for p in lib.iterdir() if p.is_dir())
    failures = [f"folder lib/{f}/ is not in the layer order {order}" for f in folders if f not in rank]
    failures += [f"layer {f} has no folder lib/{f}/" for f in order if f not in folders]
    include = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"', re.M)
    files = 0
    for path in sorted(lib.glob("*/*.[ch]pp")):
        files += 1
        own = path.parent.name
        for target in include.findall(path.read_text(encoding="utf-8")):
            if target not in rank or own not in rank:
                failures.append(f"{path.relative_to(lib)} includes from unknown folder {target}/")
            elif rank[target] > rank[own]:
                failures.append(f"{path.relative_to(lib)} includes from {target}/, a layer above {own}/")
    for failure in failures:
        print(failure)
    print(f"{files} files in {len(folders)} folders checked against the order {', '.join(order)}")
    return 1 if failures or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
