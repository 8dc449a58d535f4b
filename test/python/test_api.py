"""The package's whole API in one process: reads, writes, groups, callbacks, errors and
the int32 ranges (issue 19)."""

import array
import ctypes
import errno
import os

import pytest

import netshm


def test_the_issues_example(name):
    with netshm.open(name, create=True, locking="record") as t:
        t.add(7, [1, 2, 3])
        t.replace(7, [4])
        assert t[7] == array.array("i", [4])
        assert t.get(7, None) == array.array("i", [4])
        assert 7 in t and 8 not in t
        t.add(7, [5, 6])
        assert t.find_all(7) == [array.array("i", [5, 6]), array.array("i", [4])]
        del t[7]
        assert t.find_all(7) == [array.array("i", [4])]
        assert len(t) == 1 and t.keys() == [7] and t.items() == [(7, array.array("i", [4]))]
        with t.group(write=True):
            t.replace(7, [t[7][0] + 1])
        assert t[7] == array.array("i", [5])
        assert t.check() == []
    netshm.unlink(name)
    with pytest.raises(netshm.NotFound):
        netshm.unlink(name)


def test_values_of_every_kind(table):
    table.add(1, array.array("i", [1, 2]))
    table.add(2, (x for x in range(3)))
    table.add(3, (ctypes.c_int32 * 2)(-5, 2**31 - 1))
    table.add(4, [])
    table.add(5, range(1000))  # several pages
    table.add(6, memoryview(array.array("i", [7, 8])))
    assert table[1].tolist() == [1, 2]
    assert table[2].tolist() == [0, 1, 2]
    assert table[3].tolist() == [-5, 2**31 - 1]
    assert table[4].tolist() == []
    assert table[5].tolist() == list(range(1000))
    assert table[6].tolist() == [7, 8]
    assert isinstance(table[1], array.array) and table[1].typecode == "i"


def test_numpy_buffers(table):
    numpy = pytest.importorskip("numpy")
    table.add(1, numpy.arange(5, dtype=numpy.int32))
    table.add(2, numpy.arange(3, dtype=numpy.int64))
    assert table[1].tolist() == [0, 1, 2, 3, 4] and table[2].tolist() == [0, 1, 2]


def test_unbound_keys(table):
    with pytest.raises(KeyError) as caught:
        table[9]
    assert isinstance(caught.value, netshm.NotFound) and caught.value.code == -1
    assert table.get(9) is None and table.get(9, "x") == "x"
    assert table.find_all(9) == []
    with pytest.raises(KeyError):
        del table[9]
    table.remove(9)  # as Netshm.remove: nothing to do


def test_iteration_and_items_order(table):
    for key in range(50):
        table.add(key, [key])
        table.add(key, [key, key])
    assert len(table) == 100
    assert sorted(table.keys()) == list(range(50)) and sorted(table) == list(range(50))
    items = table.items()
    assert len(items) == 100
    for key in range(50):
        assert [v.tolist() for k, v in items if k == key] == [[key, key], [key]]
    seen = []
    table.iter(lambda k, v: seen.append((k, v.tolist())))
    assert len(seen) == 100


def test_large_values_grow_the_lookup_buffer(table):
    table.add(1, range(100000))
    table.add(2, [3])
    assert len(table[1]) == 100000 and table[1][-1] == 99999
    assert table[2].tolist() == [3]


def test_block_callbacks(table):
    table.add(1, range(300))
    table.add(1, [9])
    fragments = []
    table.find_blocks(1, lambda f: fragments.append(None if f is None else f.tolist()))
    assert fragments[0] == [9] and fragments[1] is None
    assert sum(fragments[2:-1], []) == list(range(300)) and fragments[-1] is None

    calls = []
    table.find_blocks(1, lambda f: calls.append(f) or netshm.BREAK)
    assert len(calls) == 1

    def readonly_write(fragment):
        fragment[0] = 1

    with pytest.raises(TypeError):
        table.find_blocks(1, readonly_write)

    def double(fragment):
        if fragment is not None:
            for i in range(len(fragment)):
                fragment[i] *= 2

    table.write_blocks(1, double)
    assert table[1].tolist() == [18]
    assert table.find_all(1)[1].tolist() == [2 * x for x in range(300)]

    table.write_blocks(1, lambda f: netshm.REMOVE_BINDING, remove=True)
    assert table.find_all(1) == []


