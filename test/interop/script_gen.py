"""Operation scripts for the netshm interop test, and the model predicting what they print.

The OCaml helper (ocaml_helper.ml, real OCamlnet Netshm) and the C driver (driver.c, this
library's C API) both execute a script on a table and print a transcript; run_interop.py
compares both transcripts with the one predicted here, and the table files with each other.

Script grammar: one operation per line, words separated by spaces; blank lines and lines
starting with '#' are ignored. K is an int32 key, V an int32 word (decimal, signed).

  add K V...            Netshm.add / netshm_add: bind K to the value V... (0 or more words)
  replace K V...        Netshm.replace / netshm_replace
  remove K              Netshm.remove / netshm_remove
  find K                prints "find K = [n] v1 ... vn" or "find K = notfound"
  mem K                 prints "mem K = true" or "mem K = false"
  findall K             prints "findall K = [n] v... ; [m] v..." (newest first) or
                        "findall K = none"
  length                prints "length N"
  group_begin           begins a (nested) group: OCaml runs the lines up to the matching
  group_end             group_end inside Netshm.group, C calls netshm_group_begin/_end. A
                        script may end inside groups: they end with it.
  dump                  prints "dump length=N", then " K: [n] v... ; [m] v..." for every
                        key in ascending signed order: its bindings as iter presents them
  dumpk                 the same from iter_keys + find_all, headed "dumpk length=N"
  netdump               prints "netdump", then Netshm.dump / netshm_dump's own output,
                        "<shm length=N", "  K => [| v1; v2 |]" per binding in hash table
                        order, ">" (run_interop.py compares it between the programs as is,
                        and with the model after sorting the bindings by key)
  incr K N              N times: in a group, find K (v = its first word, 0 if unbound or
                        empty) and replace K by [v + 1]; retried on Deadlock / EDEADLK.
                        Prints "incr K N"
  probe K               prints "probe K", then from inside the first callback of iter:
                        " iter: find = ..." (find K) and " iter: modify refused" (trying
                        add K []), then the same from inside iter_keys (" iter_keys: ...");
                        nothing for an empty table
  rblocks K A...        Netshm.read_blocks / netshm_find_blocks on K
  wblocks K A...        Netshm.write_blocks / netshm_write_blocks announcing Remove_binding
  wblocks_noann K A...  write_blocks announcing nothing: an 'r' answer is an error

Block actions. The i-th action A applies to the i-th binding visited (newest first);
bindings past the list get "n". The callbacks of one binding are numbered 0, 1, ...: one per
fragment, then one for the end of the binding (None / NULL). An action is "n" (do nothing:
read every fragment, answer Nop / CONTINUE) or a sequence of items, each a letter and a
number, e.g. "w3:-7r0s2":

  rC     answer Remove_binding at callback C (wblocks only)
  sC     answer Next at callback C
  bC     answer Break at callback C
  eC     fail at callback C: OCaml raises an exception, C returns -100; the operation stops
         with an error, a removal answered earlier in the same binding is cancelled
  fC     at callback C, find K from inside the callback (prints " find = ...")
  mC     at callback C, try add K [] from inside the callback; the table is locked by the
         caller, so this is refused (prints " modify refused" or " modify allowed")
  wI:V   (wblocks only) write V to word I of the binding's value, through the fragment
         holding it, when that fragment is visited

At a callback the fragment is printed, then written, then the f/m/control items whose index
is C run in their order in the action. An action has at most one of r/s/b/e per callback.
A block operation prints "rblocks K" (or "wblocks K", ...), then per callback " frag [n] v..."
(the fragment as read, before writing) or " end", the f and m outputs, and finally
"result ok", "result error user" or "result error unannounced". wblocks_noann prints only
its header and its result (OCaml reports an unannounced answer when the binding ends, this
library at once: the visible state is the same).

For instance: remove the third binding of 5: "wblocks 5 n n r0"; overwrite word 40 of the
newest binding in place: "wblocks 5 w40:-1"; stop after two bindings: "wblocks 5 n n b0";
remove the newest and stop (Netshm.remove): "wblocks 5 r0b1".

Every transcript line starts with the 1-based number of the script line that printed it.
"""

