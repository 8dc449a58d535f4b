"""The Table class, netshm.open and netshm.unlink."""

import array
import collections
import ctypes
import operator
import os
import struct
from ctypes import byref, c_size_t, c_void_p

from . import _values
from ._errors import NotFound, NotSupported, error_for
from ._library import C, ITER_FN, KEY_FN, PROBLEM_FN, VALUE_FN, Found, RepairReport, Stats

OK, ENOTFOUND, ETOOBIG = 0, -1, -11
TYPE_FILE, TYPE_POSIX = 1, 2
LOCKING = {"none": 0, "record": 1, "mutex": 2}

# Answers of find_blocks / write_blocks callbacks (None also means CONTINUE).
CONTINUE, NEXT, BREAK, REMOVE_BINDING = 0, 1, 2, 3

# What a Python callback answers the library when it raised: any negative value stops
# the operation, which releases its locks and returns it; the exception is then re-raised.
_RAISED = -0x40000000

Problem = collections.namedtuple("Problem", "kind page message")
Problem.__doc__ = "One problem netshm_check found: kind (netshm_problem_kind), page (-1: the object), message."

_UNBOUND = object()
_SIZE_T = next(code for code in "LQI" if array.array(code).itemsize == ctypes.sizeof(c_size_t))
_FOUND = struct.Struct("NNi%dx" % (ctypes.sizeof(Found) - struct.calcsize("NNi")))


def _fail(rc):
    message = (C["netshm_last_error"]() or b"").decode("utf-8", "replace")
    raise error_for(rc, message or C["netshm_strerror"](rc).decode(), C["netshm_last_errno"]())


def _check(rc):
    if rc < 0:
        _fail(rc)
    return rc


def _optional(name):
    function = C[name]
    if function is None:
        raise NotSupported("this libnetshm has no %s (a newer one does)" % name, -9)
    return function


class _Callback:
    """A Python function made a C callback: an exception it raises stops the operation
    and is kept, to be raised again once the library has returned (locks released)."""

    def __init__(self, prototype, function):
        self.exception = None

        def trampoline(*args):
            try:
                return function(*args)
            except BaseException as e:  # re-raised by _run, after the library returned
                self.exception = e
                return _RAISED

        self.c_function = prototype(trampoline)


def _run(prototype, function, c_entry, *leading):
    """c_entry(*leading, callback, NULL) with function as the callback; its exception,
    if it raised one, is raised here."""
    callback = _Callback(prototype, function)
    rc = c_entry(*leading, callback.c_function, None)
    if callback.exception is not None:
        raise callback.exception
    return _check(rc)


def _fragment(pointer, length, writable):
    """A fragment handed to a block callback as a memoryview of int32 (None at the end of
    a binding); valid during the callback only."""
    if not pointer:
        return None
    view = memoryview((ctypes.c_int32 * length).from_address(ctypes.addressof(pointer.contents)))
    view = view.cast("B").cast("i")
    return view if writable else view.toreadonly()


def _lookup_buffers(cap=64):
    """(words, words_arg, cap_arg, length, length_arg): a buffer for one value and its
    length, built once and reused by every lookup that takes it from the table's pool."""
    words = array.array("i", bytes(4 * cap))
    length = array.array(_SIZE_T, [0])
    return (words, c_void_p(words.buffer_info()[0]), c_size_t(cap), length,
            c_void_p(length.buffer_info()[0]))


def _make_get(handle, pool):
    """Table.get, made a closure over everything it uses: a lookup costs one ctypes call,
    the array returned and little else.  Each call takes its buffers from pool (threads
    never share them) and puts them back; a failing call drops them."""
    find_into = C["netshm_find_into"]
    pop, push = pool.pop, pool.append

    def get(key, default=None):
        if type(key) is not int or not -0x80000000 <= key <= 0x7FFFFFFF:
            key = _values.key(key)
        try:
            buffers = pop()
        except IndexError:
            buffers = _lookup_buffers()
        words, words_arg, cap_arg, length, length_arg = buffers
        rc = find_into(handle, key, words_arg, cap_arg, length_arg)
        if rc == OK:
            push(buffers)
            return words[:length[0]]
        if rc == ENOTFOUND:
            push(buffers)
            return default
        if rc == ETOOBIG:
            push(_lookup_buffers(length[0]))
            return get(key, default)
        _fail(rc)

    get.__doc__ = Table.get.__doc__
    return get


