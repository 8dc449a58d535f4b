"""The subproject test: a fresh Meson project whose subprojects/netshm is this
source tree finds `dependency('netshm')` through the fallback (the subproject's
override_dependency), then builds and runs a C and a C++ program.

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
netshm_dep = dependency('netshm', fallback: 'netshm', default_options: ['tests=false'])
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
        run([meson, "setup", "--force-fallback-for=netshm", build, project], env=env)
        run([meson, "compile", "-C", build], env=env)
        for program in ("consumer_c", "consumer_cxx"):
            run([build / program], env=env)


if __name__ == "__main__":
    main()