import random

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def fmt_value(v):
    return "[%d] %s" % (len(v), " ".join(map(str, v))) if v else "[0]"


def fmt_values(vs):
    return " ; ".join(fmt_value(v) for v in vs)


def fragments(words_per_page, length):
    """(start, length) of each fragment of a value: one per page of its binding."""
    first = min(words_per_page - 6, length)
    frags = [(0, first)]
    pos = first
    while pos < length:
        n = min(words_per_page - 4, length - pos)
        frags.append((pos, n))
        pos += n
    return frags


def parse_action(text):
    """[(letter, index, value)] of one block action (see the grammar above)."""
    if text == "n":
        return []
    items = []
    i = 0
    while i < len(text):
        letter = text[i]
        j = i + 1
        while j < len(text) and (text[j] == "-" or text[j].isdigit()):
            j += 1
        index = int(text[i + 1:j])
        value = 0
        if letter == "w":
            k = j + 1
            while k < len(text) and (text[k] == "-" or text[k].isdigit()):
                k += 1
            value = int(text[j + 1:k])
            j = k
        items.append((letter, index, value))
        i = j
    return items


class Model:
    """What a table holds: key -> list of values, newest first; and what a script prints."""

    def __init__(self, pagesize):
        self.words_per_page = pagesize // 4
        self.bindings = {}
        self.count = 0

    def copy(self):
        other = Model(self.words_per_page * 4)
        other.bindings = {k: [list(v) for v in vs] for k, vs in self.bindings.items()}
        other.count = self.count
        return other

    def newest(self, key):
        vs = self.bindings.get(key)
        return vs[0] if vs else None

    def _find_text(self, key):
        v = self.newest(key)
        return "notfound" if v is None else fmt_value(v)

    def _dump(self, ln, head, out):
        out.append("%d %s length=%d" % (ln, head, self.count))
        for k in sorted(self.bindings):
            out.append("%d  %d: %s" % (ln, k, fmt_values(self.bindings[k])))

    def apply(self, ln, words, out):
        """Executes one script line (already split) and appends its transcript lines."""
        op = words[0]
        if op == "add":
            self.bindings.setdefault(int(words[1]), []).insert(0, [int(w) for w in words[2:]])
            self.count += 1
        elif op == "replace":
            key = int(words[1])
            vs = self.bindings.get(key)
            if vs:
                vs[0] = [int(w) for w in words[2:]]
            else:
                self.bindings[key] = [[int(w) for w in words[2:]]]
                self.count += 1
        elif op == "remove":
            self._remove_at(int(words[1]), 0)
        elif op == "find":
            out.append("%d find %s = %s" % (ln, words[1], self._find_text(int(words[1]))))
        elif op == "mem":
            out.append("%d mem %s = %s" % (ln, words[1], "true" if int(words[1]) in self.bindings else "false"))
        elif op == "findall":
            vs = self.bindings.get(int(words[1]))
            out.append("%d findall %s = %s" % (ln, words[1], fmt_values(vs) if vs else "none"))
        elif op == "length":
            out.append("%d length %d" % (ln, self.count))
        elif op == "dump":
            self._dump(ln, "dump", out)
        elif op == "dumpk":
            self._dump(ln, "dumpk", out)
        elif op == "netdump":
            out.append("%d netdump" % ln)
            out.append("%d <shm length=%d" % (ln, self.count))
            for k in sorted(self.bindings):
                for v in self.bindings[k]:
                    out.append("%d   %d => [| %s |]" % (ln, k, "; ".join(map(str, v))))
            out.append("%d >" % ln)
        elif op == "incr":
            key = int(words[1])
            v = self.newest(key)
            total = ((v[0] if v else 0) + int(words[2]) + 2**31) % 2**32 - 2**31   # int32 wrap
            self.apply(ln, ["replace", words[1], str(total)], out)
            out.append("%d incr %s %s" % (ln, words[1], words[2]))
        elif op == "probe":
            out.append("%d probe %s" % (ln, words[1]))
            if self.bindings:
                for what in ("iter", "iter_keys"):
                    out.append("%d  %s: find = %s" % (ln, what, self._find_text(int(words[1]))))
                    out.append("%d  %s: modify refused" % (ln, what))
        elif op in ("rblocks", "wblocks", "wblocks_noann"):
            self._blocks(ln, op, int(words[1]), [parse_action(a) for a in words[2:]], out)
        elif op in ("group_begin", "group_end"):
            pass
        else:
            raise ValueError("bad script line %d: %s" % (ln, " ".join(words)))

    def _remove_at(self, key, index):
        vs = self.bindings.get(key)
        if vs is None or index >= len(vs):
            return
        del vs[index]
        self.count -= 1
        if not vs:
            del self.bindings[key]

    def _blocks(self, ln, op, key, actions, out):
        announced = op == "wblocks"
        quiet = op == "wblocks_noann"
        out.append("%d %s %d" % (ln, op, key))
        result = "ok"
        vs = self.bindings.get(key)
        index = 0       # position of the visited binding in vs
        ordinal = 0     # how many bindings were visited before it
        while vs is not None and index < len(vs) and result == "ok":
            value = vs[index]
            items = actions[ordinal] if ordinal < len(actions) else []
            frags = fragments(self.words_per_page, len(value))
            remove = False
            ended = False
            stop = False
            for callback in range(len(frags) + 1):
                if callback < len(frags):
                    start, n = frags[callback]
                    if not quiet:
                        out.append("%d  frag %s" % (ln, fmt_value(value[start:start + n])))
                    for letter, i, v in items:
                        if letter == "w" and start <= i < start + n:
                            value[i] = v
                elif not quiet:
                    out.append("%d  end" % ln)
                answer = None
                for letter, i, _ in items:
                    if i != callback:
                        continue
                    if letter == "f":
                        out.append("%d  find = %s" % (ln, self._find_text(key)))
                    elif letter == "m":
                        out.append("%d  modify refused" % ln)
                    elif letter in "rsbe":
                        answer = letter
                if answer == "r":
                    if not announced:
                        result = "error unannounced"
                        stop = True
                        break
                    remove = True
                elif answer == "s":
                    ended = True
                    break
                elif answer == "b":
                    ended = stop = True
                    break
                elif answer == "e":
                    result = "error user"
                    stop = True
                    break
            else:
                ended = True
            if ended and remove:
                self._remove_at(key, index)
                vs = self.bindings.get(key)
            else:
                index += 1
            ordinal += 1
            if stop:
                break
        out.append("%d result %s" % (ln, result))