def test_callback_exceptions_propagate_with_locks_released(name, table):
    table.add(1, [1])
    table.add(2, [2])

    class Stop(Exception):
        pass

    def fail(*args):
        raise Stop("from the callback")

    for run in (lambda: table.iter(fail),
                lambda: table.find_blocks(1, fail),
                lambda: table.write_blocks(1, fail)):
        with pytest.raises(Stop, match="from the callback"):
            run()
        # Released: a write and a write group of another handle get through at once.
        with netshm.open(name, lock_timeout=1) if _has_timeouts() else netshm.open(name) as other:
            other.replace(2, [3])
            with other.group(write=True):
                pass
    assert table[2].tolist() == [3]


def _has_timeouts():
    return netshm._table.C["netshm_set_lock_timeout"] is not None


def test_modifying_from_a_callback_is_self_locked(table):
    table.add(1, [1])
    with pytest.raises(netshm.SelfLocked):
        table.iter(lambda k, v: table.add(2, [2]))
    assert 2 not in table


@pytest.mark.parametrize("key", [2**31, -2**31 - 1, 2**64])
def test_keys_outside_int32_raise_before_writing(table, key):
    for call in (lambda: table.add(key, [1]), lambda: table.replace(key, [1]),
                 lambda: table.remove(key), lambda: table[key], lambda: table.get(key),
                 lambda: key in table, lambda: table.find_all(key)):
        with pytest.raises(OverflowError):
            call()
    assert len(table) == 0


@pytest.mark.parametrize("word", [2**31, -2**31 - 1])
def test_words_outside_int32_raise_before_writing(table, word):
    table.add(1, [5])
    with pytest.raises(OverflowError):
        table.add(1, [0, word])
    with pytest.raises(OverflowError):
        table.replace(1, [word])
    assert table.find_all(1) == [array.array("i", [5])]
    assert table.check() == []


def test_int32_extremes_round_trip(table):
    for key in (-2**31, 2**31 - 1, 0, -1):
        table.replace(key, [-2**31, 2**31 - 1])
        assert table[key].tolist() == [-2**31, 2**31 - 1]


def test_bad_types(table):
    with pytest.raises(TypeError):
        table.add("1", [1])
    with pytest.raises(TypeError):
        table.add(1, [1.5])
    with pytest.raises(TypeError):
        table.add(1.0, [1])
    with pytest.raises(TypeError):
        table[1.0]


def test_open_arguments(name, tmp_path):
    with pytest.raises(netshm.NotFound):
        netshm.open(name)
    with pytest.raises(ValueError):
        netshm.open(name, create=True, locking="fcntl")
    for arguments in ({"pagesize": -256}, {"mode": 2**32}, {"init": 2**63}):
        with pytest.raises(OverflowError):
            netshm.open(name, create=True, **arguments)
    with pytest.raises(netshm.NotFound):  # nothing was created
        netshm.open(name)
    with netshm.open(name, create=True, pagesize=512, init=10) as t:
        t.add(1, [1])
        assert t.stats()["pagesize"] == 512
    with pytest.raises(netshm.InvalidArgument) as caught:
        netshm.open(name, pagesize=1024)
    assert caught.value.code == -4 and "512" in str(caught.value)
    with netshm.open(name, init=0) as t:  # re-initialised: empty
        assert len(t) == 0
    path = tmp_path / "table"
    with netshm.open(str(path), create=True) as t:
        t.add(1, [1])
    assert path.stat().st_size > 0
    with netshm.open(path) as t:  # a path-like file name
        assert t[1].tolist() == [1]


def test_readonly(name):
    with netshm.open(name, create=True) as t:
        t.add(1, [1])
    with netshm.open(name, readonly=True) as t:
        assert t[1].tolist() == [1]
        with pytest.raises(netshm.ReadOnly) as caught:
            t.add(2, [2])
        assert caught.value.code == -14


def test_mutex_locking_and_busy(name):
    with netshm.open(name, create=True, locking="mutex") as t:
        t.add(1, [1])
        with t.group(write=True):
            t.replace(1, [2])
        assert t[1].tolist() == [2]
        with pytest.raises(netshm.Busy):
            netshm.open(name, locking="record")


def test_lockfile(name, tmp_path):
    lock = tmp_path / "lock"
    with netshm.open(name, create=True, lockfile=lock) as t:
        t.add(1, [1])
    assert lock.exists()
    netshm.unlink(name, lockfile=lock)
    assert not lock.exists()


