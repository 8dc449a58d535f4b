"""A process that holds a table open and keeps writing, for the tool's tests of
live tables: python3 live_writer.py LIBNETSHM OBJECT record|mutex [paced].

It opens the file OBJECT, manages its table with the given locking, then
replaces key -1 by [n] for n = 1, 2, ... and key (n % 1000) by [n, n], as fast
as it can, until it is killed; it prints "ready" once key -1 is bound.
"paced": 5 ms of pause after each round, room for a reader that can only
read optimistically and must copy the whole object between two writes.
"""

import ctypes
import os
import sys
import time

LOCKING = {"record": 1, "mutex": 2}
NETSHM_TYPE_FILE = 1


def main():
    library, name, locking = sys.argv[1:4]
    paced = sys.argv[4:] == ["paced"]
    lib = ctypes.CDLL(library)
    lib.netshm_last_error.restype = ctypes.c_char_p
    descr, table = ctypes.c_void_p(), ctypes.c_void_p()

    def check(rc):
        if rc < 0:
            sys.exit(f"live_writer: {lib.netshm_last_error().decode()}")

    check(lib.netshm_open(NETSHM_TYPE_FILE, name.encode(), os.O_RDWR, 0o644, ctypes.byref(descr)))
    check(lib.netshm_manage(descr, LOCKING[locking], 0, ctypes.c_longlong(-1), ctypes.byref(table)))
    n = 0
    while True:
        n += 1
        counter = (ctypes.c_int32 * 1)(n)
        check(lib.netshm_replace(table, -1, counter, ctypes.c_size_t(1)))
        pair = (ctypes.c_int32 * 2)(n, n)
        check(lib.netshm_replace(table, n % 1000, pair, ctypes.c_size_t(2)))
        if n == 1:
            print("ready", flush=True)
        if paced:
            time.sleep(0.005)


if __name__ == "__main__":
    main()
