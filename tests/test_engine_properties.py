"""Property test: on random small programs, DPOR, stateful DPOR (state caching) and naive DFS
reach the same final states and the same failures, and every failure replays."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from programs import await_nonzero
from swaplab.engine import Cell, Program, SleepLock, SpinLock, check, current_tid, explore, replay, retry

op = st.one_of(
    st.tuples(st.just("read"), st.integers(0, 2)),
    st.tuples(st.just("write"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("locked_inc"), st.integers(0, 2)),
    st.tuples(st.just("await"), st.integers(0, 2)),
    st.tuples(st.just("try_inc"), st.integers(0, 2)),
    st.tuples(st.just("folio_inc"), st.integers(0, 2)),
    st.tuples(st.just("locked_step"), st.integers(0, 2)),
)
programs = st.lists(st.lists(op, min_size=1, max_size=3), min_size=2, max_size=3)


def run_ops(ops, xs, lock, folio_lock, seen):
    """One random program's thread: its ops, what it reads kept in ``seen`` by (its thread
    id, op index)."""
    t = current_tid()
    for k, o in enumerate(ops):
        if o[0] == "read":
            seen[(t, k)] = yield from xs[o[1]].read()
        elif o[0] == "write":
            yield from xs[o[1]].write(o[2])
        elif o[0] in ("locked_inc", "folio_inc"):
            lk = lock if o[0] == "locked_inc" else folio_lock
            yield from lk.lock()
            v = yield from xs[o[1]].read()
            yield from xs[o[1]].write(v + 1)
            yield from lk.unlock()
        elif o[0] == "try_inc":       # spin_trylock: the lock's held state is visible
            seen[(t, k)] = ok = yield from lock.trylock()
            if ok:
                v = yield from xs[o[1]].read()
                yield from xs[o[1]].write(v + 1)
                yield from lock.unlock()
        elif o[0] == "locked_step":   # a one-step critical section
            x = xs[o[1]]
            yield from lock.locked_step(((x, True),), "locked_step")
            x.value = x.value + 1
        elif o[0] == "await_locked":  # the same, reading it under the spinlock
            first = True
            while True:
                yield from retry("await_locked", first)
                first = False
                yield from lock.lock()
                v = yield from xs[o[1]].read()
                yield from lock.unlock()
                if v:
                    break
        else:  # wait in a retry loop until the variable is non-zero
            yield from await_nonzero(xs[o[1]])


def build(spec) -> Program:
    def setup(w):
        xs = [Cell(f"x{i}", 0) for i in range(3)]
        lock = SpinLock("lock")
        folio_lock = SleepLock("folio")
        seen = {}

        for t, ops in enumerate(spec):
            w.thread(f"t{t}", run_ops(ops, xs, lock, folio_lock, seen))
        w.at_end(lambda: check(xs[2].peek() != 2, "x2-is-2", "x2 ended as 2"))
        w.fingerprint(lambda: (tuple(x.peek() for x in xs), tuple(sorted(seen.items()))))
    return Program(setup, "random")


STEPS = {"read": 1, "write": 1, "locked_inc": 4, "await": 2, "try_inc": 4, "folio_inc": 4,
         "locked_step": 1, "await_locked": 4}


def random_programs(examples: int):
    """Hypothesis settings shared by every property here: reproducible, no deadline (naive
    DFS is exponential), and programs filtered by size."""
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def size(spec, steps=None) -> int:
    """Visible steps of a random program (``steps``: per operation, STEPS by default)."""
    steps = STEPS if steps is None else steps
    return sum(steps[o[0]] for ops in spec for o in ops)


def search(prog, strategy, **kw):
    """Every execution, every failure, nothing minimized."""
    return explore(prog, strategy, stop_on_first=False, minimize=False, **kw)


def outcome(r) -> tuple:
    """What two complete searches of one program must agree on."""
    return r.stats.final_states, {v.signature() for v in r.violations}


@random_programs(150)
@given(programs)
def test_dpor_matches_dfs_on_random_programs(spec):
    # naive DFS is exponential: keep programs to at most 10 visible steps in all
    assume(size(spec) <= 10)
    prog = build(spec)
    dfs = search(prog, "dfs")
    dpor = search(prog, "dpor")
    assert outcome(dpor) == outcome(dfs)
    assert dpor.stats.executions - dpor.stats.sleep_blocked <= dfs.stats.executions
    cached = search(prog, "stateful")
    assert cached.stats.complete
    assert outcome(cached) == outcome(dfs)
    for v in dpor.violations:
        ex, div = replay(prog, v.schedule, tracing=False)
        assert div is None and ex.outcome.signature() == v.signature()


bigger_programs = st.lists(st.lists(op, min_size=1, max_size=3), min_size=3, max_size=4)


@random_programs(60)
@given(bigger_programs)
def test_dpor_and_stateful_search_agree_on_bigger_programs(spec):
    # Too big for DFS, so the two reductions check each other: they share the race analysis
    # but not the state cache.  This comparison, run over 2,000 random programs by
    # tools/fuzz_engine.py, found the bug below; these 60 examples do not meet it (it is rarer:
    # one program in 2,000), which is why it is also pinned on its own.  (60, not 120: the
    # suite's time budget; the fuzz script is the long run.)
    assume(size(spec) <= 20)
    prog = build(spec)
    dpor = search(prog, "dpor")
    cached = search(prog, "stateful")
    assert dpor.stats.complete and cached.stats.complete
    assert outcome(dpor) == outcome(cached)


# Found by fuzzing this property with larger programs (2026-11-26): plain DPOR missed this final
# state.  Its blocked-thread rule put the blocked thread itself at the racing step's state even
# when that thread was not an initial of the reversed sequence, and sleep sets then hid the rest.
# The schedule that reaches it, worked out by hand: t2 reads x0 (0); t1 reads x2 (0); t3 reads
# x1 (0); t0 writes x0 = 1 and increments x2 under the lock (1); t3 reads x2 (1) and x0 (1); t1
# increments x1, then x0 (1 -> 2).
MISSED_ONCE = [[("write", 0, 1), ("locked_inc", 2)],
               [("read", 2), ("locked_inc", 1), ("locked_inc", 0)],
               [("read", 0)],
               [("read", 1), ("read", 2), ("read", 0)]]
MISSED_STATE = ((2, 1, 1), (((1, 0), 0), ((2, 0), 0), ((3, 0), 0), ((3, 1), 1), ((3, 2), 1)))


def test_the_hand_derived_schedule_reaches_the_state():
    from swaplab.engine import Schedule
    order = [2, 1, 3, 0, 0, 0, 0, 0, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1]
    ex, div = replay(build(MISSED_ONCE), Schedule(order), tracing=False)
    assert div is None and ex.final_state() == MISSED_STATE


@pytest.mark.parametrize("strategy", ["dpor", "stateful"])
def test_dpor_reaches_a_state_it_once_missed(strategy):
    r = search(build(MISSED_ONCE), strategy)
    assert r.stats.complete and MISSED_STATE in r.stats.final_states


# --- declarations that remove scheduling points: guarded_by and an rwsem with no writer -------
# Folding a step into the one before only removes interleavings that cannot be told apart, so
# a program must reach the same final states and failures with the declarations as without
# (where every step is its own scheduling point).
guarded_op = st.one_of(
    st.tuples(st.just("read"), st.integers(0, 1)),
    st.tuples(st.just("write"), st.integers(0, 1), st.integers(1, 2)),
    st.tuples(st.just("g_read")),          # a lockless read of the guarded cell
    st.tuples(st.just("g_inc")),           # lock; write x1; read g; write g; unlock
    st.tuples(st.just("g_mark")),          # the lockless writer: g even -> g + 1
    st.tuples(st.just("g_step")),          # a one-step critical section writing g
    st.tuples(st.just("r_read"), st.integers(0, 1)),   # down_read; read x; up_read
)
guarded_programs = st.lists(st.lists(guarded_op, min_size=1, max_size=3), min_size=2, max_size=3)
GUARDED_STEPS = {"read": 1, "write": 1, "g_read": 1, "g_inc": 5, "g_mark": 1, "g_step": 1,
                 "r_read": 3}


def build_guarded(spec, declare: bool) -> Program:
    from swaplab.engine import RWSem, Step, guarded_by

    def setup(w):
        xs = [Cell(f"x{i}", 0) for i in range(2)]
        g = Cell("g", 0)
        lock = SpinLock("lock")
        sem = RWSem("sem")
        seen = {}

        def body(t, ops):
            for k, o in enumerate(ops):
                if o[0] == "read":
                    seen[(t, k)] = yield from xs[o[1]].read()
                elif o[0] == "write":
                    yield from xs[o[1]].write(o[2])
                elif o[0] == "g_read":
                    seen[(t, k)] = yield from g.read()
                elif o[0] == "g_inc":
                    yield from lock.lock()
                    yield from xs[1].write(t + 1)
                    v = yield from g.read()      # folded into the write before when g is odd
                    yield from g.write(v + 2)
                    yield from lock.unlock()
                    seen[(t, k)] = v
                elif o[0] == "g_mark":           # reads x1: a fold must not hide its order
                    yield Step(((g, True), (xs[1], False)), "mark g")
                    seen[(t, k)] = xs[1].value
                    if g.value % 2 == 0:
                        g.value += 1
                elif o[0] == "g_step":
                    yield from lock.locked_step(((g, True),), "g += 1")
                    g.value += 1
                else:
                    yield from sem.down_read()
                    seen[(t, k)] = yield from xs[o[1]].read()
                    yield from sem.up_read()
        for t, ops in enumerate(spec):
            w.thread(f"t{t}", body(t, ops))
        if declare:
            guarded_by(lock, g, lockless=lambda c: c._v % 2 == 0)
            sem.declare_no_writer()
        w.fingerprint(lambda: (tuple(x.peek() for x in xs), g.peek(), tuple(sorted(seen.items()))))
    return Program(setup, "guarded")


@random_programs(120)
@given(guarded_programs)
# Each fails if the fold ignores one of its conditions (checked by breaking the executor):
# the lock holder reads g while it is even, so the lockless writer may still change it ...
@example([[("g_inc",)], [("g_mark",)]])
# ... and a thread that does not hold the lock reads g.
@example([[("g_step",), ("write", 0, 1), ("g_read",)], [("read", 0), ("g_step",)]])
def test_guarded_reads_and_reader_only_rwsems_change_no_outcome(spec):
    assume(size(spec, GUARDED_STEPS) <= 10)
    plain = search(build_guarded(spec, False), "dfs")
    assert not plain.violations            # the program keeps its own declarations
    declared = build_guarded(spec, True)
    for strategy in ("dfs", "dpor", "stateful"):
        r = search(declared, strategy)
        assert r.stats.complete and outcome(r) == outcome(plain), strategy


def test_a_write_without_the_guarding_lock_is_a_model_error():
    from swaplab.engine import guarded_by

    def setup(w):
        g = Cell("g", 1)
        lock = SpinLock("lock")
        guarded_by(lock, g, lockless=lambda c: c._v % 2 == 0)

        def body():
            yield from g.write(3)          # odd: only the lock holder may change it

        w.thread("t0", body())
    r = search(Program(setup, "unguarded"), "dfs")
    assert [v.kind for v in r.violations] == ["model-error"]
    assert "without holding lock" in r.violations[0].message


def test_a_writer_of_a_reader_only_rwsem_is_a_model_error():
    from swaplab.engine import RWSem

    def setup(w):
        sem = RWSem("sem")

        def body():
            yield from sem.down_write()
            yield from sem.up_write()

        w.thread("t0", body())
        sem.declare_no_writer()
    r = search(Program(setup, "writer"), "dfs")
    assert [v.kind for v in r.violations] == ["model-error"]
    assert "frozen" in r.violations[0].message


@random_programs(50)       # 50, not 100: the suite's time budget (tools/fuzz_engine.py is the long run)
@given(programs)
def test_retries_begun_without_a_scheduling_point_change_no_outcome(spec):
    # A retry loop's next attempt begins as part of the step before when the thread is not
    # parked: the reference is naive DFS with every retry its own step.
    from swaplab.engine import executor
    assume(any(o[0] == "await" for ops in spec for o in ops))
    assume(size(spec) <= 10)
    prog = build(spec)
    executor.FOLD_RETRIES = False
    try:
        plain = search(prog, "dfs")
    finally:
        executor.FOLD_RETRIES = True
    for strategy in ("dfs", "stateful"):
        assert outcome(search(prog, strategy)) == outcome(plain), strategy


def test_a_retry_label_continued_at_another_retry_point_is_a_model_error():
    # Parking compares an attempt with the last one of the same loop; two loops sharing a
    # label without first=True would compare with the other loop's attempt.
    def setup(w):
        x = Cell("x", 1)

        def body():
            while True:                     # two loops, one label, no first=True
                yield from retry("wait")
                if (yield from x.read()):
                    break
            while True:
                yield from retry("wait")
                if (yield from x.read()):
                    break

        w.thread("t0", body())
    r = search(Program(setup, "two loops"), "dfs")
    assert [v.kind for v in r.violations] == ["model-error"]
    assert "another retry point" in r.violations[0].message


# Parking itself: a parked retry is taken to be one whose next attempt would only repeat the
# last one.  Without parking the same programs spin, so naive DFS with a step bound is the
# reference: every final state either way is reachable the other way.
spin_op = st.one_of(
    st.tuples(st.just("write"), st.integers(0, 1), st.integers(0, 1)),
    st.tuples(st.just("await"), st.integers(0, 1)),
    st.tuples(st.just("await_locked"), st.integers(0, 1)),
    st.tuples(st.just("locked_inc"), st.integers(0, 1)),
)
spin_programs = st.lists(st.lists(spin_op, min_size=1, max_size=2), min_size=2, max_size=2)


@random_programs(20)
@given(spin_programs)
@example([[("await_locked", 0)], [("locked_inc", 1), ("write", 0, 1)]])
def test_parking_loses_no_final_state(spec):
    # Most of this test's time goes to spinning searches that do not finish and are skipped
    # (measured 2026-12-03: 26 of 30 s CPU), so it keeps fewer examples (20, was 30) and gives
    # the spinning search 4,000 executions (was 5,000; in that measurement the ones that
    # finished needed at most 3,883).
    from swaplab.engine import executor
    assume(any(o[0].startswith("await") for ops in spec for o in ops))
    assume(size(spec) <= 7)
    prog = build(spec)
    parked = search(prog, "dfs")
    assert parked.stats.complete
    is_parked = executor.Execution.is_parked
    executor.Execution.is_parked = lambda self, t: False
    try:
        spinning = search(prog, "dfs", max_steps=16, max_executions=4_000)
    finally:
        executor.Execution.is_parked = is_parked
    assume(spinning.stats.complete)       # spinning is exponential: skip the big ones
    assert parked.stats.final_states == spinning.stats.final_states


# --- symmetry: interchangeable threads pictured in a canonical order -------------------------
# A program whose threads include copies of one thread (same ops) declares them symmetric; the
# stateful search then merges states that differ only by which copy is where.  It must find the
# same failures and the same final states, up to exchanging the copies, as the searches that
# keep them apart: plain DPOR, and the stateful search with symmetry off.  The model keeps what
# each thread read keyed by its Tid and its locks' owners as Tids, so every thread id in the
# state is one the pictures rename.
symmetric_programs = st.tuples(st.lists(op, min_size=1, max_size=3), st.integers(2, 3),
                               st.lists(st.lists(op, min_size=1, max_size=2), max_size=1))


def build_symmetric(spec) -> Program:
    copied, copies, others = spec
    threads = [copied] * copies + list(others)

    def setup(w):
        xs = [Cell(f"x{i}", 0) for i in range(3)]
        lock = SpinLock("lock")
        folio_lock = SleepLock("folio")
        seen = {}

        tids = [w.thread(f"t{t}", run_ops(ops, xs, lock, folio_lock, seen)) for t, ops in enumerate(threads)]
        w.symmetric(tids[:copies])

        def fingerprint():
            # what each copy read, as a sorted list: the copies are exchangeable
            per = lambda t: tuple(v for (u, _), v in sorted(seen.items()) if u == t)
            return (tuple(x.peek() for x in xs), tuple(sorted(per(t) for t in tids[:copies])),
                    tuple(per(t) for t in tids[copies:]))
        w.at_end(lambda: check(xs[2].peek() != 2, "x2-is-2", "x2 ended as 2"))
        w.fingerprint(fingerprint)
    return Program(setup, "symmetric")


def _kinds(r) -> set:
    # a deadlock's message names threads, which symmetry may exchange: compare kinds
    return {v.kind for v in r.violations}


@random_programs(120)
@given(symmetric_programs)
def test_symmetric_threads_reach_the_same_states_and_failures(spec):
    from swaplab.engine.strategies import dpor_cache
    copied, copies, others = spec
    assume(size([copied] * copies + list(others)) <= 16)
    prog = build_symmetric(spec)
    dpor = search(prog, "dpor")
    dpor_cache.SYMMETRY = False
    try:
        apart = search(prog, "stateful")
    finally:
        dpor_cache.SYMMETRY = True
    merged = search(prog, "stateful")
    assert dpor.stats.complete and apart.stats.complete and merged.stats.complete
    assert merged.stats.final_states == dpor.stats.final_states == apart.stats.final_states
    assert _kinds(merged) == _kinds(dpor) == _kinds(apart)
    # (not fewer executions on every program: a cut at a mirrored state adds the races of
    # its summary, which may cost an execution that a search without the cut did not run)
    for v in merged.violations:
        ex, div = replay(prog, v.schedule, tracing=False)
        assert div is None and ex.outcome.kind == v.kind


def test_symmetry_merges_states_of_copied_threads():
    # three copies of "lock; read x0; write x0+1; unlock": 3! orders of the critical sections,
    # one state after each set of finished copies; with symmetry the search meets each set of
    # finished copies once per size instead of once per subset
    from swaplab.engine.strategies import dpor_cache
    prog = build_symmetric(([("locked_inc", 0)], 3, []))
    dpor_cache.SYMMETRY = False
    try:
        apart = search(prog, "stateful")
    finally:
        dpor_cache.SYMMETRY = True
    merged = search(prog, "stateful")
    assert merged.stats.final_states == apart.stats.final_states
    assert merged.stats.executions < apart.stats.executions
