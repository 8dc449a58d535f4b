#!/usr/bin/env python3
"""The ABI check: libnetshm.so.1 as built against the committed baseline.

Fails on any difference abidiff reports, incompatible or not: an intentional
addition updates the baseline in the same commit (capi/abi/README.md), so the
baseline always describes the ABI users can rely on.  Exits 77 (skipped) with
the reason when abidiff is missing or the library has no debug information.
"""
import subprocess
import sys

SKIP = 77
# abidiff's exit status bits (libabigail's abidiff documentation).
ERROR, USAGE_ERROR, ABI_CHANGE, INCOMPATIBLE_CHANGE = 1, 2, 4, 8


def main():
    abidiff, baseline, headers, library, debug = sys.argv[1:6]
    if not abidiff:
        print("skipped: abidiff not found (Debian package abigail-tools)")
        return SKIP
    if debug != "true":
        print("skipped: the library is built without debug information, which abidiff needs")
        return SKIP
    command = [abidiff, "--headers-dir2", headers, "--drop-private-types",
               "--exported-interfaces-only", "--no-show-locs", baseline, library]
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(" ".join(command))
    print(run.stdout)
    if run.returncode & (ERROR | USAGE_ERROR):
        print("FAIL: abidiff could not compare")
        return 1
    if run.returncode & INCOMPATIBLE_CHANGE:
        print("FAIL: an incompatible ABI change; keep the old ABI (a new name, a new "
              "version node) as capi/abi/README.md says")
        return 1
    if run.returncode & ABI_CHANGE:
        print("FAIL: the ABI changed compatibly; if intended, update the baseline as "
              "capi/abi/README.md says")
        return 1
    print("the ABI matches the baseline")
    return 0


sys.exit(main())
