"""Run one execution of a program, one visible step at a time, as the strategy chooses.

Each execution re-runs the program from scratch (stateless search): the program's setup builds
fresh shared objects and thread generators, and the strategy picks which thread takes the next
step.  Nothing here knows about any particular strategy or model.

Retry loops.  A thread that yields a RETRY step starts a new attempt of the loop that retry
point belongs to (loops are told apart by the step's label, so nested loops keep separate
records).  The executor records the attempt's *footprint*: every object the thread touched since
that retry point last ran, with the state it had when first touched.  When the thread comes
back to the same retry point, if every object of the footprint is again in that state and no
object the attempt created is still alive, the next attempt would see exactly what the last one
saw and do the same thing, so the thread is *parked* (its RETRY step is disabled) until some
other thread changes an object of the footprint.  That holds only if the attempt saw each
object in one state: if another thread changed an object between two of the attempt's touches,
the attempt saw two states (say SWAP_HAS_CACHE set at swapcache_prepare after a count read
without it) and a rerun in the first state may go further, so such an attempt never parks.
Nor does an attempt that left an object of its footprint changed: if the object is back in its
first state, another thread undid the attempt's progress (an ABA), and a rerun makes it again.  The RETRY step declares reads of the
footprint, so only such a change can enable it and DPOR sees the dependency.  Retries therefore
never make an execution infinite, and a state where every live thread is parked or blocked is
reported as livelock (some parked) or deadlock (all blocked).  The contract this rests on: an
attempt's effect depends only on the shared state it reads (its locals are the same each time
round the loop).
"""
from __future__ import annotations

import os
import traceback

from .deadline import TimeUp
from .errors import ModelError, Violation
from .objects import FROZEN
from .outcome import CRASH, DEADLOCK, LIVELOCK, MODEL_ERROR, STEP_BOUND, Outcome
from .runtime import CTX
from .step import CHOICE, LOCK, RETRY, UNLOCK, WAIT, Step
from .symmetry import PerThread, Tid

_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))

# Begin another attempt of a retry loop as part of the step before when the thread is not
# parked (Execution._folds).  Only the tests turn it off, to compare with every retry a step.
FOLD_RETRIES = True

# Lock events, as DPOR's race analysis needs to tell them apart (Execution.ev_kind).
ACQUIRE = 1      # a blocking acquire: waits until the lock is free (spin_lock, folio_lock, ...)
TRYLOCK = 2      # an acquire attempt that never waits
UNLOCKING = 3    # a release


class World:
    """What a program's setup sees: spawn threads and register end-of-execution checks."""

    def __init__(self, execution: "Execution"):
        self._ex = execution

    def thread(self, name: str, gen) -> int:
        """Add a model thread (a generator) and return its index."""
        return self._ex.add_thread(name, gen)

    def at_end(self, fn) -> None:
        """Run ``fn()`` when every thread has finished; it raises Violation to report a failure."""
        self._ex.final_checks.append(fn)

    @property
    def exploring(self) -> bool:
        """The program is being explored (not run by the timed simulator, which charges every
        step its cost and so wants no step folded into another)."""
        return self._ex.record

    def symmetric(self, tids) -> None:
        """Declare threads ``tids`` interchangeable: they run the same code on the same objects,
        so a state and the state with their roles exchanged have the same futures up to the
        exchange.  The stateful search then explores one of each such pair of states.  The
        program must keep thread ids as the engine hands them out (``Tid``) and per-thread data
        in ``per_thread`` lists (engine/symmetry.py).  Call it after creating the threads."""
        tids = tuple(sorted(set(tids)))
        if len(tids) > 1:
            if any(not 0 <= t < len(self._ex.threads) for t in tids):
                raise ValueError(f"symmetric: no such thread among {tids}")
            self._ex.symmetric.append(tids)

    def fingerprint(self, fn) -> None:
        """``fn()`` returns a hashable picture of the final state (for 'distinct final states')."""
        self._ex.fingerprint_fn = fn


