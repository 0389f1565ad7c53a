"""Small programs with known answers, used to test the engine.

Each builder returns an engine Program.  Expected trace counts are documented in
tests/test_engine.py next to the assertion that uses them.
"""
from __future__ import annotations

from swaplab.engine import Array, Cell, Program, SpinLock, check, retry


def await_nonzero(x: Cell):
    """Wait in a retry loop until ``x`` is non-zero: the random programs' "await" operation
    (tests/test_engine_properties.py and tests/test_minimality.py), a livelock when nobody sets it."""
    first = True
    while True:
        yield from retry("await", first)
        first = False
        if (yield from x.read()):
            return


def writers(n: int) -> Program:
    """n threads each write their id to one variable x."""
    def setup(w):
        x = Cell("x", -1)
        for i in range(n):
            def body(i=i):
                yield from x.write(i)
            w.thread(f"w{i}", body())
    return Program(setup, f"writers({n})")


def distinct_writers(n: int) -> Program:
    """n threads each write their own variable."""
    def setup(w):
        xs = [Cell(f"x{i}", 0) for i in range(n)]
        for i in range(n):
            def body(i=i):
                yield from xs[i].write(1)
            w.thread(f"w{i}", body())
    return Program(setup, f"distinct({n})")


def readers_writers(readers: int, writers_: int) -> Program:
    """``readers`` threads read x, ``writers_`` threads write x."""
    def setup(w):
        x = Cell("x", 0)
        seen = {}
        for i in range(readers):
            def rd(i=i):
                seen[i] = yield from x.read()
            w.thread(f"r{i}", rd())
        for i in range(writers_):
            def wr(i=i):
                yield from x.write(i + 1)
            w.thread(f"w{i}", wr())
        w.fingerprint(lambda: (x.peek(), tuple(sorted(seen.items()))))
    return Program(setup, f"readers_writers({readers},{writers_})")


def lastzero(n: int) -> Program:
    """lastzero(n) (Abdulla et al. 2014): thread 0 scans array[n..0] for the last zero while
    threads 1..n each set array[j] = array[j-1] + 1."""
    def setup(w):
        arr = Array("array", [0] * (n + 1))
        found = {}

        def scanner():
            i = n
            while i >= 0:
                v = yield from arr[i].read()
                if v == 0:
                    break
                i -= 1
            found["i"] = i

        def setter(j):
            v = yield from arr[j - 1].read()
            yield from arr[j].write(v + 1)

        w.thread("t0", scanner())
        for j in range(1, n + 1):
            w.thread(f"t{j}", setter(j))
        w.fingerprint(lambda: (tuple(arr.peek()), found.get("i")))
    return Program(setup, f"lastzero({n})")


def indexer(n: int) -> Program:
    """indexer(n) (Flanagan & Godefroid 2005): n threads insert 4 values each into a hash table
    of 128 slots with compare-and-swap and linear probing."""
    size, maxm = 128, 4

    def setup(w):
        table = {}

        def slot(h):
            c = table.get(h)
            if c is None:
                c = table[h] = Cell(f"table[{h}]", 0)
            return c

        def body(tid):
            for m in range(1, maxm + 1):
                v = m * 11 + tid
                h = (v * 7) % size
                while True:
                    c = slot(h)
                    old = yield from c.rmw(lambda o, v=v: o if o else v, label=f"cas table[{h}]")
                    if old == 0:
                        break
                    h = (h + 1) % size
        for t in range(n):
            w.thread(f"t{t}", body(t))
        w.fingerprint(lambda: tuple(sorted((k, c.peek()) for k, c in table.items())))
    return Program(setup, f"indexer({n})")


def philosophers(n: int) -> Program:
    """n dining philosophers, each taking the left fork then the right: can deadlock."""
    def setup(w):
        forks = [SpinLock(f"fork{i}") for i in range(n)]

        def phil(i):
            left, right = forks[i], forks[(i + 1) % n]
            yield from left.lock()
            yield from right.lock()
            yield from right.unlock()
            yield from left.unlock()
        for i in range(n):
            w.thread(f"p{i}", phil(i))
    return Program(setup, f"philosophers({n})")


