"""multiprocessing workers incrementing shared counters: every increment counted, in
both locking modes, with fork and spawn workers (issue 19)."""

import multiprocessing

import pytest

import netshm

KEYS = 8
WORKERS = 4
INCREMENTS = 250


def increment(name, locking, worker, write_groups):
    """INCREMENTS read-modify-write groups on counter (i + worker) mod KEYS; a plain group
    that the kernel breaks with Deadlock is ended and retried.  Returns the deadlocks."""
    deadlocks = 0
    with netshm.open(name, locking=locking) as t:
        for i in range(INCREMENTS):
            key = (i + worker) % KEYS
            while True:
                try:
                    with t.group(write=write_groups):
                        count = t[key][0] + 1
                        t.replace(key, [count] * (1 + count % 7))
                    break
                except netshm.Deadlock:
                    deadlocks += 1
    return deadlocks


@pytest.mark.parametrize("locking,write_groups", [
    ("record", True), ("record", False), ("mutex", True)])
@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_counters_are_exact(name, locking, write_groups, start):
    with netshm.open(name, create=True, locking=locking) as t:
        for key in range(KEYS):
            t.add(key, [0])
        context = multiprocessing.get_context(start)
        with context.Pool(WORKERS) as pool:
            pool.starmap(increment, [(name, locking, w, write_groups) for w in range(WORKERS)])
        expected = {key: 0 for key in range(KEYS)}
        for worker in range(WORKERS):
            for i in range(INCREMENTS):
                expected[(i + worker) % KEYS] += 1
        for key, count in expected.items():
            assert t[key].tolist() == [count] * (1 + count % 7)
        assert len(t) == KEYS
        assert t.check() == []


def test_a_table_inherited_across_fork_is_refused(name):
    with netshm.open(name, create=True) as t:
        t.add(1, [1])
        _inherited["table"] = t
        context = multiprocessing.get_context("fork")
        answers = context.SimpleQueue()
        child = context.Process(target=_read_inherited, args=(answers,))
        child.start()
        child.join(30)
        assert answers.get() == "Forked -12"
        assert t[1].tolist() == [1]  # the parent's handle still works


_inherited = {}


def _read_inherited(answers):
    try:
        _inherited["table"][1]
        answers.put("read")
    except netshm.Forked as e:
        answers.put("Forked %d" % e.code)