# ------------------------------------------------------------------ generation

class Scenario:
    """A generated test case: table parameters, the script and its predicted transcript."""

    def __init__(self, seed, style, pagesize, init, lines, expected, model, keys, splits):
        self.seed = seed
        self.style = style
        self.pagesize = pagesize
        self.init = init          # None: no ?init / init < 0
        self.lines = lines        # script lines; lines[i] is line i + 1
        self.expected = expected  # transcript lines
        self.model = model        # the table after the script
        self.keys = keys          # the key pool
        self.splits = splits      # line indexes outside every group (alternation points)


def _clip32(x):
    return x if INT32_MIN <= x <= INT32_MAX else None


def hash_sizes(pagesize, init):
    """The hash table sizes S a table goes through as it grows (DESIGN §5)."""
    cells = pagesize // 16 - 1
    n = 1000 if init is None else init
    first = (2 * n - 1) // cells + 1 if n > 0 else 1   # OCaml's division truncates
    return [cells * first * (2 ** (i + 1) - 1) for i in range(8)]


def make_key_pool(rng, pagesize, init, size):
    sizes = hash_sizes(pagesize, init)
    pool = []
    seen = set()

    def put(k):
        if k is not None and k not in seen:
            seen.add(k)
            pool.append(k)

    for k in (0, 1, -1, 2, INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1):
        put(k)
    generators = []
    # keys colliding modulo the hash table size, now and after a few resizes
    for _ in range(4):
        s = rng.choice(sizes[:4])
        base = rng.choice([rng.randrange(-100, 100), rng.randrange(INT32_MIN, INT32_MAX)])
        generators.append(lambda s=s, base=base: _clip32(base + rng.randrange(-20, 20) * s))
    # probe sequences that wrap around INT32_MAX
    generators.append(lambda: INT32_MAX - rng.randrange(200))
    generators.append(lambda: INT32_MIN + rng.randrange(200))
    generators.append(lambda: rng.randrange(-60, 60))
    generators.append(lambda: rng.randrange(INT32_MIN, INT32_MAX + 1))
    generators.append(lambda: rng.randrange(0, 5 * sizes[0]))
    attempts = 0
    while len(pool) < size and attempts < 50 * size:
        attempts += 1
        put(rng.choice(generators)())
    head = pool[:8]
    rng.shuffle(pool)
    return pool if size >= len(pool) else (head + pool)[:size]


