"""A process that holds a table open and keeps writing, for the tool's tests of
live tables: python3 live_writer.py LIBNETSHM OBJECT record|mutex.

It opens the file OBJECT, manages its table with the given locking, prints
"ready" once the table is open, then replaces key -1 by [n] for n = 1, 2, ...
and key (n % 1000) by [n, n], as fast as it can, until it is killed.
"""

import ctypes
import os
import sys

LOCKING = {"record": 1, "mutex": 2}
NETSHM_TYPE_FILE = 1


def main():
    library, name, locking = sys.argv[1:4]
    lib = ctypes.CDLL(library)
    lib.netshm_last_error.restype = ctypes.c_char_p
    descr, table = ctypes.c_void_p(), ctypes.c_void_p()

    def check(rc):
        if rc < 0:
            sys.exit(f"live_writer: {lib.netshm_last_error().decode()}")

    check(lib.netshm_open(NETSHM_TYPE_FILE, name.encode(), os.O_RDWR, 0o644, ctypes.byref(descr)))
    check(lib.netshm_manage(descr, LOCKING[locking], 0, ctypes.c_longlong(-1), ctypes.byref(table)))
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        counter = (ctypes.c_int32 * 1)(n)
        check(lib.netshm_replace(table, -1, counter, ctypes.c_size_t(1)))
        pair = (ctypes.c_int32 * 2)(n, n)
        check(lib.netshm_replace(table, n % 1000, pair, ctypes.c_size_t(2)))


if __name__ == "__main__":
    main()
