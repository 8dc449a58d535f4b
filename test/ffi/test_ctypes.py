"""The C ABI as other languages use it: Python ctypes loads libnetshm.so.1.

Usage: test_ctypes.py PATH/TO/libnetshm.so.1 (meson passes the built library).
"""

import ctypes
import errno
import os
import re
import sys
import tempfile
import unittest

NETSHM_OK = 0
NETSHM_ENOTFOUND = -1
NETSHM_EINVAL = -4
NETSHM_EEXIST = -10
NETSHM_TYPE_FILE = 1
NETSHM_TYPE_POSIX = 2


class Descr(ctypes.Structure):
    """The opaque netshm_descr."""


DescrPtr = ctypes.POINTER(Descr)


def load(path):
    lib = ctypes.CDLL(path, use_errno=True)
    signatures = {
        "netshm_strerror": (ctypes.c_char_p, [ctypes.c_int]),
        "netshm_last_error": (ctypes.c_char_p, []),
        "netshm_last_errno": (ctypes.c_int, []),
        "netshm_version": (ctypes.c_char_p, []),
        "netshm_supported_types": (ctypes.c_uint, []),
        "netshm_open": (ctypes.c_int, [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                       ctypes.c_uint, ctypes.POINTER(DescrPtr)]),
        "netshm_create_unique": (ctypes.c_int, [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint,
                                                ctypes.POINTER(DescrPtr)]),
        "netshm_name": (ctypes.c_char_p, [DescrPtr]),
        "netshm_descr_type": (ctypes.c_int, [DescrPtr]),
        "netshm_chmod": (ctypes.c_int, [DescrPtr, ctypes.c_uint]),
        "netshm_chown": (ctypes.c_int, [DescrPtr, ctypes.c_long, ctypes.c_long]),
        "netshm_close": (ctypes.c_int, [DescrPtr]),
        "netshm_unlink": (ctypes.c_int, [ctypes.c_int, ctypes.c_char_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class NetshmCtypesTest(unittest.TestCase):
    lib = None  # set by main()

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory(prefix="netshm-ffi-")
        self.addCleanup(self.folder.cleanup)

    def last_error(self):
        return self.lib.netshm_last_error().decode()

    def create_unique(self, kind, template):
        descr = DescrPtr()
        rc = self.lib.netshm_create_unique(kind, template.encode(), 0o600, ctypes.byref(descr))
        self.assertEqual(rc, NETSHM_OK, self.last_error())
        self.addCleanup(self.lib.netshm_close, descr)
        name = self.lib.netshm_name(descr).decode()
        self.addCleanup(self.unlink_if_present, kind, name)
        return descr, name

    def unlink_if_present(self, kind, name):
        rc = self.lib.netshm_unlink(kind, name.encode())
        self.assertIn(rc, (NETSHM_OK, NETSHM_ENOTFOUND), self.last_error())

    def test_version_and_codes(self):
        self.assertRegex(self.lib.netshm_version().decode(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(self.lib.netshm_strerror(NETSHM_OK), b"success")
        self.assertEqual(self.lib.netshm_strerror(NETSHM_ENOTFOUND), b"not found")
        self.assertEqual(self.lib.netshm_strerror(12345), b"unknown error")
        self.assertEqual(self.lib.netshm_supported_types(), 0b110)

    def check_object(self, kind, template, path_of):
        descr, name = self.create_unique(kind, template)
        self.assertRegex(name, "^" + re.escape(template[:-6]) + "[0-9A-Z]{6}$")
        self.assertEqual(self.lib.netshm_descr_type(descr), kind)

        self.assertEqual(self.lib.netshm_chmod(descr, 0o640), NETSHM_OK, self.last_error())
        self.assertEqual(os.stat(path_of(name)).st_mode & 0o7777, 0o640)
        self.assertEqual(self.lib.netshm_chown(descr, -1, -1), NETSHM_OK, self.last_error())

        again = DescrPtr()
        rc = self.lib.netshm_open(kind, name.encode(), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600,
                                  ctypes.byref(again))
        self.assertEqual(rc, NETSHM_EEXIST)
        self.assertFalse(again)

        self.assertEqual(self.lib.netshm_unlink(kind, name.encode()), NETSHM_OK, self.last_error())
        self.assertFalse(os.path.exists(path_of(name)))
        return name

    def test_posix_object(self):
        prefix = f"/netshm-ffi-{os.getpid()}-"
        name = self.check_object(NETSHM_TYPE_POSIX, prefix + "XXXXXX", lambda n: "/dev/shm" + n)
        self.assertEqual(self.lib.netshm_unlink(NETSHM_TYPE_POSIX, name.encode()), NETSHM_ENOTFOUND)
        self.assertEqual(self.last_error(), f"shm_unlink {name}: No such file or directory")
        self.assertEqual(self.lib.netshm_last_errno(), errno.ENOENT)

    def test_file_object(self):
        template = os.path.join(self.folder.name, "table-XXXXXX")
        name = self.check_object(NETSHM_TYPE_FILE, template, lambda n: n)
        descr = DescrPtr()
        rc = self.lib.netshm_open(NETSHM_TYPE_FILE, name.encode(), os.O_RDWR, 0, ctypes.byref(descr))
        self.assertEqual(rc, NETSHM_ENOTFOUND)
        self.assertEqual(self.last_error(), f"open {name}: No such file or directory")
        self.assertEqual(ctypes.get_errno(), errno.ENOENT)

    def test_invalid_arguments(self):
        descr = DescrPtr()
        rc = self.lib.netshm_open(NETSHM_TYPE_POSIX, b"no-slash", os.O_RDWR | os.O_CREAT, 0o600,
                                  ctypes.byref(descr))
        self.assertEqual(rc, NETSHM_EINVAL)
        self.assertIn('"no-slash"', self.last_error())
        self.assertEqual(self.lib.netshm_open(NETSHM_TYPE_POSIX, None, os.O_RDWR, 0o600,
                                              ctypes.byref(descr)), NETSHM_EINVAL)
        self.assertEqual(self.last_error(), "netshm_open: name is NULL")
        self.assertEqual(self.lib.netshm_close(None), NETSHM_EINVAL)
        self.assertEqual(self.last_error(), "netshm_close: descr is NULL")
        self.assertFalse(descr)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    NetshmCtypesTest.lib = load(sys.argv[1])
    unittest.main(argv=sys.argv[:1], verbosity=2)


if __name__ == "__main__":
    main()