class Program:
    """A closed concurrent program: ``setup(world)`` creates shared objects and threads."""

    def __init__(self, setup, name: str = "program"):
        self.setup = setup
        self.name = name

    def __repr__(self) -> str:
        return f"Program({self.name})"


class ThreadState:
    __slots__ = ("tid", "name", "gen", "pending", "done", "loops", "retries")

    def __init__(self, tid: int, name: str, gen):
        self.tid = tid
        self.name = name
        self.gen = gen
        self.pending: Step | None = None
        self.done = False
        # retry label -> [objects count when it last ran,
        #                 footprint: oid -> [object, first state, state after our last touch],
        #                 changed under us: another thread changed a footprint object mid-attempt,
        #                 the generator running the loop (the record is dropped once it returns),
        #                 where in it the retry point is (its instruction offset)]
        self.loops: dict[str, list] = {}
        self.retries = 0

    def running_loops(self):
        """(label, record) of the retry loops whose function has not returned: the others'
        records can never be used again."""
        return [(label, rec) for label, rec in self.loops.items() if _loop_running(rec)]


class Execution:
    """One run of a program.  The driver calls :meth:`enabled` and :meth:`execute` in turn."""

    def __init__(self, program: Program, *, tracing: bool = False, checking: bool = False,
                 max_steps: int = 20000, record: bool = True, parking: bool = True):
        self.program = program
        self.objects: list = []
        self.threads: list[ThreadState] = []
        self.final_checks: list = []
        self.fingerprint_fn = None
        self.spin_held: PerThread = PerThread()     # spinlocks each thread holds
        self.per_thread: list[PerThread] = []        # per_thread() lists (engine/symmetry.py)
        self.symmetric: list[tuple] = []             # classes of interchangeable threads
        self.seq = 0
        self.max_steps = max_steps
        self.tracing = tracing
        self.record = record        # keep the step history (the timed simulator does not)
        self.parking = parking      # park idle retries (the timed simulator lets them spin)
        self.ev_tid: list[int] = []
        self.ev_acc: list[tuple] = []
        self.ev_kind: list[int] = []         # per step: ACQUIRE, TRYLOCK, UNLOCKING or 0 (DPOR's lock races)
        self.choices: dict[int, int] = {}
        self.trace: list[dict] = []          # per step, only when tracing
        self.outcome: Outcome | None = None
        self.finished = False
        self.abandoned = False      # the strategy gave it up (sleep-set blocked, replay diverged)
        self.timed_out = False      # a deadline stopped it part way (engine/deadline.py)
        self.preemptions = 0
        self.last_tid = -1
        self.repeated = -1          # the thread whose last step began another retry attempt
        self.wake_listeners: list = []
        CTX.execution = self
        CTX.tid = -1
        CTX.step = None
        CTX.tracing = tracing
        CTX.checking = checking
        try:
            self.world = World(self)
            CTX.in_model = True
            program.setup(self.world)
            for t in self.threads:
                self._prime(t)
        except Violation as v:
            self.outcome = Outcome(v.kind, v.message)
            self.finished = True
        except Exception as e:  # the model's setup is model code too
            self._model_exception(e, None, "setting up the program")
        except TimeUp:
            self.finished = self.timed_out = self.abandoned = True
        finally:
            CTX.in_model = False

    # --- registration -------------------------------------------------------------------
    def register(self, obj) -> int:
        obj.born = self.seq
        obj.creator = CTX.tid
        if not self.record:
            # the timed simulator keeps no history: identities only, no growing object list
            self._nobj = getattr(self, "_nobj", 0) + 1
            return self._nobj - 1
        self.objects.append(obj)
        return len(self.objects) - 1

    def add_thread(self, name: str, gen) -> int:
        tid = Tid(len(self.threads))
        self.threads.append(ThreadState(tid, name, gen))
        self.spin_held.append(0)
        return tid

    def _prime(self, t: ThreadState) -> None:
        CTX.tid = t.tid
        try:
            t.pending = next(t.gen)
        except StopIteration:
            t.done = True
        finally:
            CTX.tid = -1

    # --- enabledness --------------------------------------------------------------------
    def is_enabled(self, t: ThreadState) -> bool:
        if t.done:
            return False
        step = t.pending
        if step.kind == RETRY:
            return not self.is_parked(t)
        g = step.guard
        return g is None or g()

    def is_parked(self, t: ThreadState) -> bool:
        rec = t.loops.get(t.pending.label)
        if rec is None or not self.parking or t.pending.n or rec[2]:
            return False                # first attempt, or the last one saw an object change
        owner, where = _retry_point(t.gen)
        if rec[3] is not owner or where < 0 or rec[4] != where:
            return False                # another loop's record: _begin_attempt says so
        tid = t.tid
        for obj, snap, last, waits in rec[1].values():
            if last != snap:
                # the attempt left the object changed (made progress) and, if it is back in the
                # first state now, another thread undid that (an ABA): the next attempt would
                # make the same progress again, which is not futile
                return False
            if obj.snapshot() != snap:
                if waits and snap == -1 and obj.owner not in (-1, tid):
                    # a lock the attempt only waited for and took is held by another thread:
                    # the next attempt would wait for it too, and once it is released see
                    # what the last one saw unless something else changes meanwhile
                    continue
                return False            # the next attempt would see something new
        for obj in self.objects[rec[0]:]:
            if obj.creator == tid and not obj.dead():
                return False            # the last attempt left something new behind
        return True

    def enabled(self) -> list[int]:
        return [t.tid for t in self.threads if not t.done and self.is_enabled(t)]

    def live(self) -> list[int]:
        return [t.tid for t in self.threads if not t.done]

    def pending_acc(self, tid: int) -> tuple:
        t = self.threads[tid]
        if t.done:
            return ()
        return tuple((o.oid, w) for o, w in t.pending.accesses)

    # --- running ------------------------------------------------------------------------
    def execute(self, tid: int, choice: int = 0) -> None:
        t = self.threads[tid]
        step = t.pending
        seq = self.seq
        self.repeated = -1
        if self.last_tid >= 0 and self.last_tid != tid:
            prev = self.threads[self.last_tid]
            if not prev.done and self.is_enabled(prev):
                self.preemptions += 1
        self.last_tid = tid
        if self._sleeps_in_atomic(t, step):
            return
        acc = step.accesses
        unlocked = []
        for o, w in acc:
            p = o.private
            if p != -1 and p != tid and (w or p != FROZEN):
                self._fail(MODEL_ERROR, f"model error: {t.name} {'writes' if w else 'reads'} {o.name} in "
                                  f"'{step.label}', which is "
                                  + ("declared frozen" if p == FROZEN else
                                     f"private to {self.threads[p].name}"), tid)
                return
            if w and o.guarded is not None and p != tid and not _holds(o.guarded[0], step, tid):
                # checked once the body has run: did it change o, and may it without the lock?
                unlocked.append((o, o.snapshot(), o.guarded[1] is not None and o.guarded[1](o)))
        if step.kind == RETRY:
            err = self._begin_attempt(t, step)
            if err:
                self._fail(MODEL_ERROR, err, tid)
                return
        elif t.loops:
            self._record_footprint(t, acc, _waits_only(step))
        if self.record:
            self.ev_tid.append(tid)
            self.ev_acc.append(tuple((o.oid, w) for o, w in acc))
            kind = step.kind
            self.ev_kind.append((TRYLOCK if step.guard is None else ACQUIRE) if kind == LOCK
                                else UNLOCKING if kind == UNLOCK else 0)
        if step.kind == CHOICE:
            self.choices[seq] = choice
        if self.tracing:
            before = [(o, o.snapshot()) for o, w in acc if w]
            self.trace.append({"tid": tid, "label": step.label, "kind": step.kind, "notes": [],
                               "stack": _stack(t.gen), "changes": [], "choice": choice,
                               "cost": step.cost, "n": step.n})
        CTX.tid = tid
        CTX.step = step
        self.seq = seq + 1
        try:
            CTX.in_model = True
            t.pending = t.gen.send(choice if step.kind == CHOICE else None)
            CTX.in_model = False
            if t.loops and step.kind != RETRY:
                self._note_touched(t, acc)
            self._declare_retry_reads(t)
        except StopIteration:
            t.done = True
            t.pending = None
        except Violation as v:
            self._fail(v.kind, v.message, tid)
        except ModelError as e:
            self._fail(MODEL_ERROR, f"model error: {e}", tid)
            self._locate(t)
        except Exception as e:  # an exception in model code is an outcome, not a tool crash
            self._model_exception(e, t, f"in '{step.label}'")
        finally:
            CTX.in_model = False
            CTX.tid = -1
            CTX.step = None
        if self.tracing:
            rec = self.trace[-1]
            for o, old in before:
                new = o.snapshot()
                if new != old:
                    rec["changes"].append((o, old, new))
        if unlocked and self.outcome is None:
            self._check_guarded(t, step, unlocked)
        if self.outcome is None and not t.done and self._folds(t):
            self._run_private(t)
        if self.outcome is None and self.seq >= self.max_steps:
            self._step_bound()

    def _sleeps_in_atomic(self, t: ThreadState, step) -> bool:
        """A step that may sleep while the thread holds a spinlock: the kernel's "sleeping
        function called from invalid context", reported as a crash."""
        if step.might_sleep and self.spin_held[t.tid]:
            self._fail(CRASH, f"BUG: sleeping function called from invalid context: "
                              f"{t.name} {step.label} while holding a spinlock", t.tid)
            return True
        return False

    def _check_guarded(self, t: ThreadState, step, unlocked) -> None:
        """A step changed guarded objects without holding their lock: a model error unless
        the declaration allows a lockless change in the state the object was in."""
        for o, old, allowed in unlocked:
            if o.snapshot() != old and not allowed:
                lock = o.guarded[0]
                self._fail(MODEL_ERROR, f"model error: {t.name} changes {o.name} in '{step.label}' "
                                        f"without holding {lock.name}, which guards it", t.tid)
                return

    def _folds(self, t: ThreadState) -> bool:
        """Does ``t``'s pending step run as part of the step it just took?  When no other
        thread can observe it (:func:`_is_private`), and, when exploring, when it begins
        another attempt of a retry loop and the thread is not parked there: the step itself
        changes nothing, and had it waited, another thread could only have made the next
        attempt see what the last one saw, which then ends parked at the same point."""
        step = t.pending
        if _is_private(step, t.tid, self.record):
            return True
        return step.kind == RETRY and self.record and FOLD_RETRIES and not self.is_parked(t)

    def _run_private(self, t: ThreadState) -> None:
        """Run the steps that need no scheduling point of their own (:meth:`_folds`: a folio
        nobody else can reach yet, reads under the lock that guards the object, the start of
        another retry attempt) as part of the step just taken.  Their accesses are added to
        that step's (a retry's are not: they decide only parking)."""
        tid = t.tid
        extra = []
        CTX.tid = tid
        try:
            folded = 0
            while not t.done and self._folds(t):
                folded += 1
                if folded > self.max_steps:
                    self._fail(STEP_BOUND, f"{t.name} ran {self.max_steps} steps nobody else "
                                           f"can see without stopping", tid)
                    self._locate(t)
                    return
                step = t.pending
                if self._sleeps_in_atomic(t, step):
                    return
                if step.kind == RETRY:
                    # another attempt begins; what it would have read decides only parking,
                    # and both ways lead to the same behaviors (see _folds): no accesses
                    err = self._begin_attempt(t, step)
                    if err:
                        self._fail(MODEL_ERROR, err, tid)
                        return
                else:
                    extra.extend((o.oid, w) for o, w in step.accesses)
                self._record_footprint(t, step.accesses, _waits_only(step))
                if self.tracing:
                    before = [(o, o.snapshot()) for o, w in step.accesses if w]
                CTX.step = step
                try:
                    CTX.in_model = True
                    t.pending = t.gen.send(None)
                except StopIteration:
                    t.done = True
                    t.pending = None
                finally:
                    CTX.in_model = False
                self._note_touched(t, step.accesses)
                if not t.done:
                    self._declare_retry_reads(t)
                if self.tracing:
                    rec = self.trace[-1]
                    if step.kind != RETRY:
                        rec["label"] += f"; {step.label}"
                    for o, old in before:
                        if o.snapshot() != old:
                            rec["changes"].append((o, old, o.snapshot()))
        except Violation as v:
            self._fail(v.kind, v.message, tid)
        except ModelError as e:
            self._fail(MODEL_ERROR, f"model error: {e}", tid)
            self._locate(t)
        except Exception as e:
            self._model_exception(e, t, f"in '{t.pending.label if t.pending else '?'}'")
        finally:
            CTX.tid = -1
            CTX.step = None
        if extra and self.record:
            self.ev_acc[-1] = self.ev_acc[-1] + tuple(extra)
        if not t.done:
            self._declare_retry_reads(t)

    def _begin_attempt(self, t: ThreadState, step) -> str | None:
        """A RETRY step runs: a new attempt of its loop, with a fresh record.  Returns a model
        error if the step continues a loop that another retry point began: parking compares
        an attempt with the last one of the *same* loop (and stateful search relies on that,
        see dpor_cache.state_picture), so a label belongs to one retry point until a first
        attempt starts it afresh."""
        owner, where = _retry_point(t.gen)
        rec = t.loops.get(step.label)
        if rec is not None and not _loop_running(rec):
            rec = None
        if rec is not None:
            t.retries += 1
            self.repeated = t.tid
            if not step.n and (rec[3] is not owner or rec[4] != where):
                return (f"model error: {t.name} continues retry loop '{step.label}' at another "
                        f"retry point than the one that began it: give each loop its own label, "
                        f"or pass first=True when a loop is entered")
        t.loops[step.label] = [len(self.objects), {}, False, owner, where]
        return None

    @staticmethod
    def _record_footprint(t: ThreadState, accesses, waits: bool = False) -> None:
        """Before a step: note, for every retry loop the thread is in, the objects it touches and
        the state each had when first touched (objects the thread itself made during the attempt
        are not part of it: they are new each time round; objects another thread made meanwhile
        are); an object touched before whose state is not the one our last touch left was
        changed under us by another thread.  ``waits``: the step only waits for a lock to be
        free (and takes or releases it): it cannot see who holds the lock."""
        for label, rec in list(t.loops.items()):
            if not _loop_running(rec):
                del t.loops[label]    # the function that ran this loop has returned
                continue
            nobj, fp = rec[0], rec[1]
            for obj, _ in accesses:
                e = fp.get(obj.oid)
                if e is None:
                    if obj.oid < nobj or obj.creator != t.tid:
                        snap = obj.snapshot()
                        fp[obj.oid] = [obj, snap, snap, waits and hasattr(obj, "owner")]
                else:
                    if e[2] != obj.snapshot():
                        rec[2] = True
                    if not waits:
                        e[3] = False

    @staticmethod
    def _note_touched(t: ThreadState, accesses) -> None:
        """After a step: the state our touch left each footprint object in."""
        for rec in t.loops.values():
            fp = rec[1]
            for obj, w in accesses:
                if w:
                    e = fp.get(obj.oid)
                    if e is not None:
                        e[2] = obj.snapshot()

    @staticmethod
    def _declare_retry_reads(t: ThreadState) -> None:
        """A pending retry (not a loop's first attempt) reads its loop's footprint."""
        step = t.pending
        if step.kind == RETRY and not step.n:
            rec = t.loops.get(step.label)
            if rec is not None:
                step.accesses = tuple((e[0], False) for e in rec[1].values())

    def add_note(self, text: str) -> None:
        if self.trace:
            self.trace[-1]["notes"].append(text)

    def on_wake(self, queue, tids) -> None:
        for fn in self.wake_listeners:
            fn(queue, tids)

    def _fail(self, kind: str, message: str, tid: int = -1) -> None:
        self.outcome = Outcome(kind, message, step=self.seq - 1 if tid >= 0 else self.seq,
                               preemptions=self.preemptions)
        self.finished = True
        if self.tracing and tid >= 0 and self.trace and self.trace[-1]["tid"] == tid:
            self.trace[-1]["failed"] = kind     # the step during which it was detected

    def _locate(self, t: ThreadState) -> None:
        """Say in the outcome which thread it was and where its model code stands."""
        self.outcome.thread = t.name
        self.outcome.where = model_frames(t.gen)

    def _model_exception(self, e: Exception, t: ThreadState | None, context: str) -> None:
        """A Python exception escaped model code: a model-error outcome naming the exception
        and the model's own frames where it was raised (file, line, function)."""
        where = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(e.__traceback__)
                 if not f.filename.startswith(_ENGINE_DIR)]
        at = f" at {os.path.basename(where[-1][0])}:{where[-1][1]}" if where else ""
        who = f"{t.name} " if t is not None else ""
        self._fail(MODEL_ERROR, f"{who}raised {type(e).__name__}: {e}{at} ({context})",
                   t.tid if t is not None else -1)
        self.outcome.thread = t.name if t is not None else ""
        self.outcome.where = where

    def _step_bound(self) -> None:
        """The execution reached max_steps: some thread loops.  Name the thread that took most
        of the recent steps and where its model code stands (a loop that polls shared state
        without a retry point never parks, so under an unfair schedule it runs forever)."""
        recent = self.ev_tid[-1000:] if self.record and self.ev_tid else [self.last_tid]
        counts: dict[int, int] = {}
        for tid in recent:
            counts[tid] = counts.get(tid, 0) + 1
        tid = max(counts, key=lambda k: (counts[k], k == self.last_tid))
        t = self.threads[tid]
        where = model_frames(t.gen) if not t.done else []
        at = f", looping in {where[-1][2]} at {os.path.basename(where[-1][0])}:{where[-1][1]}" \
            if where else ""
        self._fail(STEP_BOUND, f"execution exceeded {self.max_steps} steps: {t.name} took "
                               f"{counts[tid]} of the last {len(recent)}{at} (a loop that polls "
                               f"shared state should begin each round with `yield from retry(...)` "
                               f"so that the search can park it)", tid)
        self.outcome.thread = t.name
        self.outcome.where = where

    def finish(self) -> None:
        """Called when no thread is enabled: deadlock, livelock, or the end of the program."""
        self.finished = True
        live = [t for t in self.threads if not t.done]
        if live:
            parked = [t for t in live if t.pending.kind == RETRY]
            detail = [f"{t.name}: {'parked retrying' if t.pending.kind == RETRY else 'blocked at'} "
                      f"{t.pending.label} in {'/'.join(_stack(t.gen)) or '?'}" for t in live]
            if parked:
                msg = ("every live thread is blocked or retrying without progress: "
                       + "; ".join(detail))
                self.outcome = Outcome(LIVELOCK, msg, step=self.seq, preemptions=self.preemptions,
                                       detail=detail)
            else:
                self.outcome = Outcome(DEADLOCK, "every live thread is blocked: " + "; ".join(detail),
                                       step=self.seq, preemptions=self.preemptions, detail=detail)
            return
        CTX.tid = -1
        CTX.checking = False
        try:
            CTX.in_model = True
            for fn in self.final_checks:
                fn()
        except Violation as v:
            self.outcome = Outcome(v.kind, v.message, step=self.seq, preemptions=self.preemptions)
        except Exception as e:
            self._model_exception(e, None, "in a final check")
        finally:
            CTX.in_model = False

    def final_state(self):
        if self.fingerprint_fn is not None:
            return self.fingerprint_fn()
        return tuple(sorted((o.name, repr(o.snapshot())) for o in self.objects))