def lost_update(n: int = 2) -> Program:
    """n threads increment a counter with a separate read and write: updates can be lost."""
    def setup(w):
        c = Cell("counter", 0)

        def inc():
            v = yield from c.read()
            yield from c.write(v + 1)
        for i in range(n):
            w.thread(f"t{i}", inc())
        w.at_end(lambda: check(c.peek() == n, "lost-update", f"counter is {c.peek()}, expected {n}"))
    return Program(setup, f"lost_update({n})")


def locked_counter(n: int = 2) -> Program:
    """The same counter under a spinlock: no update is lost."""
    def setup(w):
        c = Cell("counter", 0)
        lock = SpinLock("lock")

        def inc():
            yield from lock.lock()
            v = yield from c.read()
            yield from c.write(v + 1)
            yield from lock.unlock()
        for i in range(n):
            w.thread(f"t{i}", inc())
        w.at_end(lambda: check(c.peek() == n, "lost-update", f"counter is {c.peek()}, expected {n}"))
    return Program(setup, f"locked_counter({n})")


def retry_can_livelock() -> Program:
    """A waits, in a retry loop, for x == 1; B sets x to 1 and back to 0.  If A looks only
    before and after B, A retries forever: a livelock, needing no preemption."""
    def setup(w):
        x = Cell("x", 0)

        def waiter():
            while True:
                yield from retry("wait for x")
                if (yield from x.read()) == 1:
                    return

        def flipper():
            yield from x.write(1)
            yield from x.write(0)
        w.thread("A", waiter())
        w.thread("B", flipper())
    return Program(setup, "retry_can_livelock")


def retry_no_livelock() -> Program:
    """A waits in a retry loop for x == 1; B sets it and leaves it: A always gets through."""
    def setup(w):
        x = Cell("x", 0)

        def waiter():
            while True:
                yield from retry("wait for x")
                if (yield from x.read()) == 1:
                    return

        def setter():
            yield from x.write(1)
        w.thread("A", waiter())
        w.thread("B", setter())
    return Program(setup, "retry_no_livelock")


def retry_sees_two_states() -> Program:
    """A reads x twice per attempt and retries when the two reads differ; B sets x to 1 and
    back to 0.  When B runs between A's reads, A's attempt saw x == 0 and then x == 1, and after
    B the state is again what A first saw: but a rerun now sees x == 0 twice and gets through.
    Parking A there (its footprint is back to its first state) would report a false livelock
    (the pattern of __read_swap_cache_async reading a count without SWAP_HAS_CACHE, then
    failing swapcache_prepare on it)."""
    def setup(w):
        x = Cell("x", 0)

        def reader():
            while True:
                yield from retry("read x twice")
                a = yield from x.read()
                b = yield from x.read()
                if a == b:
                    return

        def flipper():
            yield from x.write(1)
            yield from x.write(0)
        w.thread("A", reader())
        w.thread("B", flipper())
    return Program(setup, "retry_sees_two_states")


def retry_progress_undone() -> Program:
    """A retries until it reads x == 1, setting x = 1 in each attempt and then touching a lock
    word y (the unlock after mapping a page); B sets x back to 0 once (a zap).  When B runs
    between A's store and A's next retry point, x is back to the value A's attempt first saw:
    but the attempt made progress that B undid (an ABA), and a rerun stores 1 again and gets
    through.  Parking A there would report a false livelock (hunt class 3b: a read fault maps
    the zero page, MADV_DONTNEED zaps it, the refault was parked)."""
    def setup(w):
        x = Cell("x", 0)
        y = Cell("y", 0)

        def setter():
            first = True
            while True:
                yield from retry("set x", first)
                first = False
                if (yield from x.read()) == 1:
                    return
                yield from x.write(1)
                yield from y.read()

        def undoer():
            yield from x.write(0)
        w.thread("A", setter())
        w.thread("B", undoer())
    return Program(setup, "retry_progress_undone")
