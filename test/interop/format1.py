"""A reader of Netshm table files (format 1, DESIGN §5) for the interop test.

It extracts the canonical structure two tables must share when they hold the same data in
the same hash table whatever their page numbering (canonical), checks a table's integrity
(check), and names the role of each page for diagnostics (roles).
"""

import array
import os
import sys


def _s32(x):
    return x - (1 << 32) if x >= 1 << 31 else x


FILE_MAGIC = tuple(_s32(m) for m in (0xDE871209, 0xDE881209, 0xDE871309, 0xDE87120A))
DESCR_MAGIC = _s32(0x6712DE9F)
CONTENT1_MAGIC = _s32(0x12DE9F67)
CONTENT2_MAGIC = _s32(0xDE9F6712)
FREE_MAGIC = _s32(0xF3EEF3EE)
MAX_EXTENTS = 16


class FormatError(Exception):
    pass


def load_words(path):
    words = array.array("i")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) % 4:
        data += b"\0" * (4 - len(data) % 4)
    words.frombytes(data)   # native-endian, as the format is
    return words


class Table:
    """A parsed table file: descriptor fields, extents, and the binding chains of every
    hash cell. Raises FormatError naming the page and word of the first violation."""

    def __init__(self, path, pagesize):
        self.path = path
        self.words = load_words(path)
        self.pagesize = pagesize
        self.wpp = pagesize // 4
        self.cells_per_page = self.wpp // 4 - 1
        w = self.words
        if len(w) < 2 * self.wpp:
            raise FormatError("file of %d bytes is shorter than 2 pages" % (len(w) * 4))
        if tuple(w[0:4]) != FILE_MAGIC:
            raise FormatError("page 0: bad file magic")
        self.dpage = w[4]
        if self.dpage != 1:
            raise FormatError("page 0 word 4: descriptor page %d, expected 1" % self.dpage)
        d = self.wpp
        if w[d] != DESCR_MAGIC:
            raise FormatError("page 1 word 0: bad descriptor magic %#x" % (w[d] & 0xFFFFFFFF))
        (self.total, self.hash_size, self.claimed, self.count, self.free_head,
         self.free_count, self.unused7) = w[d + 1:d + 8]
        if self.total < 2 or self.total * self.wpp > len(w):
            raise FormatError("page 1 word 1: total pages %d, file has %d pages"
                              % (self.total, len(w) // self.wpp))
        self.extents = []
        for i in range(MAX_EXTENTS):
            first, n = w[d + 8 + 2 * i], w[d + 9 + 2 * i]
            if first == 0 or n == 0:
                if any(w[d + 8 + 2 * j] or w[d + 9 + 2 * j] for j in range(i, MAX_EXTENTS)):
                    raise FormatError("page 1: extent slot %d unused but a later one is used" % i)
                break
            if first < 2 or n < 0 or first + n > self.total:
                raise FormatError("page 1 words %d-%d: extent %d = pages %d+%d out of bounds"
                                  % (8 + 2 * i, 9 + 2 * i, i, first, n))
            self.extents.append((first, n))
        if sum(n for _, n in self.extents) * self.cells_per_page != self.hash_size:
            raise FormatError("page 1 word 2: hash size %d but extents hold %d cells"
                              % (self.hash_size, sum(n for _, n in self.extents) * self.cells_per_page))
        self.hash_pages = [p for first, n in self.extents for p in range(first, first + n)]
        self.owner = {0: "master page", 1: "descriptor page"}
        for i, p in enumerate(self.hash_pages):
            self._own(p, "hash page %d" % i)
        self.cells = []      # (key, ptr, spare key, spare ptr)
        self.chains = {}     # cell index -> [value, ...] newest first
        for p in self.hash_pages:
            base = p * self.wpp
            for c in range(self.cells_per_page):
                self.cells.append(tuple(w[base + 4 + 4 * c:base + 8 + 4 * c]))
        for i, (key, ptr, _, _) in enumerate(self.cells):
            if ptr not in (0, -1):
                self.chains[i] = self._chain(key, ptr, i)
        self.free_pages = self._free_list()

    def _own(self, page, role):
        if page in self.owner:
            raise FormatError("page %d is both %s and %s" % (page, self.owner[page], role))
        self.owner[page] = role

    def _page(self, page, what):
        if not 2 <= page < self.total:
            raise FormatError("%s: page pointer %d out of bounds (total %d)" % (what, page, self.total))
        return page * self.wpp

    def _chain(self, key, ptr, cell):
        w = self.words
        values = []
        page = ptr
        while page != 0:
            role = "binding %d of key %d (cell %d)" % (len(values), key, cell)
            b = self._page(page, role)
            self._own(page, role + " first page")
            magic, k, nxt, older, pos, length = w[b:b + 6]
            if magic != CONTENT1_MAGIC:
                raise FormatError("page %d (%s): bad content1 magic %#x" % (page, role, magic & 0xFFFFFFFF))
            if k != key:
                raise FormatError("page %d (%s): holds key %d" % (page, role, k))
            if pos != 0 or length < 0:
                raise FormatError("page %d (%s): value offset %d length %d" % (page, role, pos, length))
            value = list(w[b + 6:b + 6 + min(length, self.wpp - 6)])
            seq = 0
            while nxt != 0:
                seq += 1
                b2 = self._page(nxt, role)
                self._own(nxt, "%s page %d" % (role, seq))
                magic2, k2, nxt2, seq2 = w[b2:b2 + 4]
                if magic2 != CONTENT2_MAGIC or k2 != key or seq2 != seq:
                    raise FormatError("page %d (%s page %d): magic %#x key %d seq %d"
                                      % (nxt, role, seq, magic2 & 0xFFFFFFFF, k2, seq2))
                take = min(length - len(value), self.wpp - 4)
                if take <= 0:
                    raise FormatError("page %d (%s): follow-up page past the value's end" % (nxt, role))
                value.extend(w[b2 + 4:b2 + 4 + take])
                nxt = nxt2
            if len(value) != length:
                raise FormatError("page %d (%s): value of %d words has only %d"
                                  % (page, role, length, len(value)))
            values.append(tuple(value))
            page = older
        return values

    def _free_list(self):
        w = self.words
        pages = []
        page = self.free_head
        while page != 0:
            b = self._page(page, "free list entry %d" % len(pages))
            self._own(page, "free page %d" % len(pages))
            if w[b] != FREE_MAGIC:
                raise FormatError("page %d (free page %d): bad magic %#x"
                                  % (page, len(pages), w[b] & 0xFFFFFFFF))
            pages.append(page)
            page = w[b + 1]
        return pages

    def probe_cell(self, key, attempt):
        offset = attempt * attempt if attempt <= 9 else 72 + attempt
        s = _s32((key + offset) & 0xFFFFFFFF)
        return s % self.hash_size    # Python's % is non-negative for a positive divisor

    def probe(self, key):
        """(the key's cell or None, the number of cells probing visits)."""
        for attempt in range(self.hash_size + 11):
            i = self.probe_cell(key, attempt)
            k, ptr = self.cells[i][0], self.cells[i][1]
            if ptr == 0:
                return None, attempt + 1
            if k == key:
                return i, attempt + 1
        return None, self.hash_size + 11

    def find_cell(self, key):
        return self.probe(key)[0]


def canonical(t):
    """What two tables holding the same data must share whatever their page numbering."""
    hash_headers = tuple(tuple(t.words[p * t.wpp:p * t.wpp + 4]) for p in t.hash_pages)
    cells = tuple((key, "free" if ptr == 0 else "claimed" if ptr == -1 else "bound",
                   sk, sp, tuple(t.chains.get(i, ())))
                  for i, (key, ptr, sk, sp) in enumerate(t.cells))
    return (("pagesize", t.pagesize), ("hash size S", t.hash_size), ("claimed", t.claimed),
            ("bindings", t.count), ("extent sizes", tuple(n for _, n in t.extents)),
            ("descriptor word 7", t.unused7), ("hash page headers", hash_headers),
            ("cells", cells))


def check(t, zero_tail=True):
    """Integrity problems of a table (an empty list when it is sound). zero_tail: whether
    the bytes past the table's pages must be zero (they need not after OCamlnet
    re-initialised the object: it leaves the old pages there)."""
    problems = []
    w = t.words
    nonzero = [i for i in range(5, t.wpp) if w[i]]
    if nonzero:
        problems.append("page 0: unused words %s are not zero" % nonzero[:8])
    nonzero = [i for i in range(8 + 2 * MAX_EXTENTS, t.wpp) if w[t.wpp + i]]
    if t.unused7 or nonzero:
        unused = ([7] if t.unused7 else []) + nonzero[:8]
        problems.append("page 1: unused words %s are not zero" % unused)
    tail = t.total * t.wpp
    if zero_tail and any(w[tail:]):
        first = next(i for i in range(tail, len(w)) if w[i])
        problems.append("page %d word %d: nonzero beyond the table's %d pages"
                        % (first // t.wpp, first % t.wpp, t.total))
    if len(t.free_pages) != t.free_count:
        problems.append("free list holds %d pages, descriptor says %d" % (len(t.free_pages), t.free_count))
    bindings = sum(len(v) for v in t.chains.values())
    if bindings != t.count:
        problems.append("%d bindings found, descriptor says %d" % (bindings, t.count))
    used = sum(1 for c in t.cells if c[1] != 0)
    if used > t.claimed:
        problems.append("%d cells in use, descriptor claims %d" % (used, t.claimed))
    leaked = [p for p in range(2, t.total) if p not in t.owner]
    if leaked:
        problems.append("%d pages neither hash, content nor free (leaked): %s"
                        % (len(leaked), leaked[:10]))
    keys = {}
    for i, (key, ptr, sk, sp) in enumerate(t.cells):
        if sk or sp:
            problems.append("cell %d: spare words %d %d are not zero" % (i, sk, sp))
        if ptr == 0:
            if key:
                problems.append("cell %d: free cell with key %d" % (i, key))
            continue
        if key in keys:
            problems.append("key %d in cells %d and %d" % (key, keys[key], i))
        keys[key] = i
        if t.find_cell(key) != i:
            problems.append("cell %d: key %d is not reached by probing" % (i, key))
    return problems


def stats(t):
    """What netshm_stat reports for a sound table, by name."""
    values = [v for chain in t.chains.values() for v in chain]
    keys = [t.cells[i][0] for i in t.chains]
    return {
        "pagesize": t.pagesize,
        "object_bytes": os.path.getsize(t.path),
        "total_pages": t.total,
        "free_pages": len(t.free_pages),
        "hash_pages": len(t.hash_pages),
        "content_pages": sum(1 for role in t.owner.values() if role.startswith("binding")),
        "extents": len(t.extents),
        "hash_cells": t.hash_size,
        "claimed_cells": t.claimed,
        "bindings": len(values),
        "distinct_keys": len(set(keys)),
        "value_bytes": 4 * sum(len(v) for v in values),
        "longest_probe": max((t.probe(k)[1] for k in keys), default=0),
    }


def clear_last_cells(path, pagesize):
    """Zeroes the last cell of every hash page: what OCamlnet's extent clearing misses, so
    that a table it re-initialised over old pages has no phantom key of its own."""
    words = load_words(path)
    wpp = pagesize // 4
    d = wpp
    for i in range(MAX_EXTENTS):
        first, n = words[d + 8 + 2 * i], words[d + 9 + 2 * i]
        if first == 0 or n == 0:
            break
        for p in range(first, first + n):
            cell = p * wpp + 4 + 4 * (wpp // 4 - 2)
            words[cell:cell + 4] = array.array("i", [0, 0, 0, 0])
    with open(path, "r+b") as f:
        f.write(words.tobytes()[:os.path.getsize(path)])


def roles(t):
    """page -> what it is, for diagnostics."""
    return t.owner


def describe_page(path, pagesize, page):
    try:
        t = Table(path, pagesize)
    except FormatError as e:
        return "unparsable table (%s)" % e
    if page >= t.total:
        return "beyond the table's %d pages" % t.total
    return t.owner.get(page, "unowned page")


def first_difference(path_a, path_b, pagesize):
    """None if both files are byte-identical, else a text naming the first differing
    page and word, and both values."""
    a, b = load_words(path_a), load_words(path_b)
    wpp = pagesize // 4
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            page, word = divmod(i, wpp)
            return ("page %d word %d: %d (%#x) vs %d (%#x); page %d is %s / %s"
                    % (page, word, a[i], a[i] & 0xFFFFFFFF, b[i], b[i] & 0xFFFFFFFF, page,
                       describe_page(path_a, pagesize, page), describe_page(path_b, pagesize, page)))
    if len(a) != len(b):
        return "sizes differ: %d vs %d bytes (%d vs %d pages), equal up to the shorter" % (
            len(a) * 4, len(b) * 4, len(a) // wpp, len(b) // wpp)
    return None


def first_canonical_difference(ca, cb):
    """A text naming the first difference of two canonical structures (None if equal)."""
    for (name, va), (_, vb) in zip(ca, cb):
        if va == vb:
            continue
        if name != "cells" and name != "hash page headers":
            return "%s: %r vs %r" % (name, va, vb)
        for i, (x, y) in enumerate(zip(va, vb)):
            if x != y:
                return "%s[%d]: %s vs %s" % (name, i, _short(x), _short(y))
        return "%s: %d vs %d entries" % (name, len(va), len(vb))
    return None


def _short(x, limit=400):
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "..."


if __name__ == "__main__":
    table = Table(sys.argv[1], int(sys.argv[2]))
    print("total %d S %d claimed %d bindings %d free %d extents %s" % (
        table.total, table.hash_size, table.claimed, table.count, table.free_count, table.extents))
    for problem in check(table):
        print("problem:", problem)
