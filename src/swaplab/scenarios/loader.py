"""Scenario files: TOML describing the initial state, one list of operations per thread, and
optionally the verdict expected per design.  Nothing in a scenario is executed; every field is
validated, and an error names the file, the line and what to do about it.

    name = "slot-reuse"
    description = "..."
    [device]
    slots = 1                 # swap slots on the device
    synchronous = true        # SWP_SYNCHRONOUS_IO (zram)
    allocation = "lowest"     # or "any": every free slot is explored
    vm_swap_full = "never"    # or "computed": nr_swap_pages * 2 < total_swap_pages
    read_errors = []          # slots whose every read fails (zram: decompression error)
    slot_cache = false        # the per-cpu swap slot cache (mm/swap_slots.c)
    slot_cache_size = 64      # its batch, SWAP_SLOTS_CACHE_SIZE (1 to 64; needs slot_cache)
    [[mm]]
    name = "A"
    pages = [{ state = "swapped", value = 1 }]   # present | swapped | swapcache | none
    [[thread]]
    name = "T0"
    mm = "A"
    ops = ["read 0"]
    [expect]
    bypass = "data-loss"      # a violation kind, or "ok"

Operations: read A | write A V | pageout A.. | willneed A.. | dontneed A.. | munmap A.. |
fork CHILD | exit | swapoff | reclaim (one pass of background reclaim over the LRU).  A.. is
one or more page numbers, or "all".
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

VERDICTS = ("ok", "data-loss", "stale-mapping", "accounting", "leak", "use-after-free", "deadlock",
            "livelock", "crash", "step-bound")
OP_KINDS = {"read": 1, "write": 2, "pageout": -1, "willneed": -1, "dontneed": -1, "munmap": -1,
            "fork": 1, "exit": 0, "swapoff": 0, "reclaim": 0}
PAGE_STATES = ("present", "swapped", "swapcache", "none")


class ScenarioError(Exception):
    """A scenario file is wrong.  str() is the full message: file:line: what, and the fix."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


@dataclass
class Device:
    slots: int = 4
    synchronous: bool = True
    allocation: str = "lowest"
    # vm_swap_full(): "never" (the model's simplification, the default) or "computed" as
    # include/linux/swap.h does (docs/model.md, "vm_swap_full")
    vm_swap_full: str = "never"
    # slots whose reads fail (swap_read_folio leaves the folio !uptodate: do_swap_page SIGBUS)
    read_errors: list = field(default_factory=list)
    # the per-cpu swap slot cache (mm/swap_slots.c): off by default (docs/model.md, "widen e")
    slot_cache: bool = False
    slot_cache_size: int = 64          # SWAP_SLOTS_CACHE_SIZE


@dataclass
class Page:
    state: str
    value: int = 0
    slot: int | None = None
    exclusive: bool = True


@dataclass
class MMSpec:
    name: str
    pages: list[Page] = field(default_factory=list)
    forked_from: str | None = None


@dataclass
class Op:
    kind: str
    addrs: list[int] = field(default_factory=list)
    value: int | None = None
    child: str | None = None

    def __str__(self) -> str:
        if self.kind == "write":
            return f"write {self.addrs[0]} {self.value}"
        if self.kind == "fork":
            return f"fork {self.child}"
        return " ".join([self.kind] + [str(a) for a in self.addrs])


@dataclass
class ThreadSpec:
    name: str
    mm: str
    ops: list[Op]


@dataclass
class Scenario:
    name: str
    description: str
    device: Device
    mms: list[MMSpec]
    threads: list[ThreadSpec]
    expect: dict[str, str] = field(default_factory=dict)
    probes: str = ""
    path: str = ""
    # design -> its line in the file: where an error points, not part of what the scenario is
    expect_lines: dict[str, int] = field(default_factory=dict, compare=False)

    def check_expect_names(self, known) -> None:
        """Refuse an [expect] entry for a design not in ``known`` (a misspelt design would
        otherwise leave its cells silently unchecked)."""
        for k in self.expect:
            if k not in known:
                raise ScenarioError(self.path or self.name, self.expect_lines.get(k),
                                    f"[expect] names {k!r}, which is not a design: known designs "
                                    f"are {', '.join(known)}; fix the name or remove the line")


