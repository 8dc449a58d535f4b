"""The leak test: the library exports exactly the functions the header declares.

The functions declared with NETSHM_API in netshm.h, those listed in the
version script and the function symbols `nm -D --defined-only` shows must be
the same set; besides them only the version script's nodes (NETSHM_x.y) may
be defined.  And the test-only hooks (capi/testing.h, the engine's crash
point and OCamlnet mimicry) are not in the library at all, not even as local
symbols.

Usage: check_exports.py NM HEADER VERSION_SCRIPT LIBRARY
"""

import re
import subprocess
import sys


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def declared_functions(header_text):
    """Names of the functions declared with NETSHM_API."""
    code = strip_comments(header_text)
    # Preprocessor lines (NETSHM_API's own definition among them), continuations included.
    code = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", code, flags=re.M)
    names = set()
    for declaration in code.split(";"):
        if not re.search(r"\bNETSHM_API\b", declaration):
            continue
        match = re.search(r"\b(\w+)\s*\(", declaration)
        if match is None:
            raise SystemExit(f"cannot read the NETSHM_API declaration: {declaration.strip()}")
        names.add(match.group(1))
    return names


def version_script(script_text):
    """(node names, global symbols) of a version script."""
    code = strip_comments(script_text)
    nodes = re.findall(r"([\w.]+)\s*\{(.*?)\}\s*[\w.]*\s*;", code, flags=re.S)
    symbols = set()
    for _, body in nodes:
        section = "global"  # entries before any label are global
        for part in re.split(r"\b(global|local)\s*:", body):
            if part in ("global", "local"):
                section = part
            elif section == "global":
                symbols.update(entry.strip() for entry in part.split(";") if entry.strip())
    return {name for name, _ in nodes}, symbols


def exported_symbols(nm, library):
    """(function names, their symbol versions, other symbols as 'TYPE name')."""
    output = subprocess.run([nm, "-D", "--defined-only", library], check=True,
                            capture_output=True, text=True).stdout
    functions, versions, others = set(), set(), set()
    for line in output.splitlines():
        kind, symbol = line.split()[-2:]
        # Recent binutils show the version: netshm_open@@NETSHM_0.1.
        name, _, version = symbol.partition("@")
        if kind == "T":
            functions.add(name)
            if version:
                versions.add(version.lstrip("@"))
        else:
            others.add(f"{kind} {name}")
    return functions, versions, others


# Names only the tests' build of the library (netshm_static) may contain.
TEST_HOOKS = re.compile(r"netshm_testing_|mimic_ocamlnet|count_shared_store|kill_before_store|shared_stores")


def test_hooks(nm, library):
    """Every symbol of the library's whole table that belongs to a test hook."""
    output = subprocess.run([nm, "-C", library], check=True, capture_output=True, text=True).stdout
    return sorted({line.split(None, 2)[-1] for line in output.splitlines() if TEST_HOOKS.search(line)})


def compare(label_a, a, label_b, b):
    problems = []
    for name in sorted(a - b):
        problems.append(f"{name}: {label_a} but not {label_b}")
    for name in sorted(b - a):
        problems.append(f"{name}: {label_b} but not {label_a}")
    return problems


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    nm, header, script, library = sys.argv[1:]
    with open(header, encoding="utf-8") as f:
        declared = declared_functions(f.read())
    with open(script, encoding="utf-8") as f:
        nodes, listed = version_script(f.read())
    exported, versions, others = exported_symbols(nm, library)

    problems = compare("declared in netshm.h", declared, "exported", exported)
    problems += compare("declared in netshm.h", declared, "listed in netshm.map", listed)
    expected_others = {f"A {node}" for node in nodes}
    problems += [f"{symbol}: exported, but neither a function nor a version node"
                 for symbol in sorted(others - expected_others)]
    problems += [f"{symbol}: a version node the library does not define"
                 for symbol in sorted(expected_others - others)]
    problems += [f"{version}: a symbol version that netshm.map does not define"
                 for version in sorted(versions - nodes)]
    if not declared:
        problems.append("netshm.h declares no NETSHM_API function")
    problems += [f"{name}: exported without the netshm_ prefix"
                 for name in sorted(exported) if not name.startswith("netshm_")]
    problems += [f"{symbol}: test-only code in the shipped library" for symbol in test_hooks(nm, library)]

    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print(f"{len(exported)} functions exported, declared and listed; "
          f"version nodes: {', '.join(sorted(nodes))}")


if __name__ == "__main__":
    main()