def make_value(rng, words_per_page):
    r = rng.random()
    if r < 0.55:
        n = rng.randrange(0, 11)
    elif r < 0.75:
        n = rng.randrange(10, 61)
    elif r < 0.897:
        n = rng.randrange(60, 301)
    elif r < 0.9:
        n = rng.randrange(301, 2000)    # long chains of follow-up pages
    else:
        # around page boundaries
        n = (words_per_page - 6) + rng.randrange(0, 3) * (words_per_page - 4) + rng.randrange(-1, 2)
        n = max(0, min(300, n))

    bits = rng.getrandbits
    style = rng.random()
    if style < 0.35:
        return [bits(4) - 8 for _ in range(n)]
    if style < 0.9:
        return [bits(32) + INT32_MIN for _ in range(n)]
    # extremes, and the format's magic numbers (descriptor, content, free page): a value
    # may hold anything, page size detection and checks must not be fooled
    edges = (INT32_MIN, INT32_MAX, 0, -1, 0x6712DE9F, 0x12DE9F67, 0xDE9F6712 - 2**32, 0xF3EEF3EE - 2**32)
    return [edges[bits(3)] if bits(1) else bits(32) + INT32_MIN for _ in range(n)]


def make_action(rng, kind, length, words_per_page, inner_find=True):
    """A random block action for a binding of this length; kind is rblocks/wblocks/noann."""
    ncb = len(fragments(words_per_page, length)) + 1

    def cb():
        r = rng.random()
        if r < 0.3:
            return 0
        if r < 0.55:
            return ncb - 1
        if r < 0.6:
            return ncb + rng.randrange(3)   # never reached
        return rng.randrange(ncb)

    controls = ["", "", "", "s", "b"]
    if kind == "wblocks":
        controls += ["r", "r", "r", "rs", "rb", "re", "e"]
    elif kind == "noann":
        controls += ["r", "rs"]
    else:
        controls += ["e"]
    control = rng.choice(controls)
    items = []
    if control:
        points = sorted(rng.sample(range(ncb + 2), len(control))) if len(control) > 1 else [cb()]
        if len(control) > 1 and control[0] == "r" and rng.random() < 0.5:
            points = [0, max(points[1], 1)]
        items += ["%s%d" % (c, p) for c, p in zip(control, points)]
    if kind != "noann":
        if kind == "wblocks" and length > 0 and rng.random() < 0.3:
            for _ in range(rng.randrange(1, 4)):
                items.append("w%d:%d" % (rng.randrange(length), rng.randrange(INT32_MIN, INT32_MAX + 1)))
        if inner_find and rng.random() < 0.12:
            items.append("f%d" % cb())
        if rng.random() < 0.06:
            items.append("m%d" % cb())
    rng.shuffle(items)
    # at most one control per callback: keep the first
    seen = set()
    kept = []
    for it in items:
        if it[0] in "rsbe":
            idx = int(it[1:])
            if idx in seen:
                continue
            seen.add(idx)
        kept.append(it)
    return "".join(kept) or "n"


