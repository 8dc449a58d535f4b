"""What the install tests share: the consumer programs, running commands, and
meson's skip code when a tool is missing."""

import pathlib
import shlex
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
CONSUMER_C = HERE / "consumer.c"
CONSUMER_CXX = HERE / "consumer.cpp"
C_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
CXX_FLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-pedantic"]

SKIP = 77  # meson's exit code for a skipped test


def require_tools(*tools):
    """Exits with meson's skip code, saying why, unless every tool is found."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        print(f"SKIP: not found: {', '.join(missing)}")
        sys.exit(SKIP)


def run(command, **options):
    """Runs a command, echoing it; fails the test with its output if it fails."""
    print("+", shlex.join(str(part) for part in command), flush=True)
    result = subprocess.run([str(part) for part in command], text=True, capture_output=True,
                            **options)
    if result.returncode != 0:
        sys.exit(f"exit status {result.returncode}\n{result.stdout}{result.stderr}")
    print(result.stdout, end="", flush=True)
    return result.stdout
