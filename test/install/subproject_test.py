"""The subproject test: a fresh Meson project whose subprojects/netshm is this
source tree finds `dependency('netshm')` through the fallback (the subproject's
override_dependency), configured offline and with netshm's default options,
then builds and runs a C and a C++ program (the latter binds a key and finds
it). As a subproject netshm builds only the library: no test, no tool, no docs
is a target, and Catch2 is not even looked for.

Usage: subproject_test.py MESON SOURCE_ROOT
"""

import os
import pathlib
import shutil
import sys
import tempfile

from install_support import C_FLAGS, CONSUMER_C, CONSUMER_CXX, CXX_FLAGS, require_tools, run

CONSUMER_PROJECT = """\
project('netshm-consumer', 'c', 'cpp')
netshm_dep = dependency('netshm', fallback: 'netshm')
executable('consumer_c', 'consumer.c', c_args: {c_flags}, dependencies: netshm_dep)
executable('consumer_cxx', 'consumer.cpp', cpp_args: {cxx_flags}, dependencies: netshm_dep)
"""


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    meson, source_root = sys.argv[1:]
    require_tools("ninja")
    with tempfile.TemporaryDirectory(prefix="netshm-subproject-") as tmp:
        project = pathlib.Path(tmp) / "consumer"
        (project / "subprojects").mkdir(parents=True)
        (project / "subprojects" / "netshm").symlink_to(pathlib.Path(source_root).resolve())
        shutil.copy(CONSUMER_C, project)
        shutil.copy(CONSUMER_CXX, project)
        (project / "meson.build").write_text(
            CONSUMER_PROJECT.format(c_flags=C_FLAGS, cxx_flags=CXX_FLAGS))

        build = project / "build"
        # The fallback is forced: an installed netshm must not be found instead.
        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)  # meson test points it at the outer build
        run([meson, "setup", "--wrap-mode=nodownload", "--force-fallback-for=netshm", build, project], env=env)
        run([meson, "compile", "-C", build], env=env)
        for program in ("consumer_c", "consumer_cxx"):
            run([build / program], env=env)
        check_only_the_library(build)


def check_only_the_library(build):
    """No target of netshm's tests, tool or docs exists, none was compiled,
    and Catch2 was not looked for."""
    netshm = "subprojects/netshm/"
    targets = run(["ninja", "-C", build, "-t", "targets", "all"])
    compiled = (build / ".ninja_log").read_text(encoding="utf-8")
    for part in ("test/", "tools/", "doc/"):
        for listing, what in ((targets, "a target"), (compiled, "compiled")):
            found = [line for line in listing.splitlines() if netshm + part in line]
            if found:
                sys.exit(f"{netshm}{part} is {what} of the consumer's build: {found[:3]}")
    if not any(netshm + "capi/libnetshm.so" in line for line in compiled.splitlines()):
        sys.exit("the library was not built")
    log = (build / "meson-logs" / "meson-log.txt").read_text(encoding="utf-8")
    if "catch2" in log.lower():
        sys.exit("configuring netshm as a subproject looked for Catch2")


if __name__ == "__main__":
    main()
