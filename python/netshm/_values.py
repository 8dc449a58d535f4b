"""Keys and values in: int32 checked before anything reaches the library."""

import array
import operator
import sys

INT32_MIN, INT32_MAX = -0x80000000, 0x7FFFFFFF
UINT_MAX = 0xFFFFFFFF

# Buffer formats of native int32 words (array('i'), numpy int32, ctypes c_int32 arrays).
_NATIVE = "<" if sys.byteorder == "little" else ">"
_INT32_FORMATS = {"i", "@i", "=i", _NATIVE + "i"} | (
    {"l", "@l", "=l", _NATIVE + "l"} if array.array("l").itemsize == 4 else set())


def key(value):
    """value as an int32 key; OverflowError outside int32, TypeError for a non-integer."""
    k = operator.index(value)
    if not INT32_MIN <= k <= INT32_MAX:
        raise OverflowError("key %d is outside int32" % k)
    return k


def words(value):
    """value as an array('i') (the same object when it already is one): any iterable of
    ints, or a buffer of native int32 words. OverflowError for a word outside int32."""
    if isinstance(value, array.array) and value.typecode == "i":
        return value
    try:
        view = memoryview(value)
    except TypeError:
        view = None
    if view is not None and view.format in _INT32_FORMATS and view.itemsize == 4:
        copy = array.array("i")
        copy.frombytes(view.tobytes())
        return copy
    return array.array("i", value)
