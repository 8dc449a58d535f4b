"""A table shared live with OCamlnet's Netshm: OCaml processes (test/live_interop's
live_peer_ocaml) and Python workers increment the same counters at the same time, each
side in its own read-modify-write groups; every increment must be counted (issue 19)."""

import array
import multiprocessing
import os
import subprocess

import pytest

import netshm

KEYS = 16
INCREMENTS = 300
EXTRA_EVERY = 8
OCAML_IDS = (1, 2)
PYTHON_IDS = (3, 4)

OCAML_PEER = os.environ.get("NETSHM_OCAML_PEER")
pytestmark = pytest.mark.skipif(not OCAML_PEER, reason="no OCaml peer (interop tests disabled)")


def counter_length(n):
    return 1 + n % 97


def python_counts(path, worker, ready, go):
    """live_peer_ocaml's `count`, in Python: counter (5i + 3 ID) mod KEYS in a write group,
    and every EXTRA_EVERY-th increment a key of its own."""
    with netshm.open(path, locking="record") as t:
        ready.set()
        go.wait(60)
        for i in range(INCREMENTS):
            key = (5 * i + 3 * worker) % KEYS
            with t.group(write=True):
                count = t[key][0] + 1
                t.replace(key, [count] * counter_length(count))
            if i % EXTRA_EVERY == 0:
                t.add(1000000 + 100000 * worker + i, [worker, i])


def test_python_and_ocaml_count_together(tmp_path):
    path = str(tmp_path / "table")
    peer = [OCAML_PEER]
    subprocess.run(peer + ["init", "file", path, "-", str(KEYS), "256", "1"], check=True,
                   timeout=60)
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    workers = []
    for worker in PYTHON_IDS:
        ready = context.Event()
        process = context.Process(target=python_counts, args=(path, worker, ready, go))
        process.start()
        workers.append((process, ready))
    ocaml = [subprocess.Popen(peer + ["count", "file", path, "-", str(worker), str(KEYS),
                                      str(INCREMENTS), str(EXTRA_EVERY)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for worker in OCAML_IDS]
    try:
        for process in ocaml:
            assert process.stdout.readline() == "ready\n"
        for _, ready in workers:
            assert ready.wait(60)
        go.set()
        for process in ocaml:
            out, _ = process.communicate("go\n", timeout=120)
            assert out.startswith("done") and "groups=%d" % INCREMENTS in out
        for process, _ in workers:
            process.join(120)
            assert process.exitcode == 0
    finally:
        for process in ocaml:
            if process.poll() is None:
                process.kill()
        for process, _ in workers:
            if process.is_alive():
                process.kill()

    expected = {key: 0 for key in range(KEYS)}
    extras = {}
    for worker in OCAML_IDS + PYTHON_IDS:
        for i in range(INCREMENTS):
            expected[(5 * i + 3 * worker) % KEYS] += 1
            if i % EXTRA_EVERY == 0:
                extras[1000000 + 100000 * worker + i] = [worker, i]
    with netshm.open(path) as t:
        for key, count in expected.items():
            assert t.find_all(key) == [_words([count] * counter_length(count))]
        for key, value in extras.items():
            assert t.find_all(key) == [_words(value)]
        assert len(t) == KEYS + len(extras)
        assert t.check() == []
    # And OCaml reads back what Python sees.
    dump = subprocess.run(peer + ["dump", "file", path, "-"], check=True, timeout=60,
                          capture_output=True, text=True).stdout
    assert "readback length=%d" % (KEYS + len(extras)) in dump


def _words(values):
    return array.array("i", values)
