"""Pictures of states (engine/statehash.py), which stateful search uses to recognise a state it
has explored: equal states must get equal pictures (else no reuse), and states that can behave
differently must get different ones (else unsound reuse)."""
from __future__ import annotations

import pytest

from swaplab.engine import Cell, Program
from swaplab.engine.explore import run_execution
from swaplab.engine.statehash import Unhashable, picture
from swaplab.engine.strategies import DFS
from swaplab.engine.strategies.dpor_cache import state_picture


class _Script(DFS):
    """Runs one fixed schedule and pictures the state at its end."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.pic = None

    def start(self, program):
        pass

    def next_execution(self):
        return True

    def pick(self, ex, enabled):
        if ex.seq == len(self.schedule):
            self.pic = state_picture(ex)[0]
            return None
        assert self.schedule[ex.seq] in enabled
        return self.schedule[ex.seq]


def _picture_after(program, schedule, every_step=False):
    s = _Script(schedule)
    if every_step:                         # picturing on the way must not change the picture
        inner = s.pick

        def pick(ex, enabled):
            state_picture(ex)
            return inner(ex, enabled)
        s.pick = pick
    run_execution(program, s)
    return s.pic


def _two_writers():
    def setup(w):
        x, y = Cell("x", 0), Cell("y", 0)

        def a():
            yield from x.write(1)
            yield from y.read()

        def b():
            yield from y.write(1)
            yield from x.read()
        w.thread("A", a())
        w.thread("B", b())
    return Program(setup, "two-writers")


def test_one_state_reached_two_ways_has_one_picture():
    p = _two_writers()
    # A writes x, B writes y, in either order: the same state, with both threads at their read
    assert _picture_after(p, [0, 1]) == _picture_after(p, [1, 0])
    assert _picture_after(p, [0, 1]) != _picture_after(p, [0])


def test_picturing_along_the_way_does_not_change_the_picture():
    # f_locals remembers the order in which it first saw each variable (here x, a closure
    # variable, before v, a local assigned later): pictures must not depend on it
    def setup(w):
        x = Cell("x", 0)

        def t():
            yield from x.write(1)
            v = yield from x.read()
            yield from x.write(v + 1)
        w.thread("T", t())
    p = Program(setup, "late-local")
    assert _picture_after(p, [0, 0]) == _picture_after(p, [0, 0], every_step=True)


def test_a_for_loops_position_is_part_of_the_state():
    # Same locals (v == 7), same pending step (write x = 0), same shared values (x == 7): only
    # the loop's iterator, on the value stack where f_locals does not show it, differs.
    def setup(w):
        x = Cell("x", 0)

        def t():
            for v in [7, 7]:
                yield from x.write(v)
                yield from x.write(0)
        w.thread("T", t())
    p = Program(setup, "loop")
    assert _picture_after(p, [0]) != _picture_after(p, [0, 0, 0])


class _Freeable(Cell):
    __slots__ = ("freed",)

    def __init__(self, name):
        super().__init__(name, 0)
        self.freed = False

    def dead(self):
        return self.freed


def test_freed_objects_and_raw_ids_are_not_state():
    # One execution made and freed a scratch object before creating the cell it goes on with,
    # so that cell's oid differs; the states are the same (objects are named by position
    # among the live ones).
    def make(scratch):
        def setup(w):
            if scratch:
                _Freeable("tmp").freed = True
            y = Cell("y", 0)

            def t():
                yield from y.write(1)
                yield from y.read()
            w.thread("T", t())
        return Program(setup, "scratch")
    assert _picture_after(make(False), [0]) == _picture_after(make(True), [0])
    pic, oids = picture((), [])
    assert oids == {}


def test_a_value_of_unknown_kind_is_refused():
    class Opaque:
        __slots__ = ()
    with pytest.raises(Unhashable):
        picture((Opaque(),), [])


def test_a_builtin_on_the_value_stack_is_pictured_by_name():
    # any((yield from f())) leaves the builtin any on the value stack while f is suspended (the
    # kernel model's shrink_folio_list does this); a bound builtin method keeps its object.
    def setup(w):
        x = Cell("x", 0)

        def flags():
            yield from x.read()
            return (0, 1)

        def t():
            if any((yield from flags())):
                yield from x.write(1)
        w.thread("T", t())
    p = Program(setup, "builtin")
    assert _picture_after(p, []) is not None
    a, b = [1], [2]
    assert picture((a.append,), [])[0] != picture((b.append,), [])[0]
    assert picture((any,), [])[0] == picture((any,), [])[0] != picture((all,), [])[0]


def _frame_live(gen):
    from swaplab.engine.liveness import live_locals
    return live_locals(gen.gi_code, gen.gi_frame.f_lasti)


def test_liveness_of_locals_at_a_yield():
    def f(x):
        a = x + 1              # read after the yield: live
        b = x + 2              # read only in the exception handler below: live until then
        d = x + 3              # never read: dead everywhere  # noqa: F841
        c = 0
        for _ in range(2):
            yield a
            c = c + 1          # read on the next round of the loop: live at the yield
        try:
            yield
        except ValueError:
            return b           # read in the handler: live at the yield inside the try
    g = f(1)
    next(g)
    assert _frame_live(g) == {"a", "b", "c"}
    next(g)
    next(g)
    assert _frame_live(g) == {"b"}            # a and c are not read after the loop
    assert "d" in g.gi_frame.f_locals


def test_a_dead_local_is_not_state_a_live_one_is():
    def program(dead, live):
        def setup(w):
            x = Cell("x", 0)

            def t(seen, keep):          # (arguments: a closure's variables always count)
                yield from x.write(1)   # seen is never read: dead here
                yield from x.write(keep)
            w.thread("T", t(dead, live))
        return Program(setup, "locals")
    assert _picture_after(program(1, 5), [0]) == _picture_after(program(2, 5), [0])
    assert _picture_after(program(1, 5), [0]) != _picture_after(program(1, 6), [0])


def test_which_copy_of_an_immutable_value_is_held_is_not_state():
    # vmf->orig_pte may be the very tuple the PTE cell holds or an equal copy of it: no code
    # can tell (pte_same compares values), so the pictures are equal; a list is another matter.
    from collections import namedtuple
    Pte = namedtuple("Pte", "kind offset")
    a = Pte("swp", 0)
    b = Pte("swp", 0)
    assert picture(((a, a),), [])[0] == picture(((a, b),), [])[0]
    shared, l1, l2 = [1], [1], [1]
    assert picture(((shared, shared),), [])[0] != picture(((l1, l2),), [])[0]


# --- symmetric threads (engine/symmetry.py) ----------------------------------------------------
def _claimers():
    """Two copies of: claim a cell with my thread id, then read x twice."""
    from swaplab.engine import current_tid

    def setup(w):
        claim, x = Cell("claim", -1), Cell("x", 0)

        def body():
            me = current_tid()
            yield from claim.write(me)
            yield from x.read()
            yield from x.read()
        w.symmetric([w.thread("T0", body()), w.thread("T1", body())])
    return Program(setup, "claimers")


def test_mirrored_states_of_symmetric_threads_get_one_picture():
    # T0 claims and stops; T1 claims and reads: the claim is the thread one step further's.
    # The mirror image (the threads' roles exchanged) is the same state up to renaming.
    prog = _claimers()
    assert _picture_after(prog, [0, 1, 1]) == _picture_after(prog, [1, 0, 0])


def test_a_thread_id_in_the_state_is_renamed_with_the_threads():
    # Both states have one thread a step further than the other and the claim holding thread
    # id 1; in the first it is the one further on, in the second the one behind.  If pictures
    # ordered the threads but left the ids in the state as they were, these two would look
    # alike, and the search would take one for the other.
    prog = _claimers()
    further_claimed = _picture_after(prog, [0, 1, 1])
    behind_claimed = _picture_after(prog, [0, 0, 1])
    assert further_claimed != behind_claimed


def test_per_thread_data_moves_with_its_thread():
    # each copy bumps its own per-CPU counter, then reads x: after one copy's two steps, the
    # state where T0 went is the mirror of the one where T1 went (counters and threads
    # exchanged), and neither is the state where each copy took one step
    from swaplab.engine import current_tid
    from swaplab.engine.symmetry import per_thread

    def setup(w):
        x = Cell("x", 0)
        tids = [w.thread(f"T{i}", None) for i in range(2)]
        counters = per_thread(lambda t: Cell(f"count[{t}]", 0))

        def body():
            mine = counters[current_tid()]
            yield from mine.write(1)
            yield from x.read()
        for t in tids:
            w._ex.threads[t].gen = body()
        w.symmetric(tids)
    prog = Program(setup, "counters")
    assert _picture_after(prog, [0, 0]) == _picture_after(prog, [1, 1])
    assert _picture_after(prog, [0, 0]) != _picture_after(prog, [0, 1])
