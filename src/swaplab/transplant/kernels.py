"""Which real kernel stands for which design.

One patched source tree per version: the delay points (hooks.patch) always; a design whose code
a release no longer has gets a revert on top (its own cached kernel); a design that is a release
with a device property gets a runtime knob instead (no rebuild).  Designs that no release ever
had, or that later releases introduced, have no counterpart here and say why.
"""
from __future__ import annotations

from dataclasses import dataclass

VERSIONS = ("6.1",)


@dataclass(frozen=True)
class KernelDesign:
    design: str
    version: str
    variant: str | None            # extra patch file in kernel/<version>/, None: as shipped
    sync_io: bool                  # SWP_SYNCHRONOUS_IO allowed at swapon (/proc/swaplab sync_io)
    what: str                      # one line for the report and docs/validation.md


COUNTERPARTS = {
    "bypass": KernelDesign("bypass", "6.1", "revert-13ddaf26.patch", True,
                           "6.1 with 13ddaf26 reverted (the skip-swapcache path of v4.15–v6.7), zram swap"),
    "prepare-sleep": KernelDesign("prepare-sleep", "6.1", None, True,
                                  "6.1 as shipped (carries 13ddaf26, backported to stable), zram swap"),
    "swapcache": KernelDesign("swapcache", "6.1", None, False,
                              "6.1 as shipped, zram swapped on without SWP_SYNCHRONOUS_IO (as a device "
                              "without ->rw_page is): every swap-in goes through the swap cache"),
}

WHY_NOT = {
    "prepare-busy": "13ddaf26's v2 was never merged: no release has it (the merged v4 is prepare-sleep)",
    "prepare-schedule": "13ddaf26's v3 was never merged: no release has it (the merged v4 is prepare-sleep)",
    "prepare-waitqueue": "01626a18 (the wait queue) came after 6.1 and is not in Debian's 6.1 source",
    "swapcache-sync": "the 2025 swap-table rework (always through the swap cache) is not in 6.1",
    "pte-marker": "a proposal from the seed discussion that exists only in the model (no kernel has it)",
    "swapmap-inflight": "a proposal that exists only in the model (no kernel has it)",
    "count-pin": "the alternative turned down in the discussion: exists only in the model",
}


class NoCounterpart(Exception):
    """The design has no real kernel here; str() says why and which designs do."""


def counterpart(design: str, version: str = "6.1") -> KernelDesign:
    if version not in VERSIONS:
        raise NoCounterpart(f"kernel {version} is not supported: supported versions are {', '.join(VERSIONS)}")
    kd = COUNTERPARTS.get(design)
    if kd is not None and kd.version == version:
        return kd
    why = WHY_NOT.get(design, "a design from a file has no kernel counterpart")
    raise NoCounterpart(f"design {design!r} cannot run on a real kernel: {why}. Designs with a kernel "
                        f"counterpart on {version}: {', '.join(COUNTERPARTS)}")