def ocaml_lock_safe(actions, bindings):
    """The wblocks actions without the patterns for which OCamlnet's write_blocks (with
    Remove_binding announced) leaves a page write-locked until the process exits: a Break
    after the first binding (the previous binding's page stays locked), and a removed binding
    followed by another one (the removed binding's page stays locked). So: no Break after
    the first binding, and removals only on keys with a single binding. A leaked lock blocks
    the other process when the page is reused, and deadlocks when OCaml then waits for it."""
    safe = []
    for i, action in enumerate(actions):
        items = [it for it in parse_action(action)
                 if not (it[0] == "b" and i > 0) and not (it[0] == "r" and bindings > 1)]
        safe.append("".join("%s%d:%d" % it if it[0] == "w" else "%s%d" % it[:2] for it in items) or "n")
    return safe


OP_WEIGHTS = {
    "add": 30, "replace": 12, "remove": 11, "find": 7, "mem": 3, "findall": 3, "length": 2,
    "rblocks": 6, "wblocks": 13, "wblocks_noann": 1, "group": 3, "dump": 0.05,
    "netdump": 0.05, "probe": 1,
}

# Scenario styles: (weight, pool sizes, operation weights changed from OP_WEIGHTS)
STYLES = {
    "mixed": (5, [6, 20, 100, 400, 1500], {}),
    # every key congruent modulo a hash table size: long probe sequences
    "collide": (2, [20, 100, 400], {}),
    # mostly new keys on a small table: many resizes and hash extents
    "grow": (2, [3000], {"add": 70, "replace": 8, "remove": 4, "wblocks": 5}),
    # a few keys with long binding stacks
    "deep": (1, [2, 4], {"add": 40, "remove": 4, "wblocks": 12, "rblocks": 6}),
}


def make_collision_pool(rng, pagesize, init, size):
    sizes = hash_sizes(pagesize, init)
    moduli = rng.sample(sizes[:3], rng.randrange(1, 3))
    base = rng.choice([0, rng.randrange(-100, 100), rng.randrange(INT32_MIN, INT32_MAX)])
    pool = set()
    for _ in range(20 * size):
        if len(pool) >= size:
            break
        offset = rng.choice([0, 0, 0, 1, 4, 9])     # also probe sequences that meet
        k = _clip32(base + rng.randrange(-size, size) * rng.choice(moduli) + offset)
        if k is not None:
            pool.add(k)
    pool = sorted(pool)
    rng.shuffle(pool)
    return pool


