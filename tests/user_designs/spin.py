"""Untrusted designs for tests/test_robust.py: what a plausible but wrong patch does."""
import os
import signal

from swaplab.designs.prepare import PrepareSleep
from swaplab.engine import Violation
from swaplab.kernel.types import SWAP_HAS_CACHE


class SpinUntilClear(PrepareSleep):
    """Instead of sleeping a tick, spin until the pin clears: a loop that polls shared state
    without a retry point, so an unfair schedule spins forever."""

    def swapin_backoff(self, vmf):
        # while (READ_ONCE(si->swap_map[offset]) & SWAP_HAS_CACHE) cpu_relax();
        cell = self.si.swap_map[vmf.entry]
        while True:
            v = yield from cell.read(f"READ_ONCE(swap_map[{vmf.entry}])")
            if not v & SWAP_HAS_CACHE:
                break


class NeverYields(PrepareSleep):
    """Spins inside one step body: never returns to the engine."""

    def swapin_backoff(self, vmf):
        cell = self.si.swap_map[vmf.entry]
        yield from cell.read("READ_ONCE(swap_map)")
        while cell.peek() & SWAP_HAS_CACHE:
            try:
                pass
            except Exception:       # a careless handler must not swallow the watchdog
                pass


class Raises(PrepareSleep):
    """A Python bug in the design: a typo'd attribute on the back-off path."""

    def swapin_backoff(self, vmf):
        yield from self.si.swap_map[vmf.entry].read("READ_ONCE(swap_map)")
        return vmf.no_such_field


class Exits(PrepareSleep):
    """Kills its own process (as an OOM kill or a segfault would) on the back-off path."""

    def swapin_backoff(self, vmf):
        yield from self.si.swap_map[vmf.entry].read("READ_ONCE(swap_map)")
        os._exit(7)


class Named(PrepareSleep):
    name = "prepare-sleep"          # a built-in's name: refused


class KillsItself(PrepareSleep):
    """Its process is killed outright (SIGKILL, as the OOM killer does) on the back-off path."""

    def swapin_backoff(self, vmf):
        yield from self.si.swap_map[vmf.entry].read("READ_ONCE(swap_map)")
        os.kill(os.getpid(), signal.SIGKILL)


class BugOn(PrepareSleep):
    """Reports a kernel BUG the way the model does (Violation("crash")): stays a crash."""

    def swapin_backoff(self, vmf):
        yield from self.si.swap_map[vmf.entry].read("READ_ONCE(swap_map)")
        raise Violation("crash", "VM_BUG_ON: a back-off with the pin held")


class BlocksAlarm(PrepareSleep):
    """Blocks the watchdog's signal, then never yields: only a kill from outside stops it."""

    def swapin_backoff(self, vmf):
        yield from self.si.swap_map[vmf.entry].read("READ_ONCE(swap_map)")
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
        while True:
            pass