# Step kinds that can run as part of the step before when they touch only private or frozen
# objects: plain accesses, and lock operations on a lock nobody else can contend (an rwsem no
# thread takes for write, whose reader cells are per thread).
_FOLDABLE = ("access", LOCK, UNLOCK)


def _is_private(step, tid: int, exploring: bool = True) -> bool:
    """Can ``step`` run as part of the thread's previous step?  Yes when no other thread can
    observe it or be affected by it: it touches only objects private to the thread, reads
    frozen ones or reads objects guarded by a lock the thread holds (``guarded_by``), or it
    is the first attempt of a retry loop (no accesses: nothing to compare).  The last two only
    when exploring: the timed simulator keeps such steps as points where another CPU may run."""
    if step is None or step.guard is not None:
        return False
    if step.kind == RETRY:
        return exploring and step.n == 1
    if step.kind not in _FOLDABLE or not step.accesses:
        return False
    for o, w in step.accesses:
        p = o.private
        if p != tid and (w or p != FROZEN):
            # a read of an object whose writers all hold a lock this thread holds
            g = o.guarded
            if w or not exploring or g is None or g[0].owner != tid \
                    or (g[1] is not None and g[1](o)):
                return False
    return True


def _waits_only(step) -> bool:
    """Does the step only wait for a lock to be free and take or release it (spin_lock,
    folio_lock, a one-step critical section, folio_wait_locked, unlocks), never seeing who
    holds it?  (A trylock or a test of the lock does see it.)"""
    k = step.kind
    return k == UNLOCK or (step.guard is not None and k in (LOCK, WAIT))


