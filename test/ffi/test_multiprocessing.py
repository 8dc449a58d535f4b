"""Many Python processes on one table through ctypes (issue 4, "From Python").

Usage: test_multiprocessing.py PATH/TO/libnetshm.so.1 (meson passes the built library).

multiprocessing workers, started with 'fork' and with 'spawn', each load the library, open
their own descriptor and increment shared counters with netshm_group_write: the totals must
be exact. With 'fork' the parent keeps its own table open and increments too while the
children run, so the children inherit its lock state and must not use it. A table handle
inherited across fork must give NETSHM_EFORKED in the child, without disturbing the parent's
locks. Standard library only; every wait is bounded.
"""

import ctypes
import errno
import fcntl
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
import time
import traceback
import unittest

NETSHM_ENOTFOUND = -1
NETSHM_EFORKED = -12
NETSHM_TYPE_FILE = 1
NETSHM_RECORD_LOCKING = 1
PAGESIZE = 256
DESCRIPTOR_LOCK_OFFSET = 1 * PAGESIZE // 4  # page 1's lock byte: page x words per page

KEYS = 8
WORKERS = 4
INCREMENTS = 2000
EXTRA_EVERY = 10
USER_ERROR = -100  # a callback's own failure (the library's codes are -1..-99)
WAIT = 60  # seconds: the bound of every wait


class Descr(ctypes.Structure):
    """The opaque netshm_descr."""


class Table(ctypes.Structure):
    """The opaque netshm_table."""


DescrPtr = ctypes.POINTER(Descr)
TablePtr = ctypes.POINTER(Table)
GroupFn = ctypes.CFUNCTYPE(ctypes.c_int, TablePtr, ctypes.c_void_p)
Int32Ptr = ctypes.POINTER(ctypes.c_int32)
SizePtr = ctypes.POINTER(ctypes.c_size_t)


