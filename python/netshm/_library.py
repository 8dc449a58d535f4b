"""Loading libnetshm.so.1 and declaring the C functions the package calls, once."""

import ctypes
import os
from ctypes import POINTER, c_char_p, c_int, c_int32, c_longlong, c_size_t, c_uint, c_void_p

SONAME = "libnetshm.so.1"


def _load():
    """By SONAME first (LD_LIBRARY_PATH, the system's paths), then from the libdir the
    package was installed with."""
    try:
        return ctypes.CDLL(SONAME)
    except OSError as by_soname:
        try:
            from . import _install_paths
        except ImportError:
            raise ImportError("netshm: cannot load %s (%s); set LD_LIBRARY_PATH to its folder"
                              % (SONAME, by_soname)) from None
        path = os.path.join(_install_paths.LIBDIR, SONAME)
        try:
            return ctypes.CDLL(path)
        except OSError as by_path:
            raise ImportError("netshm: cannot load %s (%s) nor %s (%s)"
                              % (SONAME, by_soname, path, by_path)) from None


class Found(ctypes.Structure):
    """netshm_found: where find_many put one key's value."""
    _fields_ = [("offset", c_size_t), ("len", c_size_t), ("rc", c_int)]


class Problem(ctypes.Structure):
    _fields_ = [("kind", c_int), ("page", c_int32), ("message", c_char_p)]


class Stats(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("pagesize", ctypes.c_uint32)] + [
        (name, ctypes.c_uint64) for name in (
            "object_bytes", "total_pages", "free_pages", "hash_pages", "content_pages",
            "extents", "hash_cells", "claimed_cells", "bindings", "distinct_keys",
            "value_bytes", "longest_probe")]


class RepairReport(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32)] + [
        (name, ctypes.c_uint64) for name in (
            "bindings_kept", "bindings_dropped", "pages_reclaimed")]


VALUE_FN = ctypes.CFUNCTYPE(c_int, POINTER(c_int32), c_size_t, c_void_p)
ITER_FN = ctypes.CFUNCTYPE(c_int, c_int32, POINTER(c_int32), c_size_t, c_void_p)
KEY_FN = ctypes.CFUNCTYPE(c_int, c_int32, c_void_p)
PROBLEM_FN = ctypes.CFUNCTYPE(c_int, POINTER(Problem), c_void_p)

lib = _load()

# (name, restype, argtypes).  The hot functions (find_into, find_many, mem) are called
# through ctypes objects built once per table, so their argtypes stay unset: ctypes
# then passes the prepared objects without converting them on every call.
_PROTOTYPES = [
    ("netshm_strerror", c_char_p, [c_int]),
    ("netshm_last_error", c_char_p, []),
    ("netshm_last_errno", c_int, []),
    ("netshm_version", c_char_p, []),
    ("netshm_open", c_int, [c_int, c_char_p, c_int, c_uint, POINTER(c_void_p)]),
    ("netshm_open_posix_lockfile", c_int, [c_char_p, c_char_p, c_int, c_uint, POINTER(c_void_p)]),
    ("netshm_unlink_posix_lockfile", c_int, [c_char_p, c_char_p]),
    ("netshm_close", c_int, [c_void_p]),
    ("netshm_unlink", c_int, [c_int, c_char_p]),
    ("netshm_manage", c_int, [c_void_p, c_int, c_uint, c_longlong, POINTER(c_void_p)]),
    ("netshm_table_close", c_int, [c_void_p]),
    ("netshm_group_begin", c_int, [c_void_p]),
    ("netshm_group_begin_write", c_int, [c_void_p]),
    ("netshm_group_end", c_int, [c_void_p]),
    ("netshm_add", c_int, [c_void_p, c_int32, c_void_p, c_size_t]),
    ("netshm_replace", c_int, [c_void_p, c_int32, c_void_p, c_size_t]),
    ("netshm_remove", c_int, [c_void_p, c_int32]),
    ("netshm_mem", c_int, None),
    ("netshm_find_into", c_int, None),
    ("netshm_find_all", c_int, [c_void_p, c_int32, VALUE_FN, c_void_p]),
    ("netshm_iter", c_int, [c_void_p, ITER_FN, c_void_p]),
    ("netshm_iter_keys", c_int, [c_void_p, KEY_FN, c_void_p]),
    ("netshm_length", c_int, [c_void_p, POINTER(c_size_t)]),
    ("netshm_find_blocks", c_int, [c_void_p, c_int32, VALUE_FN, c_void_p]),
    ("netshm_write_blocks", c_int, [c_void_p, c_uint, c_int32, VALUE_FN, c_void_p]),
    ("netshm_check", c_int, [c_void_p, PROBLEM_FN, c_void_p]),
    ("netshm_stat", c_int, [c_void_p, POINTER(Stats)]),
    ("netshm_repair", c_int, [c_void_p, POINTER(RepairReport)]),
]

# Functions of later libnetshm versions (DESIGN §3b): None when this library lacks them,
# and the methods that need them raise NotSupported.
_OPTIONAL = [
    ("netshm_find_many", c_int, None),
    ("netshm_set_lock_timeout", c_int, [c_void_p, c_uint]),
    ("netshm_descr_set_lock_timeout", c_int, [c_void_p, c_uint]),
]


def _declare(name, restype, argtypes):
    function = getattr(lib, name)
    function.restype = restype
    if argtypes is not None:
        function.argtypes = argtypes
    return function


C = {name: _declare(name, restype, argtypes) for name, restype, argtypes in _PROTOTYPES}
for _name, _restype, _argtypes in _OPTIONAL:
    C[_name] = _declare(_name, _restype, _argtypes) if hasattr(lib, _name) else None