def generate(seed, n_ops, pagesize=None, init=None, part=None, counter=None):
    """A random scenario of about n_ops operations (random page size and init if None).

    part 0 or 1: one of two scripts meant to run at the same time on one table: only keys
    of that parity, and only operations whose output does not depend on the other script's
    (no length, dump, netdump, probe, no find from inside callbacks); no groups, which could
    deadlock against the other process.
    counter: a key that "incr counter 10" lines increment now and then (the other script
    increments it too)."""
    rng = random.Random(seed)
    if part is None and rng.random() < 0.04:
        n_ops = rng.randrange(0, 20)    # nearly empty tables too
    style = rng.choices(list(STYLES), [w for w, _, _ in STYLES.values()])[0]
    _, pool_sizes, op_changes = STYLES[style]
    # now and then a page size whose word count is not a multiple of 4 (unused words at the
    # end of hash pages), or a large one
    pagesize = pagesize or rng.choice([160, 256, 1024] * 6 + [164, 172, 300, 4096])
    if init is None:
        r = rng.random()
        if style == "grow":
            init = rng.randrange(0, 40)
        elif r < 0.08:
            init = None
        elif r < 0.11:
            init = 0
        else:
            init = int(10 ** rng.uniform(0, 4))
    words_per_page = pagesize // 4
    pool_size = rng.choice(pool_sizes)
    if style == "collide":
        keys = make_collision_pool(rng, pagesize, init, pool_size)
    else:
        keys = make_key_pool(rng, pagesize, init, pool_size)
    op_weights = dict(OP_WEIGHTS, **op_changes)
    if part is not None:
        keys = [k for k in keys if k & 1 == part and k != counter] or [part + 2]
        for op in ("length", "dump", "netdump", "probe", "group"):
            del op_weights[op]
    hot = keys[:min(len(keys), rng.choice([3, 8, 30]))]
    model = Model(pagesize)
    lines = ["# seed=%d style=%s pagesize=%d init=%s"
             % (seed, style, pagesize, "none" if init is None else init)]
    expected = []
    splits = [1]
    depth = 0
    names = list(op_weights)
    weights = list(op_weights.values())

    def any_key():
        return rng.choice(hot) if rng.random() < 0.3 else rng.choice(keys)

    def bound_key():
        for _ in range(6):
            k = any_key()
            if k in model.bindings:
                return k
        return any_key()

    def emit(line):
        lines.append(line)
        model.apply(len(lines), line.split(), expected)

    for _ in range(n_ops):
        if counter is not None and rng.random() < 0.01:
            emit("incr %d 10" % counter)
        op = rng.choices(names, weights)[0]
        if op in ("add", "replace"):
            emit(" ".join([op, str(any_key())] + [str(w) for w in make_value(rng, words_per_page)]))
        elif op in ("remove", "find", "mem", "findall", "probe"):
            emit("%s %d" % (op, bound_key() if rng.random() < 0.8 else any_key()))
        elif op == "length":
            emit("length")
        elif op in ("dump", "netdump"):
            emit(op)
        elif op in ("rblocks", "wblocks", "wblocks_noann"):
            key = bound_key()
            kind = "noann" if op == "wblocks_noann" else op
            vs = model.bindings.get(key, [])
            n = min(len(vs), 6) + rng.randrange(2)
            actions = [make_action(rng, kind, len(vs[i]) if i < len(vs) else 0, words_per_page,
                                   inner_find=part is None)
                       for i in range(n)]
            if len(vs) > n and rng.random() < 0.7:
                actions.append("b0")    # do not print every binding of a deep stack
            if part is not None and op == "wblocks":
                actions = ocaml_lock_safe(actions, len(vs))
            emit(" ".join([op, str(key)] + actions))
        elif op == "group":
            if depth > 0 and rng.random() < 0.6:
                emit("group_end")
                depth -= 1
            elif depth < 3:
                emit("group_begin")
                depth += 1
        if depth == 0:
            splits.append(len(lines))
    while depth > 0:
        emit("group_end")
        depth -= 1
    splits.append(len(lines))
    if part is None:
        for op in ("length", "dump", "dumpk", "netdump"):
            emit(op)
    return Scenario(seed, style, pagesize, init, lines, expected, model, keys, sorted(set(splits)))


def verification(model, keys, rng):
    """A read-only script checking every binding of a table the model describes (and some
    absent keys of the pool), and its predicted transcript."""
    model = model.copy()
    lines = ["# verify", "length", "dump", "dumpk", "netdump"]
    absent = [k for k in keys if k not in model.bindings][:50]
    for k in sorted(model.bindings) + absent:
        lines.append("find %d" % k)
        lines.append("mem %d" % k)
        if rng.random() < 0.2:
            lines.append("findall %d" % k)
        if rng.random() < 0.2:
            lines.append("rblocks %d n" % k)
    expected = []
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            model.apply(i + 1, line.split(), expected)
    return lines, expected


def merged(a, b, counter=None):
    """The model of a table holding the bindings of two models with disjoint keys, but for
    the counter both incremented from unbound."""
    m = a.copy()
    for k, vs in b.bindings.items():
        m.bindings[k] = [list(v) for v in vs]
    m.count += b.count
    if counter in a.bindings and counter in b.bindings:
        m.bindings[counter] = [[a.bindings[counter][0][0] + b.bindings[counter][0][0]]]
        m.count -= 1
    return m
