"""netshm: hash tables in shared memory, shared by processes (and with OCamlnet's Netshm).

    import netshm
    with netshm.open("/counters", create=True) as t:   # "/x": POSIX object, else a file
        t.add(7, [1, 2, 3])      # any iterable of ints, or an int32 buffer
        t[7]                     # newest binding: array('i', [1, 2, 3])
    netshm.unlink("/counters")

Keys are int32; values are arrays of int32 words; a key may have several bindings, the
newest hiding the older ones (add pushes one, replace changes the newest, del removes it).
Every failure raises a subclass of netshm.Error carrying the C result code (.code) and the
library's message; NotFound is also a KeyError, SysError an OSError with .errno.  Keys and
words outside int32 raise OverflowError before anything is written.

The package loads libnetshm.so.1 by its SONAME (LD_LIBRARY_PATH, the system's paths), then
from the folder it was installed with.  Full guide: doc/guide.md, "Python".
"""

from ._errors import (Busy, Closed, Corrupt, Deadlock, Error, Exists, Forked, InvalidArgument,
                      NoMemory, NotFound, NotSupported, ReadOnly, SelfLocked, SysError,
                      Timeout, TooBig)
from ._library import C as _C
from ._table import (BREAK, CONTINUE, NEXT, REMOVE_BINDING, Problem, Table, open, unlink)


def version():
    """The loaded libnetshm's version string, e.g. "0.1.0"."""
    return _C["netshm_version"]().decode()


__all__ = ["open", "unlink", "version", "Table", "Problem", "CONTINUE", "NEXT", "BREAK",
           "REMOVE_BINDING", "Error", "NotFound", "Corrupt", "Deadlock", "InvalidArgument",
           "SysError", "NoMemory", "SelfLocked", "Closed", "NotSupported", "Exists", "TooBig",
           "Forked", "Busy", "ReadOnly", "Timeout"]

# help() and tracebacks name the public module, not the private ones.
for _public in __all__:
    if hasattr(globals()[_public], "__module__"):
        globals()[_public].__module__ = __name__
del _public