def test_system_errors_are_oserrors(tmp_path):
    with pytest.raises(netshm.SysError) as caught:
        netshm.open(str(tmp_path))  # a directory, opened for writing
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.EISDIR
    assert caught.value.code == -5 and "EISDIR" in str(caught.value)


def test_error_classes():
    codes = {cls.code: cls for cls in (
        netshm.NotFound, netshm.Corrupt, netshm.Deadlock, netshm.InvalidArgument,
        netshm.SysError, netshm.NoMemory, netshm.SelfLocked, netshm.Closed,
        netshm.NotSupported, netshm.Exists, netshm.TooBig, netshm.Forked, netshm.Busy,
        netshm.ReadOnly, netshm.Timeout)}
    assert sorted(codes) == list(range(-15, 0))
    assert all(issubclass(cls, netshm.Error) for cls in codes.values())
    assert issubclass(netshm.NotFound, KeyError) and issubclass(netshm.SysError, OSError)


def test_corrupt_file(tmp_path):
    path = tmp_path / "table"
    with netshm.open(str(path), create=True) as t:
        t.add(1, [1])
    with open(path, "r+b") as f:
        f.seek(256 + 4)  # the descriptor page's page count
        f.write((10**6).to_bytes(4, "little"))
    with pytest.raises(netshm.Corrupt) as caught:
        netshm.open(str(path))
    assert caught.value.code == -2 and caught.value.message


def test_check_reports_problems(tmp_path):
    path = tmp_path / "table"
    with netshm.open(str(path), create=True) as t:
        t.add(1, [1])
        with open(path, "r+b") as f:
            f.seek(256 * 2 + 16 * 4 - 4)  # the first hash page: a spare word of a cell
            f.write((1).to_bytes(4, "little"))
        problems = t.check()
    assert problems and all(isinstance(p, netshm.Problem) and p.message for p in problems)


def test_closed_table(name):
    t = netshm.open(name, create=True)
    t.close()
    t.close()
    assert t.closed
    with pytest.raises(ValueError):
        t.add(1, [1])
    with pytest.raises(ValueError):
        t.get(1)


def test_help_shows_docstrings():
    assert "int32" in netshm.__doc__
    for function in (netshm.open, netshm.unlink, netshm.Table.find_many, netshm.Table.group,
                     netshm.Table.add, netshm.Table.check):
        assert function.__doc__
    assert netshm.version().count(".") == 2


def test_find_many(table):
    if netshm._table.C["netshm_find_many"] is None:
        pytest.skip("this libnetshm has no netshm_find_many yet (branch i18-find-many)")
    table.add(1, [1])
    table.add(2, range(500))
    table.add(2, [2, 2])
    assert table.find_many([]) == []
    got = table.find_many([2, 3, 1, 2])
    assert got == [array.array("i", [2, 2]), None, array.array("i", [1]),
                   array.array("i", [2, 2])]
    keys = list(range(-100, 1000))
    for key in range(0, 1000, 3):
        table.replace(key, range(key % 40))
    expected = [table.get(key) for key in keys]
    assert table.find_many(keys) == expected
    assert table.find_many(array.array("i", keys)) == expected
    with pytest.raises(OverflowError):
        table.find_many([1, 2**31])


def test_lock_timeout(name):
    if netshm._table.C["netshm_set_lock_timeout"] is None:
        pytest.skip("this libnetshm has no netshm_set_lock_timeout yet (branch i17-timeouts)")
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    with netshm.open(name, create=True, lock_timeout=0.2) as t:
        assert t.lock_timeout == 0.2
        started, release = context.Event(), context.Event()
        holder = context.Process(target=_hold_write_group, args=(name, started, release))
        holder.start()
        try:
            assert started.wait(30)
            with pytest.raises(netshm.Timeout) as caught:
                t.add(1, [1])  # the default the table inherited from open
            assert caught.value.code == -15
            t.lock_timeout = 0.1
            with pytest.raises(netshm.Timeout):
                t[1]
        finally:
            release.set()
            holder.join(30)
        t.lock_timeout = None
        assert t.lock_timeout is None
        t.add(1, [1])
        assert t[1].tolist() == [1]
    with pytest.raises(OverflowError):
        netshm.open(name, lock_timeout=-1)


def _hold_write_group(name, started, release):
    with netshm.open(name) as t, t.group(write=True):
        started.set()
        release.wait(30)
