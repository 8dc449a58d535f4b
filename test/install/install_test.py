"""The install test: `meson install --destdir` into a temporary folder, then a
C and a C++ program built with `pkg-config --cflags --libs netshm` against the
installed copy, linked to it and run.

Usage: install_test.py MESON BUILD_DIR CC CXX (compiler commands, shell-quoted)
"""

import os
import pathlib
import shlex
import sys
import tempfile

from install_support import (C_FLAGS, CONSUMER_C, CONSUMER_CXX, CXX_FLAGS, require_tools,
                             run)


def pkg_config_flags(destdir):
    """netshm's flags from the installed .pc, every path inside destdir."""
    pc_files = list(destdir.rglob("netshm.pc"))
    if len(pc_files) != 1:
        sys.exit(f"expected one installed netshm.pc, found {pc_files}")
    env = dict(os.environ, PKG_CONFIG_PATH=str(pc_files[0].parent),
               PKG_CONFIG_SYSROOT_DIR=str(destdir))
    flags = shlex.split(run(["pkg-config", "--cflags", "--libs", "netshm"], env=env))
    for flag in flags:
        if flag[:2] in ("-I", "-L") and not flag[2:].startswith(str(destdir)):
            sys.exit(f"{flag} points outside the installed copy")
    return flags


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    meson, build_dir, cc, cxx = sys.argv[1:]
    require_tools("pkg-config", "ldd")
    with tempfile.TemporaryDirectory(prefix="netshm-install-") as tmp:
        destdir = pathlib.Path(tmp) / "root"
        run([meson, "install", "-C", build_dir, "--destdir", destdir, "--no-rebuild", "--quiet"])
        flags = pkg_config_flags(destdir)
        libdirs = [flag[2:] for flag in flags if flag.startswith("-L")]
        if len(libdirs) != 1:
            sys.exit(f"expected one -L flag, got {flags}")
        run_env = dict(os.environ, LD_LIBRARY_PATH=libdirs[0])

        for source, compiler, language_flags in ((CONSUMER_C, cc, C_FLAGS),
                                                 (CONSUMER_CXX, cxx, CXX_FLAGS)):
            program = pathlib.Path(tmp) / (source.name + ".exe")
            run(shlex.split(compiler) + language_flags + [source, "-o", program] + flags)
            expected = f"libnetshm.so.1 => {libdirs[0]}/libnetshm.so.1 "
            if expected not in run(["ldd", program], env=run_env):
                sys.exit(f"{program.name} does not load the installed libnetshm.so.1")
            run([program], env=run_env)


if __name__ == "__main__":
    main()
