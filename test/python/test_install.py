"""The installed package: `meson install` into a temporary DESTDIR, then a clean
interpreter (-I: no user site, no PYTHON* variables) imports netshm from there, with only
the staged library folder on LD_LIBRARY_PATH, and runs the guide's Python example
unchanged (issue 19)."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

MESON = os.environ.get("NETSHM_MESON")
BUILD_DIR = os.environ.get("NETSHM_BUILD_DIR")
SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (MESON and BUILD_DIR), reason="run by meson test only")


def guide_example():
    """The first ```python block of doc/guide.md's Python section."""
    guide = (SOURCE_DIR / "doc" / "guide.md").read_text()
    section = guide[guide.index("\n## Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """(site folder, library folder) of a staged install."""
    destdir = tmp_path_factory.mktemp("install") / "root"
    subprocess.run([MESON, "install", "-C", BUILD_DIR, "--destdir", str(destdir),
                    "--no-rebuild", "--quiet"], check=True, timeout=300)
    packages = list(destdir.rglob("netshm/__init__.py"))
    libraries = list(destdir.rglob("libnetshm.so.1"))
    assert len(packages) == 1 and len(libraries) == 1, (packages, libraries)
    return packages[0].parent.parent, libraries[0].parent


def clean_python(staged, code, library_path=True):
    site, libdir = staged
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "PYTHONPATH": str(site)}
    if library_path:
        env["LD_LIBRARY_PATH"] = str(libdir)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_installed_package_is_imported(staged):
    site, libdir = staged
    r = clean_python(staged, "import netshm, ctypes; print(netshm.__file__); "
                             "print(netshm._library.lib._name); print(netshm.version())")
    assert r.returncode == 0, r.stderr
    package_file, library, version = r.stdout.split()
    assert package_file.startswith(str(site))
    assert library == "libnetshm.so.1"  # by its SONAME
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    paths = (site / "netshm" / "_install_paths.py").read_text()
    assert "LIBDIR = " in paths


def test_the_guides_example_runs_unchanged(staged):
    r = clean_python(staged, guide_example())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), "the example prints what it found"


def test_without_the_library_on_the_path_the_error_says_so(staged):
    # The staged library is not where _install_paths says (that is the real prefix):
    # the import fails with an ImportError naming the library, unless the prefix has one.
    r = clean_python(staged, "import netshm", library_path=False)
    if r.returncode == 0:
        pytest.skip("a libnetshm.so.1 is installed on this system: it was loaded")
    assert "ImportError" in r.stderr and "libnetshm.so.1" in r.stderr