class _Lines:
    """Find the line a value sits on (tomllib reports no positions for valid TOML)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def find(self, *needles: str, after: int = 0) -> int | None:
        for i in range(after, len(self.lines)):
            line = self.lines[i].split("#", 1)[0] if "#" in self.lines[i] and '"' not in self.lines[i] \
                else self.lines[i]
            if all(n in line for n in needles):
                return i + 1
        return None

    def key(self, key: str, after: int = 0) -> int | None:
        """The line of ``key = ...`` (bare or quoted)."""
        pat = re.compile(r'^\s*["\']?' + re.escape(key) + r'["\']?\s*=')
        for i in range(after, len(self.lines)):
            if pat.match(self.lines[i]):
                return i + 1
        return None

    def table(self, header: str, index: int) -> int | None:
        seen = -1
        for i, line in enumerate(self.lines):
            if line.strip() == header:
                seen += 1
                if seen == index:
                    return i + 1
        return None


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(p), None, "no such file: give a built-in scenario name "
                                          "(swaplab scenarios) or the path of a .toml file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(str(p), None, f"cannot read the file: {e}") from None
    return parse_scenario(text, str(p), default_name=p.stem)


def parse_scenario(text: str, path: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise ScenarioError(path, int(m.group(1)) if m else None,
                            f"not valid TOML: {e}. Fix the syntax at that line.") from None
    return _Validator(doc, text, path, default_name).scenario()


class _Validator:
    def __init__(self, doc, text, path, default_name):
        self.doc, self.path, self.default_name = doc, path, default_name
        self.lines = _Lines(text)

    def err(self, line, msg):
        raise ScenarioError(self.path, line, msg)

    def _int(self, v, what, line, lo=None, hi=None):
        if isinstance(v, bool) or not isinstance(v, int):
            self.err(line, f"{what} must be an integer, not {v!r}")
        if lo is not None and v < lo or hi is not None and v > hi:
            rng = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            self.err(line, f"{what} is {v}; it must be {rng}")
        return v

    def _known(self, table: dict, allowed, what, line):
        for k in table:
            if k not in allowed:
                self.err(self.lines.find(k) or line, f"unknown key {k!r} in {what}; "
                         f"allowed: {', '.join(sorted(allowed))}")

    def scenario(self) -> Scenario:
        d = self.doc
        self._known(d, {"name", "description", "probes", "device", "mm", "thread", "expect"}, "the scenario", 1)
        name = d.get("name", self.default_name)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            self.err(self.lines.find("name"), f"name must be letters, digits, '-', '_' or '.', not {name!r}")
        desc = d.get("description", "")
        if not isinstance(desc, str):
            self.err(self.lines.find("description"), "description must be a string")
        probes = d.get("probes", "")
        if not isinstance(probes, str):
            self.err(self.lines.find("probes"), "probes must be a string")
        device = self.device(d.get("device", {}))
        mms = self.mms(d.get("mm"), device)
        threads = self.threads(d.get("thread"), mms)
        expect = self.expect(d.get("expect", {}))
        head = self.lines.find("[expect]") or 1
        lines = {k: self.lines.key(k, after=head - 1) or head for k in expect}
        return Scenario(name, desc, device, mms, threads, expect, probes, self.path, lines)

    def device(self, t) -> Device:
        line = self.lines.find("[device]")
        if not isinstance(t, dict):
            self.err(line, "[device] must be a table")
        self._known(t, {"slots", "synchronous", "allocation", "vm_swap_full", "read_errors", "slot_cache",
                        "slot_cache_size"}, "[device]", line)
        dev = Device()
        if "slots" in t:
            dev.slots = self._int(t["slots"], "device.slots", self.lines.find("slots", after=(line or 1) - 1),
                                  1, 64)
        if "synchronous" in t:
            if not isinstance(t["synchronous"], bool):
                self.err(self.lines.find("synchronous"), "device.synchronous must be true or false")
            dev.synchronous = t["synchronous"]
        if "allocation" in t:
            if t["allocation"] not in ("lowest", "any"):
                self.err(self.lines.find("allocation"),
                         f"device.allocation is {t['allocation']!r}; use \"lowest\" or \"any\"")
            dev.allocation = t["allocation"]
        if "vm_swap_full" in t:
            if t["vm_swap_full"] not in ("never", "computed"):
                self.err(self.lines.find("vm_swap_full"),
                         f"device.vm_swap_full is {t['vm_swap_full']!r}; use \"never\" or \"computed\"")
            dev.vm_swap_full = t["vm_swap_full"]
        if "slot_cache" in t:
            if not isinstance(t["slot_cache"], bool):
                self.err(self.lines.key("slot_cache"), "device.slot_cache must be true or false")
            dev.slot_cache = t["slot_cache"]
        if "slot_cache_size" in t:
            dev.slot_cache_size = self._int(t["slot_cache_size"], "device.slot_cache_size",
                                            self.lines.key("slot_cache_size"), 1, 64)
            if not dev.slot_cache:
                self.err(self.lines.key("slot_cache_size"), "device.slot_cache_size needs slot_cache = true")
        if "read_errors" in t:
            el = self.lines.find("read_errors")
            if not isinstance(t["read_errors"], list):
                self.err(el, "device.read_errors must be a list of slot numbers, e.g. [0]")
            dev.read_errors = sorted({self._int(x, "a slot in device.read_errors", el, 0, dev.slots - 1)
                                      for x in t["read_errors"]})
        return dev

    def mms(self, arr, device) -> list[MMSpec]:
        if not isinstance(arr, list) or not arr:
            self.err(None, "a scenario needs at least one [[mm]] table (a process with its pages)")
        out: list[MMSpec] = []
        names: set[str] = set()
        slots_used = 0
        for i, t in enumerate(arr):
            line = self.lines.table("[[mm]]", i)
            if not isinstance(t, dict):
                self.err(line, "each [[mm]] must be a table")
            self._known(t, {"name", "pages", "forked_from"}, "[[mm]]", line)
            name = t.get("name")
            if not isinstance(name, str) or not name:
                self.err(line, "every [[mm]] needs a name = \"...\"")
            if name in names:
                self.err(line, f"two [[mm]] tables are named {name!r}; names must be unique")
            names.add(name)
            if "forked_from" in t:
                parent = t["forked_from"]
                if parent not in {m.name for m in out}:
                    self.err(self.lines.find("forked_from", after=(line or 1) - 1),
                             f"forked_from = {parent!r} must name an [[mm]] defined above this one")
                if "pages" in t:
                    self.err(line, "a forked mm shares its parent's pages: leave out pages")
                out.append(MMSpec(name, [], parent))
                continue
            pages_raw = t.get("pages")
            if not isinstance(pages_raw, list) or not pages_raw or len(pages_raw) > 16:
                self.err(self.lines.find("pages", after=(line or 1) - 1) or line,
                         "pages must be a list of 1 to 16 page tables, e.g. [{ state = \"swapped\", value = 1 }]")
            pages = []
            for j, pg in enumerate(pages_raw):
                pl = self.lines.find("pages", after=(line or 1) - 1) or line
                if not isinstance(pg, dict):
                    self.err(pl, f"page {j} of {name} must be a table like {{ state = \"present\", value = 1 }}")
                self._known(pg, {"state", "value", "slot", "exclusive"}, f"page {j} of {name}", pl)
                st = pg.get("state")
                if st not in PAGE_STATES:
                    self.err(pl, f"page {j} of {name}: state is {st!r}; use one of {', '.join(PAGE_STATES)}")
                val = self._int(pg.get("value", 0), f"page {j} of {name}: value", pl, 0)
                if st != "none" and val == 0:
                    self.err(pl, f"page {j} of {name}: give a non-zero value, so a lost page (which reads "
                                 "as zero) cannot pass for a correct one")
                slot = pg.get("slot")
                if slot is not None:
                    self._int(slot, f"page {j} of {name}: slot", pl, 0, device.slots - 1)
                    if st not in ("swapped", "swapcache"):
                        self.err(pl, f"page {j} of {name}: only a swapped page has a slot")
                excl = pg.get("exclusive", True)
                if not isinstance(excl, bool):
                    self.err(pl, f"page {j} of {name}: exclusive must be true or false")
                if st in ("swapped", "swapcache"):
                    slots_used += 1
                pages.append(Page(st, val, slot, excl))
            out.append(MMSpec(name, pages))
        if slots_used > device.slots:
            self.err(self.lines.find("slots"), f"the pages need {slots_used} swap slots but the device has "
                                               f"{device.slots}: raise device.slots")
        taken = [p.slot for m in out for p in m.pages if p.slot is not None]
        if len(taken) != len(set(taken)):
            self.err(None, "two pages name the same swap slot; each slot holds one page")
        return out

    def threads(self, arr, mms) -> list[ThreadSpec]:
        if not isinstance(arr, list) or not arr:
            self.err(None, "a scenario needs at least one [[thread]] table with ops = [...]")
        if len(arr) > 6:
            self.err(self.lines.table("[[thread]]", 6), "at most 6 threads: the search grows exponentially")
        names = set()
        out = []
        npages = {m.name: len(m.pages) for m in mms if not m.forked_from}
        for m in mms:
            if m.forked_from:
                npages[m.name] = npages[m.forked_from]
        children: set[str] = set()
        for i, t in enumerate(arr):
            line = self.lines.table("[[thread]]", i)
            if not isinstance(t, dict):
                self.err(line, "each [[thread]] must be a table")
            self._known(t, {"name", "mm", "ops"}, "[[thread]]", line)
            name = t.get("name", f"T{i}")
            if not isinstance(name, str) or name in names:
                self.err(line, f"thread name {name!r} must be a unique string")
            names.add(name)
            mm = t.get("mm", mms[0].name)
            if mm not in npages:
                self.err(self.lines.find("mm", after=(line or 1) - 1) or line,
                         f"thread {name}: mm = {mm!r} is not an [[mm]] of this scenario "
                         f"(known: {', '.join(npages)})")
            ops_raw = t.get("ops")
            if not isinstance(ops_raw, list) or not ops_raw:
                self.err(line, f"thread {name}: ops must be a non-empty list of strings like \"read 0\"")
            ops = []
            for s in ops_raw:
                ol = self.lines.find(f'"{s}"', after=(line or 1) - 1) if isinstance(s, str) else line
                if ops and ops[-1].kind == "exit":
                    # the task is gone: in the kernel nothing of it runs after do_exit
                    self.err(ol or line, f"thread {name}: {s!r} comes after \"exit\", and a task does "
                                         "nothing after it exits; end the thread's ops with \"exit\" or "
                                         "give the operation to another thread")
                ops.append(self.op(s, npages[mm], ol or line, name, children, npages))
            out.append(ThreadSpec(name, mm, ops))
        return out

    def op(self, s, npages, line, tname, children, npages_all) -> Op:
        if not isinstance(s, str) or not s.split():
            self.err(line, f"thread {tname}: each operation must be a string like \"read 0\", not {s!r}")
        words = s.split()
        kind, args = words[0], words[1:]
        if kind not in OP_KINDS:
            self.err(line, f"thread {tname}: unknown operation {kind!r}; use one of {', '.join(OP_KINDS)}")
        want = OP_KINDS[kind]
        if want >= 0 and len(args) != want or want < 0 and not args:
            usage = {"read": "read PAGE", "write": "write PAGE VALUE", "fork": "fork CHILD-NAME",
                     "exit": "exit", "swapoff": "swapoff"}.get(kind, f"{kind} PAGE [PAGE...] or {kind} all")
            self.err(line, f"thread {tname}: {s!r} has the wrong arguments; write \"{usage}\"")
        op = Op(kind)
        if kind == "fork":
            child = args[0]
            if child in npages_all or child in children:
                self.err(line, f"thread {tname}: fork {child}: an mm named {child!r} already exists")
            children.add(child)
            op.child = child
            return op
        if kind == "write":
            op.value = self._word_int(args[1], line, tname, "value", 1)
            args = args[:1]
        if args == ["all"]:
            op.addrs = list(range(npages))
        else:
            op.addrs = [self._word_int(a, line, tname, "page", 0, npages - 1) for a in args]
        return op

    def _word_int(self, w, line, tname, what, lo, hi=None):
        try:
            v = int(w, 0)
        except ValueError:
            self.err(line, f"thread {tname}: {what} {w!r} is not a number")
        if v < lo or hi is not None and v > hi:
            self.err(line, f"thread {tname}: {what} {v} is out of range "
                           f"({lo}..{hi})" if hi is not None else f"thread {tname}: {what} must be ≥ {lo}")
        return v

    def expect(self, t) -> dict[str, str]:
        line = self.lines.find("[expect]")
        if not isinstance(t, dict):
            self.err(line, "[expect] must be a table of design = \"verdict\"")
        for k, v in t.items():
            if v not in VERDICTS:
                self.err(self.lines.find(k, after=(line or 1) - 1) or line,
                         f"expect.{k} = {v!r}; use one of {', '.join(VERDICTS)}")
        return dict(t)
