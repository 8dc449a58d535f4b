"""The exceptions: one class per result code of netshm.h, all deriving from Error."""

import errno as _errno


class Error(Exception):
    """A failed netshm call: ``code`` is the C result code, ``message`` the library's
    explanation (netshm_last_error)."""

    code = None

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self):
        return self.message


class NotFound(Error, KeyError):
    """No such key, object or name (NETSHM_ENOTFOUND); also a KeyError."""
    code = -1


class Corrupt(Error):
    """The table violates the format (NETSHM_ECORRUPT)."""
    code = -2


class Deadlock(Error):
    """The kernel detected a lock deadlock (NETSHM_EDEADLK): end the group and retry."""
    code = -3


class InvalidArgument(Error, ValueError):
    """An invalid argument (NETSHM_EINVAL); also a ValueError."""
    code = -4


class SysError(Error, OSError):
    """An OS call failed (NETSHM_ESYS); an OSError whose ``errno`` says which error."""
    code = -5

    def __init__(self, message, errno=0):
        OSError.__init__(self, errno, message)
        self.message = message

    def __str__(self):
        name = _errno.errorcode.get(self.errno, str(self.errno))
        return "%s (%s)" % (self.message, name)


class NoMemory(Error, MemoryError):
    """Out of memory (NETSHM_ENOMEM)."""
    code = -6


class SelfLocked(Error):
    """A modification from a callback that holds the table locked (NETSHM_ESELFLOCKED)."""
    code = -7


class Closed(Error):
    """The object's descriptor was closed (NETSHM_ECLOSED)."""
    code = -8


class NotSupported(Error):
    """Not supported on this system or by this libnetshm (NETSHM_ENOTSUP)."""
    code = -9


class Exists(Error):
    """The object exists, or holds data that is not a table (NETSHM_EEXIST)."""
    code = -10


class TooBig(Error):
    """A size limit was hit (NETSHM_ETOOBIG)."""
    code = -11


class Forked(Error):
    """A handle inherited across fork: open the table again in the child (NETSHM_EFORKED)."""
    code = -12


class Busy(Error):
    """The object is in use in an incompatible way (NETSHM_EBUSY)."""
    code = -13


class ReadOnly(Error):
    """A write on a read-only table (NETSHM_EREADONLY)."""
    code = -14


class Timeout(Error):
    """A lock wait ran past the table's lock timeout (NETSHM_ETIMEDOUT)."""
    code = -15


_BY_CODE = {cls.code: cls for cls in (
    NotFound, Corrupt, Deadlock, InvalidArgument, SysError, NoMemory, SelfLocked, Closed,
    NotSupported, Exists, TooBig, Forked, Busy, ReadOnly, Timeout)}


def error_for(code, message, errno=0):
    """The exception for a negative result code (Error itself for a code not known here)."""
    cls = _BY_CODE.get(code)
    if cls is SysError:
        return SysError(message, errno)
    if cls is None:
        return Error(message, code)
    return cls(message)
