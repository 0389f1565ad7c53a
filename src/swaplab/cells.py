"""Check many (design, scenario) cells at once, each in a process of its own.

A cell runs a user's design: untrusted code that may exhaust memory (the kernel's OOM killer
then kills the process), crash the interpreter, call os._exit, or sit in C code that never
returns.  So each cell gets a fresh forked process and sends its verdict back through a pipe;
the parent watches the processes, not a shared pool (a process pool breaks as a whole when one
worker dies, losing every cell in flight).  A worker that dies loses its own cell only: the
cell's verdict is "died", naming how; a worker still running well past the time limit (its
in-process watchdog could not stop it) is killed the same way.  Ctrl-C stops the workers; the
cells they were running come back as interrupted (cut), the ones not started are left out.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
from multiprocessing.connection import wait

# A worker still alive this long after its cell's time limit is killed: the in-process limits
# (engine/deadline.py) stop a search within a fraction of a second of it, so a worker this
# late is stuck where no Python code runs.
GRACE_SECONDS = 5.0


def _size(scenario) -> tuple:
    """A guess at how long a scenario takes to explore: its threads, then its operations."""
    threads = getattr(scenario, "threads", ())
    return len(threads), sum(len(t.ops) for t in threads)


def _worker(check, design, scenario, kw: dict, conn) -> None:
    # Ctrl-C goes to the whole process group; the parent decides what stops (it terminates the
    # workers), so a worker neither dies with a traceback nor returns a half-searched cell.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        v = check(design, scenario, **kw)
        conn.send(("verdict", v))
    except BaseException as e:  # a bug of swaplab's own, reported as the cell's error
        conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}"))
    finally:
        conn.close()


def _how_it_died(code: int | None) -> str:
    if code is None:
        return "the worker process vanished"
    if code < 0:
        sig = -code
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        hint = {signal.SIGKILL: " (the kernel's OOM killer sends this when memory runs out)",
                signal.SIGSEGV: " (a segmentation fault)"}.get(sig, "")
        return f"the worker process was killed by {name}{hint}"
    return f"the worker process exited with status {code} before sending a verdict"


def run_cells(cells, check, *, jobs: int, on_done, died, cut, time_limit: float | None = None,
              **kw) -> None:
    """Run ``check(design, scenario, time_limit=..., **kw)`` for every cell, ``jobs`` at a time.
    ``on_done(i, verdict)`` as each finishes; ``died(i, message)`` makes the verdict of a
    cell whose worker died.  On Ctrl-C, ``cut(i)`` makes the verdict of each running cell,
    passed to ``on_done``, then KeyboardInterrupt is raised."""
    ctx = mp.get_context("fork")
    # Biggest first (more threads, then more operations): a long cell started last would run
    # alone at the end while the other workers sit idle.
    pending = sorted(range(len(cells)), key=lambda i: _size(cells[i][1]), reverse=True)
    running: dict[int, tuple] = {}          # cell -> (process, connection, start time)
    kill_after = None if time_limit is None else time_limit * 1.5 + GRACE_SECONDS
    try:
        while pending or running:
            while pending and len(running) < jobs:
                i = pending.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                d, s = cells[i]
                p = ctx.Process(target=_worker, args=(check, d, s, dict(kw, time_limit=time_limit), send),
                                daemon=True)
                p.start()
                send.close()
                running[i] = (p, recv, time.monotonic())
            wait([c for _, c, _ in running.values()] + [p.sentinel for p, _, _ in running.values()],
                 timeout=0.5)
            for i, (p, conn, t0) in list(running.items()):
                msg = None
                if conn.poll():
                    try:
                        msg = conn.recv()
                    except (EOFError, OSError):
                        msg = ("died", _how_it_died(_reap(p)))
                    except Exception as e:   # a verdict that does not unpickle
                        msg = ("error", f"{type(e).__name__}: {e}")
                elif not p.is_alive():
                    msg = conn.recv() if conn.poll() else ("died", _how_it_died(_reap(p)))
                elif kill_after is not None and time.monotonic() - t0 > kill_after:
                    p.kill()
                    _reap(p)
                    msg = ("died", f"the worker was killed {kill_after:.0f}s after it started: its "
                                   f"design did not stop at the {time_limit:g}s time limit (stuck "
                                   f"in code that never returns to Python?)")
                if msg is None:
                    continue
                del running[i]
                conn.close()
                _reap(p)
                kind, what = msg
                on_done(i, what if kind == "verdict" else died(i, what))
    except KeyboardInterrupt:
        for i, (p, conn, _) in running.items():
            p.terminate()
        for i, (p, conn, _) in running.items():
            _reap(p)
            conn.close()
            on_done(i, cut(i))
        raise


def _reap(p) -> int | None:
    p.join(timeout=5)
    if p.is_alive():
        p.kill()
        p.join(timeout=5)
    return p.exitcode


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1