def _holds(lock, step, tid: int) -> bool:
    """Does ``tid``, running ``step``, hold ``lock``: it owns it, or the step is a one-step
    critical section of it (SpinLock.locked_step: waits for it to be free, runs atomically)?"""
    if lock.owner == tid:
        return True
    g = step.guard
    return g is not None and getattr(g, "__self__", None) is lock and (lock, False) in step.accesses


def _loop_running(rec) -> bool:
    return rec[3].gi_frame is not None


def _retry_point(gen) -> tuple:
    """(the generator that called retry(), the offset it is suspended at; -1 if none)."""
    owner = _loop_owner(gen)
    return owner, owner.gi_frame.f_lasti if owner.gi_frame is not None else -1


def _loop_owner(gen):
    """The generator that called retry(): the caller of the innermost generator."""
    owner = gen
    g = gen
    while True:
        sub = getattr(g, "gi_yieldfrom", None)
        if sub is None or getattr(sub, "gi_frame", None) is None:
            return owner
        owner, g = g, sub


def model_frames(gen) -> list[tuple[str, int, str]]:
    """(file, line, function) of each frame of a thread's generator chain, outermost first,
    engine frames left out: where the thread's model code stands."""
    frames = []
    g = gen
    while g is not None:
        frame = getattr(g, "gi_frame", None)
        if frame is None:
            break
        code = frame.f_code
        if not code.co_filename.startswith(_ENGINE_DIR):
            frames.append((code.co_filename, frame.f_lineno, code.co_name))
        g = getattr(g, "gi_yieldfrom", None)
    return frames


def _stack(gen) -> list[str]:
    """Function names of a thread's generator chain, outermost first, engine frames left out."""
    names = []
    g = gen
    while g is not None:
        code = getattr(g, "gi_code", None)
        if code is None:
            break
        if not code.co_filename.startswith(_ENGINE_DIR):
            names.append(code.co_name)
        g = getattr(g, "gi_yieldfrom", None)
    return names