def load(path):
    lib = ctypes.CDLL(path, use_errno=True)
    signatures = {
        "netshm_strerror": (ctypes.c_char_p, [ctypes.c_int]),
        "netshm_last_error": (ctypes.c_char_p, []),
        "netshm_open": (ctypes.c_int, [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                       ctypes.c_uint, ctypes.POINTER(DescrPtr)]),
        "netshm_close": (ctypes.c_int, [DescrPtr]),
        "netshm_manage": (ctypes.c_int, [DescrPtr, ctypes.c_int, ctypes.c_uint,
                                         ctypes.c_longlong, ctypes.POINTER(TablePtr)]),
        "netshm_table_close": (ctypes.c_int, [TablePtr]),
        "netshm_group": (ctypes.c_int, [TablePtr, GroupFn, ctypes.c_void_p]),
        "netshm_group_write": (ctypes.c_int, [TablePtr, GroupFn, ctypes.c_void_p]),
        "netshm_group_begin": (ctypes.c_int, [TablePtr]),
        "netshm_group_begin_write": (ctypes.c_int, [TablePtr]),
        "netshm_group_end": (ctypes.c_int, [TablePtr]),
        "netshm_add": (ctypes.c_int, [TablePtr, ctypes.c_int32, Int32Ptr, ctypes.c_size_t]),
        "netshm_replace": (ctypes.c_int, [TablePtr, ctypes.c_int32, Int32Ptr, ctypes.c_size_t]),
        "netshm_remove": (ctypes.c_int, [TablePtr, ctypes.c_int32]),
        "netshm_mem": (ctypes.c_int, [TablePtr, ctypes.c_int32]),
        "netshm_find": (ctypes.c_int, [TablePtr, ctypes.c_int32, ctypes.POINTER(Int32Ptr), SizePtr]),
        "netshm_find_into": (ctypes.c_int, [TablePtr, ctypes.c_int32, Int32Ptr, ctypes.c_size_t,
                                            SizePtr]),
        "netshm_free": (None, [ctypes.c_void_p]),
        "netshm_length": (ctypes.c_int, [TablePtr, SizePtr]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class NetshmError(Exception):
    def __init__(self, lib, what, rc):
        super().__init__("%s: %s (%d): %s" % (what, lib.netshm_strerror(rc).decode(), rc,
                                              lib.netshm_last_error().decode()))
        self.rc = rc


def check(lib, what, rc):
    if rc < 0:
        raise NetshmError(lib, what, rc)
    return rc


def open_table(lib, path, create=False):
    descr = DescrPtr()
    flags = os.O_RDWR | (os.O_CREAT if create else 0)
    check(lib, "netshm_open " + path, lib.netshm_open(NETSHM_TYPE_FILE, path.encode(), flags, 0o600,
                                                      ctypes.byref(descr)))
    table = TablePtr()
    check(lib, "netshm_manage " + path, lib.netshm_manage(descr, NETSHM_RECORD_LOCKING, PAGESIZE,
                                                          0 if create else -1, ctypes.byref(table)))
    return descr, table


def close_table(lib, descr, table):
    check(lib, "netshm_table_close", lib.netshm_table_close(table))
    check(lib, "netshm_close", lib.netshm_close(descr))


def words(values):
    return (ctypes.c_int32 * max(1, len(values)))(*values)


def counter_value(count):
    """A counter of count c is bound to 1 + c mod 37 words, all equal to c."""
    return [count] * (1 + count % 37)


def find(lib, table, key):
    """The newest binding of key as a list, or None when unbound."""
    value, length = Int32Ptr(), ctypes.c_size_t()
    rc = lib.netshm_find(table, key, ctypes.byref(value), ctypes.byref(length))
    if rc == NETSHM_ENOTFOUND:
        return None
    check(lib, "netshm_find %d" % key, rc)
    try:
        return value[:length.value]
    finally:
        lib.netshm_free(value)


def counter_key(worker, i):
    return (5 * i + 3 * worker) % KEYS


def extra_key(worker, i):
    return 1000000 + 10000 * worker + i


def increment(lib, table, worker, i):
    """One group_write { find; replace (c + 1) } of the counter of (worker, i), adding the
    worker's extra key every EXTRA_EVERY-th time (the table grows meanwhile)."""
    key = counter_key(worker, i)
    failure = []

    def body(tbl, _ctx):
        try:
            buf, length = (ctypes.c_int32 * 64)(), ctypes.c_size_t()
            rc = lib.netshm_find_into(tbl, key, buf, 64, ctypes.byref(length))
            if rc < 0:
                return rc
            value = buf[:length.value]
            if not value or value != counter_value(value[0]):
                failure.append("counter %d holds a torn value %s" % (key, value[:8]))
                return USER_ERROR
            new = counter_value(value[0] + 1)
            rc = lib.netshm_replace(tbl, key, words(new), len(new))
            if rc < 0 or i % EXTRA_EVERY:
                return rc
            return lib.netshm_add(tbl, extra_key(worker, i), words([worker, i]), 2)
        except BaseException:  # an exception must not cross the C frames
            failure.append(traceback.format_exc())
            return USER_ERROR

    rc = lib.netshm_group_write(table, GroupFn(body), None)
    if failure:
        raise AssertionError("worker %d, increment %d: %s" % (worker, i, failure[0]))
    check(lib, "netshm_group_write (worker %d, increment %d)" % (worker, i), rc)


def increment_worker(lib_path, path, worker, start, results):
    """A multiprocessing worker: its own library handle and descriptor, INCREMENTS
    increments once every worker and the parent are at the start barrier; reports to the
    results queue."""
    signal.alarm(WAIT)
    try:
        lib = load(lib_path)
        descr, table = open_table(lib, path)
        start.wait()
        for i in range(INCREMENTS):
            increment(lib, table, worker, i)
        close_table(lib, descr, table)
        results.put((worker, None))
    except BaseException:
        start.abort()
        results.put((worker, "pid %d: %s" % (os.getpid(), traceback.format_exc())))


def descriptor_lock_is_free(path):
    """Whether this process could take the descriptor page's write lock right now (a
    non-blocking probe; a lock taken is released at once). Closing the probe's descriptor
    drops every fcntl lock of this process on the file: only for processes holding none."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, DESCRIPTOR_LOCK_OFFSET, os.SEEK_SET)
        return True
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EAGAIN):
            raise
        return False
    finally:
        os.close(fd)


def descriptor_lock_is_free_for_others(path):
    """descriptor_lock_is_free as seen from a new process (fcntl locks never exclude their
    own process, and the probe must not drop this process's locks)."""
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            code = 0 if descriptor_lock_is_free(path) else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            if code not in (0, 1):
                raise AssertionError("the lock probe process failed with %d" % code)
            return code == 0
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the lock probe process hung")


def inherited_handle_child(lib_path, path, descr_address, table_address, parent_in_group, results):
    """A forked child given the parent's handles (addresses valid in the fork's copy of the
    address space): every use of them must be refused with NETSHM_EFORKED."""
    signal.alarm(WAIT)
    try:
        lib = load(lib_path)
        descr = ctypes.cast(ctypes.c_void_p(descr_address), DescrPtr)
        table = ctypes.cast(ctypes.c_void_p(table_address), TablePtr)
        called = []

        def body(_tbl, _ctx):
            called.append(True)
            return 0

        buf, length = (ctypes.c_int32 * 8)(), ctypes.c_size_t()
        value = Int32Ptr()
        new_table = TablePtr()
        got = {
            "netshm_find_into": lib.netshm_find_into(table, 1, buf, 8, ctypes.byref(length)),
            "netshm_find": lib.netshm_find(table, 1, ctypes.byref(value), ctypes.byref(length)),
            "netshm_mem": lib.netshm_mem(table, 1),
            "netshm_length": lib.netshm_length(table, ctypes.byref(length)),
            "netshm_add": lib.netshm_add(table, 2, words([2]), 1),
            "netshm_replace": lib.netshm_replace(table, 1, words([9]), 1),
            "netshm_remove": lib.netshm_remove(table, 1),
            "netshm_group_write": lib.netshm_group_write(table, GroupFn(body), None),
            "netshm_group": lib.netshm_group(table, GroupFn(body), None),
            "netshm_group_begin": lib.netshm_group_begin(table),
            "netshm_group_begin_write": lib.netshm_group_begin_write(table),
            "netshm_group_end": lib.netshm_group_end(table),
            "netshm_manage (inherited descriptor)": lib.netshm_manage(
                descr, NETSHM_RECORD_LOCKING, 0, -1, ctypes.byref(new_table)),
        }
        wrong = {f: rc for f, rc in got.items() if rc != NETSHM_EFORKED}
        if called:
            wrong["group callback"] = "called in the child"
        if wrong:
            raise AssertionError("expected NETSHM_EFORKED (%d) from every use of an inherited "
                                 "handle, got %s" % (NETSHM_EFORKED, wrong))
        message = lib.netshm_last_error().decode()
        if "fork" not in message:
            raise AssertionError("last error after NETSHM_EFORKED: %r" % message)
        if parent_in_group and descriptor_lock_is_free(path):
            raise AssertionError("the parent's write group lock is not held in the child's view")
        # Releasing inherited handles is allowed and must leave the parent's locks alone.
        check(lib, "netshm_table_close (inherited)", lib.netshm_table_close(table))
        check(lib, "netshm_close (inherited)", lib.netshm_close(descr))
        if parent_in_group and descriptor_lock_is_free(path):
            raise AssertionError("closing inherited handles in the child freed the parent's lock")
        results.put((0, None))
    except BaseException:
        results.put((0, "pid %d: %s" % (os.getpid(), traceback.format_exc())))


def fresh_reader_child(lib_path, path, results):
    """A forked child opening its own descriptor while the parent is in a write group: its
    find must wait for the parent's group to end and see what the group wrote."""
    signal.alarm(WAIT)
    try:
        lib = load(lib_path)
        descr, table = open_table(lib, path)
        value = find(lib, table, 1)
        close_table(lib, descr, table)
        results.put((0, value))
    except BaseException:
        results.put((0, "pid %d: %s" % (os.getpid(), traceback.format_exc())))


class MultiprocessingTest(unittest.TestCase):
    lib_path = None  # set by main()

    def setUp(self):
        self.lib = load(self.lib_path)
        folder = tempfile.TemporaryDirectory(prefix="netshm-mp-")
        self.addCleanup(folder.cleanup)
        self.path = os.path.join(folder.name, "table")

    def start(self, ctx, target, *args):
        process = ctx.Process(target=target, args=args)
        process.start()
        self.addCleanup(self.reap, process)
        return process

    @staticmethod
    def reap(process):
        process.join(WAIT)
        if process.is_alive():
            process.kill()
            process.join()

    def collect(self, results, processes):
        """Every process's report (a failure message fails the test) once all exited."""
        reports = {}
        deadline = time.monotonic() + WAIT
        for _ in processes:
            try:
                who, report = results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.fail("only %d of %d processes reported within %d s (exit codes %s)"
                          % (len(reports), len(processes), WAIT, [p.exitcode for p in processes]))
            reports[who] = report
        for p in processes:
            p.join(max(0.1, deadline - time.monotonic()))
            self.assertEqual(p.exitcode, 0, "process %d" % p.pid)
        return reports

    def run_workers(self, method, parent_increments):
        ctx = multiprocessing.get_context(method)
        descr, table = open_table(self.lib, self.path, create=True)
        for key in range(KEYS):
            value = counter_value(0)
            check(self.lib, "netshm_replace", self.lib.netshm_replace(table, key, words(value), len(value)))
        start, results = ctx.Barrier(WORKERS + 1, timeout=WAIT), ctx.Queue()
        workers = [self.start(ctx, increment_worker, self.lib_path, self.path, w, start, results)
                   for w in range(1, WORKERS + 1)]
        try:
            start.wait()
        except threading.BrokenBarrierError:
            parent_increments = 0  # a worker failed: its report says why
        began = time.monotonic()
        # The parent, worker 0, increments meanwhile; with 'fork' its children inherited
        # its handle and lock state.
        for i in range(parent_increments):
            increment(self.lib, table, 0, i)
        reports = self.collect(results, workers)
        seconds = time.monotonic() - began
        failed = {w: r for w, r in reports.items() if r is not None}
        if failed:
            self.fail("\n".join("worker %d failed:\n%s" % (w, r) for w, r in failed.items()))

        expected = {key: 0 for key in range(KEYS)}
        extras = {}
        for worker, n in [(0, parent_increments)] + [(w, INCREMENTS) for w in range(1, WORKERS + 1)]:
            for i in range(n):
                expected[counter_key(worker, i)] += 1
                if i % EXTRA_EVERY == 0:
                    extras[extra_key(worker, i)] = [worker, i]
        wrong = []
        for key, count in expected.items():
            got = find(self.lib, table, key)
            if got != counter_value(count):
                wrong.append("counter %d: expected %d, got %s" % (
                    key, count, None if got is None else "%d words %s" % (len(got), got[:4])))
        for key, value in extras.items():
            got = find(self.lib, table, key)
            if got != value:
                wrong.append("added key %d: expected %s, got %s" % (key, value, got))
        length = ctypes.c_size_t()
        check(self.lib, "netshm_length", self.lib.netshm_length(table, ctypes.byref(length)))
        if length.value != KEYS + len(extras):
            wrong.append("length %d, expected %d" % (length.value, KEYS + len(extras)))
        close_table(self.lib, descr, table)
        total = WORKERS * INCREMENTS + parent_increments
        if wrong:
            self.fail("after %d increments by %d '%s' workers and the parent:\n  %s"
                      % (total, WORKERS, method, "\n  ".join(wrong[:20])))
        print("\n  %s: %d workers x %d + parent %d = %d increments in %.2f s, exact"
              % (method, WORKERS, INCREMENTS, parent_increments, total, seconds), file=sys.stderr)

    def test_fork_workers_exact_totals(self):
        self.run_workers("fork", parent_increments=INCREMENTS)

    def test_spawn_workers_exact_totals(self):
        self.run_workers("spawn", parent_increments=INCREMENTS)

    def inherited(self, in_group):
        ctx = multiprocessing.get_context("fork")
        descr, table = open_table(self.lib, self.path, create=True)
        check(self.lib, "netshm_add", self.lib.netshm_add(table, 1, words([1]), 1))
        if in_group:
            check(self.lib, "netshm_group_begin_write", self.lib.netshm_group_begin_write(table))
        results = ctx.Queue()
        child = self.start(ctx, inherited_handle_child, self.lib_path, self.path,
                           ctypes.cast(descr, ctypes.c_void_p).value,
                           ctypes.cast(table, ctypes.c_void_p).value, in_group, results)
        report = self.collect(results, [child])[0]
        self.assertIsNone(report, "inherited handles in a forked child:\n%s" % report)
        # The parent's handles and locks are as they were.
        if in_group:
            self.assertFalse(descriptor_lock_is_free_for_others(self.path),
                             "the parent lost its group's lock")
            check(self.lib, "netshm_replace", self.lib.netshm_replace(table, 1, words([2]), 1))
            check(self.lib, "netshm_group_end", self.lib.netshm_group_end(table))
        self.assertTrue(descriptor_lock_is_free_for_others(self.path), "a lock is left held")
        self.assertEqual(find(self.lib, table, 1), [2] if in_group else [1])
        close_table(self.lib, descr, table)

    def test_inherited_handles_refused(self):
        self.inherited(in_group=False)

    def test_inherited_handles_refused_inside_write_group(self):
        self.inherited(in_group=True)

    def test_fork_during_write_group_child_waits(self):
        """A child forked while the parent holds a write group opens its own descriptor:
        it must not believe it holds the parent's locks, so it waits for the group."""
        ctx = multiprocessing.get_context("fork")
        descr, table = open_table(self.lib, self.path, create=True)
        check(self.lib, "netshm_add", self.lib.netshm_add(table, 1, words([1]), 1))
        check(self.lib, "netshm_group_begin_write", self.lib.netshm_group_begin_write(table))
        results = ctx.Queue()
        child = self.start(ctx, fresh_reader_child, self.lib_path, self.path, results)
        time.sleep(0.3)  # the child is now blocked on the descriptor lock (or wrongly done)
        check(self.lib, "netshm_replace", self.lib.netshm_replace(table, 1, words([2] * 100), 100))
        check(self.lib, "netshm_group_end", self.lib.netshm_group_end(table))
        value = self.collect(results, [child])[0]
        self.assertEqual(value, [2] * 100, "the child read %r, not the group's value" % (value,))
        close_table(self.lib, descr, table)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    MultiprocessingTest.lib_path = os.path.abspath(sys.argv[1])
    unittest.main(argv=sys.argv[:1], verbosity=2)


if __name__ == "__main__":
    main()