def _find_many_buffers(n, words_cap=64 * 8):
    """(found, found_view, n) + _lookup_buffers: netshm_found[n], a byte view of it, and
    room for the values, reused as _lookup_buffers are."""
    found = (Found * n)()
    return (found, memoryview(found).cast("B"), n) + _lookup_buffers(words_cap)


class Table:
    """A hash table in shared memory: int32 keys bound to arrays of int32 words, several
    bindings per key (the newest hides the older ones).  Made by netshm.open(); a context
    manager that closes it.  Values come back as array('i')."""

    def __init__(self, descr, table, name):
        self._descr, self._table = descr, table
        self._handle = c_void_p(table)
        self._pool, self._many_pool = [], []
        self.get = _make_get(self._handle, self._pool)
        self._lock_timeout = None
        self.name = name

    # ------------------------------------------------------------------ lifetime
    def close(self):
        """Closes the table and its object (which stays; see netshm.unlink)."""
        if self._table is None:
            return
        _check(C["netshm_table_close"](self._table))
        self._table = None
        self._handle.value = None  # a lookup on a closed table gets InvalidArgument
        descr, self._descr = self._descr, None
        _check(C["netshm_close"](descr))

    @property
    def closed(self):
        return self._table is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_table", None) is not None:
            C["netshm_table_close"](self._table)
            C["netshm_close"](self._descr)

    def __repr__(self):
        return "<netshm.Table %r%s>" % (self.name, " closed" if self.closed else "")

    def _live(self):
        if self._table is None:
            raise ValueError("operation on a closed netshm table")
        return self._handle

    # ------------------------------------------------------------------ writes
    def add(self, key, value):
        """Adds a binding of key to value (an iterable of ints or an int32 buffer); older
        bindings of key stay, hidden."""
        key, words = _values.key(key), _values.words(value)
        _check(C["netshm_add"](self._live(), key, words.buffer_info()[0], len(words)))

    def replace(self, key, value):
        """Replaces the newest binding of key (adds one if key is unbound)."""
        key, words = _values.key(key), _values.words(value)
        _check(C["netshm_replace"](self._live(), key, words.buffer_info()[0], len(words)))

    def remove(self, key):
        """Removes the newest binding of key, as Netshm.remove: nothing when unbound."""
        _check(C["netshm_remove"](self._live(), _values.key(key)))

    def __setitem__(self, key, value):
        self.replace(key, value)

    def __delitem__(self, key):
        """Removes the newest binding of key; KeyError (NotFound) when key is unbound."""
        key = _values.key(key)
        with self.group(write=True):
            if not _check(C["netshm_mem"](self._live(), key)):
                raise NotFound("key %d is unbound" % key)
            self.remove(key)

    # ------------------------------------------------------------------ reads
    def __getitem__(self, key):
        """The newest binding of key as array('i'); KeyError (NotFound) when unbound."""
        value = self.get(key, _UNBOUND)
        if value is _UNBOUND:
            raise NotFound("key %d is unbound" % key)
        return value

    def get(self, key, default=None):
        """The newest binding of key as array('i'), or default."""
        return self.get(key, default)  # replaced per table by _make_get's closure

    def __contains__(self, key):
        return bool(_check(C["netshm_mem"](self._live(), _values.key(key))))

    def find_all(self, key):
        """Every binding of key as array('i'), newest first; [] when unbound."""
        found = []

        def collect(pointer, length, _ctx):
            found.append(array.array("i", ctypes.string_at(pointer, 4 * length)))
            return 0

        _run(VALUE_FN, collect, C["netshm_find_all"], self._live(), _values.key(key))
        return found

    def find_many(self, keys):
        """The newest binding of each key (array('i')), or None for an unbound key, in the
        order of keys (an iterable of ints or an int32 buffer); one library call, each
        chunk it reads one snapshot.  Batches of 64 keys are several times faster per key
        than get()."""
        find_many = _optional("netshm_find_many")
        keys = _values.words(keys)
        n = len(keys)
        handle = self._live()
        try:
            buffers = self._many_pool.pop()
        except IndexError:
            buffers = _find_many_buffers(max(n, 64))
        if n > buffers[2]:
            buffers = _find_many_buffers(n, buffers[5].value)
        found, found_view, _, words, words_arg, cap_arg, needed, needed_arg = buffers
        keys_arg, n_arg = c_void_p(keys.buffer_info()[0]), c_size_t(n)
        rc = find_many(handle, keys_arg, n_arg, found, words_arg, cap_arg, needed_arg)
        if rc == ETOOBIG:
            buffers = _find_many_buffers(buffers[2], needed[0])
            found, found_view, _, words, words_arg, cap_arg, needed, needed_arg = buffers
            rc = find_many(handle, keys_arg, n_arg, found, words_arg, cap_arg, needed_arg)
        _check(rc)
        values = [words[offset:offset + length] if result == OK else None
                  for offset, length, result in _FOUND.iter_unpack(found_view[:n * _FOUND.size])]
        self._many_pool.append(buffers)
        return values

    def __len__(self):
        """The number of bindings (several bindings of one key count several times)."""
        n = c_size_t()
        _check(C["netshm_length"](self._live(), byref(n)))
        return n.value

    def keys(self):
        """The bound keys (each once), in no particular order."""
        found = []

        def collect(key, _ctx):
            found.append(key)
            return 0

        _run(KEY_FN, collect, C["netshm_iter_keys"], self._live())
        return found

    def __iter__(self):
        return iter(self.keys())

    def items(self):
        """Every binding as (key, array('i')), a key's bindings newest first."""
        found = []
        self.iter(lambda key, value: found.append((key, value)))
        return found

    def iter(self, function):
        """Calls function(key, array('i')) for every binding, a key's bindings newest first,
        with the table read-locked (modifying it from function raises SelfLocked).  An
        exception function raises stops the walk and reaches you with the locks released."""

        def call(key, pointer, length, _ctx):
            function(key, array.array("i", ctypes.string_at(pointer, 4 * length)))
            return 0

        _run(ITER_FN, call, C["netshm_iter"], self._live())

    def find_blocks(self, key, function):
        """Visits the bindings of key, newest first, fragment by fragment:
        function(memoryview of int32), then function(None) at the end of each binding.
        It answers None or CONTINUE, NEXT (skip to the next binding) or BREAK.  Fragments
        are read-only views into the shared memory, valid during the call only."""

        def call(pointer, length, _ctx):
            answer = function(_fragment(pointer, length, writable=False))
            return CONTINUE if answer is None else answer

        _run(VALUE_FN, call, C["netshm_find_blocks"], self._live(), _values.key(key))

    def write_blocks(self, key, function, remove=False):
        """As find_blocks, with writable fragments under the write lock; with remove=True
        function may also answer REMOVE_BINDING."""

        def call(pointer, length, _ctx):
            answer = function(_fragment(pointer, length, writable=True))
            return CONTINUE if answer is None else answer

        _run(VALUE_FN, call, C["netshm_write_blocks"], self._live(), 1 if remove else 0,
             _values.key(key))

    # ------------------------------------------------------------------ groups, locks
    def group(self, write=False):
        """A context manager: the operations inside keep their locks until it ends, so no
        other process interferes (not a transaction: nothing is rolled back).  write=True
        takes the write lock up front, so read-modify-write groups of several processes
        wait for each other instead of failing with Deadlock."""
        return _Group(self, write)

    @property
    def lock_timeout(self):
        """Seconds a lock wait may last before Timeout (None: forever, the default)."""
        return self._lock_timeout

    @lock_timeout.setter
    def lock_timeout(self, seconds):
        milliseconds = _milliseconds(seconds)
        _check(_optional("netshm_set_lock_timeout")(self._live(), milliseconds))
        self._lock_timeout = seconds if milliseconds else None

    # ------------------------------------------------------------------ integrity
    def check(self):
        """Verifies the whole table: the list of Problem found, empty when it is sound."""
        problems = []

        def collect(problem, _ctx):
            p = problem.contents
            problems.append(Problem(p.kind, p.page, p.message.decode("utf-8", "replace")))
            return 0

        _run(PROBLEM_FN, collect, C["netshm_check"], self._live())
        return problems

    def stats(self):
        """The table's statistics (netshm_stat) as a dict; Corrupt if check finds a problem."""
        out = Stats(struct_size=ctypes.sizeof(Stats))
        _check(C["netshm_stat"](self._live(), byref(out)))
        return {name: getattr(out, name) for name, _ in Stats._fields_[1:]}

    def repair(self):
        """Rebuilds the index, counters and free list from the content pages; returns what
        it did as a dict (bindings_kept, bindings_dropped, pages_reclaimed)."""
        out = RepairReport(struct_size=ctypes.sizeof(RepairReport))
        _check(C["netshm_repair"](self._live(), byref(out)))
        return {name: getattr(out, name) for name, _ in RepairReport._fields_[1:]}


class _Group:
    def __init__(self, table, write):
        self._table, self._write = table, write

    def __enter__(self):
        begin = C["netshm_group_begin_write" if self._write else "netshm_group_begin"]
        _check(begin(self._table._live()))
        return self._table

    def __exit__(self, exc_type, exc, traceback):
        rc = C["netshm_group_end"](self._table._live())
        if exc_type is None:
            _check(rc)


def _milliseconds(seconds):
    """A lock timeout in seconds (None: forever) as the library's milliseconds (0: forever)."""
    milliseconds = 0 if seconds is None else round(seconds * 1000)
    if not 0 <= milliseconds <= _values.UINT_MAX:
        raise OverflowError("lock timeout %r s is out of range" % seconds)
    return milliseconds


def _kind(name, kind):
    if kind is None:
        return TYPE_POSIX if name.startswith(b"/") and b"/" not in name[1:] else TYPE_FILE
    return {"posix": TYPE_POSIX, "file": TYPE_FILE}[kind]


def open(name, create=False, locking="record", pagesize=0, init=None, readonly=False,
         lockfile=None, mode=0o600, lock_timeout=None, kind=None):
    """Opens (create=True: creates if missing) a table and returns a Table.

    name      "/x" (one leading slash, no other): a POSIX shared-memory object; else a file
              path.  kind="posix" or "file" overrides the guess.
    locking   "record" (fcntl locks, shared with OCamlnet's Netshm), "mutex" (only netshm
              processes; lock-free reads) or "none".
    pagesize  bytes per page for a new table (0: the table's own, 256 for a new one).
    init      None keeps the table; a number re-initialises it (deleting every binding),
              sized for about that many keys.
    readonly  opens the object read-only: writes raise ReadOnly.
    lockfile  a POSIX object's companion lock file, as OCamlnet 4.1.9's POSIX names.
    mode      permission bits of a new object.
    lock_timeout  seconds a lock wait may last before Timeout (None: forever).
    """
    if not isinstance(locking, str) or locking not in LOCKING:
        raise ValueError("locking must be one of %s, not %r" % (", ".join(LOCKING), locking))
    init = -1 if init is None else operator.index(init)
    if init < -1 or init > 0x7FFFFFFFFFFFFFFF:
        raise OverflowError("init %d is out of range" % init)
    for what, value in (("pagesize", pagesize), ("mode", mode)):
        if not 0 <= operator.index(value) <= _values.UINT_MAX:
            raise OverflowError("%s %d is out of range" % (what, value))
    encoded = os.fsencode(name)
    flags = (os.O_RDONLY if readonly else os.O_RDWR) | (os.O_CREAT if create else 0)
    descr, table = c_void_p(), c_void_p()
    if lockfile is None:
        _check(C["netshm_open"](_kind(encoded, kind), encoded, flags, mode, byref(descr)))
    else:
        _check(C["netshm_open_posix_lockfile"](encoded, os.fsencode(lockfile), flags, mode,
                                               byref(descr)))
    try:
        if lock_timeout is not None:
            # Also for manage's own waits; the table inherits it.
            _check(_optional("netshm_descr_set_lock_timeout")(descr, _milliseconds(lock_timeout)))
        _check(C["netshm_manage"](descr, LOCKING[locking], pagesize, init, byref(table)))
    except BaseException:
        C["netshm_close"](descr)
        raise
    result = Table(descr.value, table.value, os.fsdecode(name))
    result._lock_timeout = lock_timeout or None
    return result


def unlink(name, lockfile=None, kind=None):
    """Removes a table's object (and its companion lock file, if given); processes that
    have it open keep using it.  NotFound if it does not exist."""
    encoded = os.fsencode(name)
    if lockfile is None:
        _check(C["netshm_unlink"](_kind(encoded, kind), encoded))
    else:
        _check(C["netshm_unlink_posix_lockfile"](encoded, os.fsencode(lockfile)))
