"""The hunt's loop (syzkaller's manager): choose the next scenario, hand it to a worker, learn
from the plain data that comes back, keep what matters in the store.  The coordinator alone
writes the store; workers only check (check.check_scenario) and shrink (findings.shrink_finding).

Seeds (seeds.py: by default the built-in library and the history gallery) get the cheap check
first and enter the corpus.  Then scenarios come from two sources, alternately: the exhaustive enumeration
up to the bound (its position is stored) and mutations of the corpus (the n-th mutation draws
from a generator seeded with (seed, n); n is stored).  A scenario enters the corpus when its
cheap check reached an arc no scenario reached before; it then also gets the full stateful
search (unless the cheap search already explored every interleaving), as does one whose cheap
search ran out of budget or on which designs that must agree disagree.  Every violation is
deduplicated by its signature; a new one is written at once as found, then shrunk.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ..designs import get_design
from ..scenarios.loader import parse_scenario
from .check import REFERENCE, Budget, check_scenario, signature
from .enumerate import Bound, enumerate_scenarios
from .findings import shrink_finding, write_files
from .lang import canonical_key, to_toml
from .mutate import Limits, mutate
from .pool import make_pool
from .signal import branch_universe, branches_hit, kernel_files, measured_files
from .store import Store


@dataclass
class HuntConfig:
    designs: list[str]
    store: Path = Path(".swaplab/hunt.db")
    bound: Bound = field(default_factory=Bound)
    seed: int = 0
    time_limit: float | None = None
    max_scenarios: int | None = None       # stop after this many checked (tests, benchmarks)
    workers: int = 1
    scheduler: str | None = None
    dask: bool = False                     # a local Dask cluster instead of a process pool
    budget: Budget = field(default_factory=Budget)
    limits: Limits = field(default_factory=Limits)
    enumerate: bool = True
    mutate: bool = True
    full: bool = True                      # the full stateful search for scenarios that matter
    shrink: bool = True
    shrink_tries: int = 300
    shrink_seconds: float = 60.0
    initial: list[str] = field(default_factory=list)   # TOML texts checked first (seeds of a corpus)

    @property
    def findings_dir(self) -> Path:
        return self.store.parent / "findings"


@dataclass
class HuntResult:
    scenarios: int
    branches_hit: int
    branches_total: int
    kernel_branches_hit: int
    kernel_branches_total: int
    findings: list[dict]
    seconds: float
    interrupted: bool
    corpus: int
    enumeration_done: bool

    def to_json(self) -> dict:
        keys = ("design", "kind", "signature", "count", "scenario_file", "trace_file", "preemptions", "steps",
                "reference_ok", "reproduce")
        return {"scenarios": self.scenarios,
                "coverage": {"branches_hit": self.branches_hit, "branches_total": self.branches_total},
                "findings": [{k: f[k] for k in keys} for f in self.findings],
                "seconds": round(self.seconds, 3), "interrupted": self.interrupted}


class Coordinator:
    def __init__(self, cfg: HuntConfig, progress=None):
        self.cfg = cfg
        self.progress = progress
        for d in cfg.designs:
            get_design(d)                       # fail early on a bad name
        self.store = Store(cfg.store)
        self.universe = branch_universe(measured_files([get_design(d) for d in cfg.designs]))
        self.kernel_universe = branch_universe(kernel_files())
        self.arcs = self.store.arcs()
        # the raw position means something only in one order of the stream: a store from the
        # session-5 order ("enum:T,K,P,S") starts this enumeration from the beginning
        self.bkey = f"enum-by-size:{cfg.bound}"
        self.mkey = f"mutation:{cfg.seed}"
        self.enum_pos = self.store.get(self.bkey, 0)
        self.mut_n = self.store.get(self.mkey, 0)
        self.scenarios = self.store.get("scenarios", 0)
        self.seconds_before = self.store.get("seconds", 0.0)
        self.enum = enumerate_scenarios(cfg.bound, self.enum_pos) if cfg.enumerate else iter(())
        self.enum_done = not cfg.enumerate or self.store.get(self.bkey + ":done", False)
        self.in_flight_pos: set[int] = set()
        self.checked: set[str] = set()
        self.full_queue: deque = deque()
        self.shrink_queue: deque = deque()
        self.shrinking: dict[str, int] = {}    # signature -> hits while it is being shrunk
        self.turn = 0
        self.initial = deque(t for t in cfg.initial if not self.store.get(_initial_key(t), False))
        self.corpus = [t for _, t in self.store.corpus()]
        if cfg.shrink:                          # findings a stopped hunt had not shrunk yet
            for f in self.store.findings():
                if not f["shrunk"] and f["kind"] != "differential":
                    self._queue_shrink(f["signature"], f["design"], f["toml"], f["phase"] or "cheap")
        self.t0 = time.monotonic()
        self._s0 = self.scenarios
        self.enum_next = self.enum_pos            # the raw position after the last one handed out
        self.cheap_in_flight = 0

    # --- the sources ------------------------------------------------------------------------
    def _next_enumerated(self):
        if self.enum_done:
            return None
        for pos, s in self.enum:
            self.enum_pos, self.enum_next = pos, pos + 1
            return pos, s
        self.enum_done = True
        self.store.put(self.bkey + ":done", True)
        return None

    def _next_mutant(self):
        if not self.corpus:
            return None
        for _ in range(50):
            n = self.mut_n
            self.mut_n += 1
            rng = random.Random(f"{self.cfg.seed}:{n}")
            parent = parse_scenario(rng.choice(self.corpus), "<corpus>")
            m = mutate(rng, parent, self.cfg.limits)
            if m is None:
                continue
            m.name = f"mut-{n}"
            key = canonical_key(m)
            if key in self.checked:
                continue
            return m
        return None

    def _next_task(self):
        """(kind, payload, task) of the next thing to do, or None if there is nothing."""
        if self.shrink_queue:
            return self.shrink_queue.popleft()
        if self.full_queue:
            return self.full_queue.popleft()
        if self.initial:
            text = self.initial.popleft()
            s = parse_scenario(text, "<initial>")
            toml = to_toml(s)
            task = {"toml": toml, "designs": list(self.cfg.designs), "phase": "cheap",
                    "budget": self.cfg.budget.to_json(), "coverage": True}
            return ("cheap", {"origin": "initial", "key": canonical_key(s), "toml": toml, "initial": text}, task)
        order = ("enum", "mut") if self.turn % 2 == 0 or not self.cfg.mutate else ("mut", "enum")
        self.turn += 1
        for source in order:
            if source == "enum":
                got = self._next_enumerated()
                if got is None:
                    continue
                pos, s = got
                self.in_flight_pos.add(pos)
                origin, meta = "enumeration", {"pos": pos}
            else:
                if not self.cfg.mutate:
                    continue
                s = self._next_mutant()
                if s is None:
                    continue
                origin, meta = "mutation", {}
            key = canonical_key(s)
            self.checked.add(key)
            toml = to_toml(s)
            task = {"toml": toml, "designs": list(self.cfg.designs), "phase": "cheap",
                    "budget": self.cfg.budget.to_json(), "coverage": True}
            return ("cheap", {"origin": origin, "key": key, "toml": toml, **meta}, task)
        return None

    # --- the loop -----------------------------------------------------------------------------
    def run(self) -> HuntResult:
        cfg = self.cfg
        pool = make_pool(cfg.workers, cfg.scheduler, cfg.dask)
        pending: dict = {}
        interrupted = False
        try:
            while True:
                if self._should_stop():
                    break
                while len(pending) < 2 * pool.workers and not self._should_stop(submitting=True):
                    nxt = self._next_task()
                    if nxt is None:
                        break
                    kind, payload, task = nxt
                    fn = shrink_finding if kind == "shrink" else check_scenario
                    self.cheap_in_flight += kind == "cheap"
                    pending[pool.submit(fn, task)] = (kind, payload)
                if not pending:
                    break
                done, _ = pool.wait_any(set(pending), 0.5)
                for fut in done:
                    kind, payload = pending.pop(fut)
                    self.cheap_in_flight -= kind == "cheap"
                    result = fut.result()
                    if self._handle(kind, payload, result):
                        interrupted = True
                if interrupted:
                    break
                self._commit()
                if self.progress:
                    self.progress(self.status())
        except KeyboardInterrupt:
            interrupted = True
        finally:
            for fut in pending:
                fut.cancel()
            try:
                pool.close(cancel=True)
            except KeyboardInterrupt:
                interrupted = True
            self._commit()
        res = self.result(interrupted)
        self.store.close()
        return res

    def _should_stop(self, submitting: bool = False) -> bool:
        cfg = self.cfg
        if cfg.time_limit is not None and time.monotonic() - self.t0 >= cfg.time_limit:
            return True
        if submitting and cfg.max_scenarios is not None and self.scenarios + self._cheap_in_flight() >= cfg.max_scenarios:
            return not (self.full_queue or self.shrink_queue)
        if not submitting and cfg.max_scenarios is not None and self.scenarios >= cfg.max_scenarios:
            return not (self.full_queue or self.shrink_queue or self.shrinking)
        return False

    def _cheap_in_flight(self) -> int:
        return self.cheap_in_flight

    def _commit(self) -> None:
        done_before = min(self.in_flight_pos) if self.in_flight_pos else self.enum_next
        self.store.put(self.bkey, done_before)
        self.store.put(self.mkey, self.mut_n)
        self.store.put("scenarios", self.scenarios)
        self.store.put("seconds", self.seconds_before + time.monotonic() - self.t0)
        self.store.commit()

    # --- results ------------------------------------------------------------------------------
    def _handle(self, kind: str, payload: dict, r: dict) -> bool:
        """Learn from one result; True if the check was interrupted (Ctrl-C in the worker)."""
        if kind == "shrink":
            self._shrunk(payload, r)
            return False
        if kind == "cheap":
            if r["interrupted"]:
                return True             # its position stays in flight: a resumed hunt redoes it
            self.in_flight_pos.discard(payload.get("pos", -1))
            if "initial" in payload:
                self.store.put(_initial_key(payload["initial"]), True)
            self.scenarios += 1
            new = {}
            for f, arcs in r["arcs"].items():
                add = {tuple(a) for a in arcs} - self.arcs.get(f, set())
                if add:
                    new[f] = add
            n_new = sum(len(a) for a in new.values())
            for f, add in new.items():
                self.arcs.setdefault(f, set()).update(add)
            if new:
                self.store.add_arcs(new)
            if new or "initial" in payload:     # a seed is kept whatever it adds (seeds.py)
                verdicts = {d: [x["status"], x["complete"]] for d, x in r["results"].items()}
                if self.store.add_corpus(payload["key"], payload["toml"], payload["origin"], n_new, verdicts):
                    self.corpus.append(payload["toml"])
            suspicious = any(x["complete"] == "incomplete" for x in r["results"].values()) or r["differential"]
            # a cheap search that explored every interleaving leaves the full one nothing to find
            exhausted = all(x["complete"] == "complete" for x in r["results"].values())
            # a seed is a library scenario: the matrix (swaplab compare) runs its full search;
            # here it is only where mutation starts, and its full search cost minutes a design
            if (self.cfg.full and (new or suspicious) and not exhausted and "initial" not in payload
                    and all(x["status"] == "ok" for x in r["results"].values())):
                self.full_queue.append(("full", payload, {**self._task_of(payload), "phase": "full",
                                                          "coverage": False}))
        elif r["interrupted"]:
            return True
        for design, x in r["results"].items():
            if x.get("violation"):
                self._violation(design, x["violation"], payload, r, kind)
        for diff in r["differential"]:
            self._differential(diff, payload)
        return False

    def _task_of(self, payload):
        return {"toml": payload["toml"], "designs": list(self.cfg.designs),
                "budget": self.cfg.budget.to_json()}

    def _reference_ok(self, design: str, r: dict):
        if design == REFERENCE:
            return False
        ref = r.get("reference")
        return None if ref is None else ref["status"] == "ok"

    def _violation(self, design, v, payload, r, phase) -> None:
        sig = signature(design, v)
        if sig in self.shrinking:
            self.shrinking[sig] += 1
            return
        if self.store.bump_finding(sig):
            return
        scen, trace = write_files(self.cfg.findings_dir, design, sig, payload["toml"], v)
        self.store.add_finding({"signature": sig, "design": design, "kind": v["kind"], "function": v["function"],
                                "reference": v["reference"], "count": 1,
                                "reference_ok": self._reference_ok(design, r), "toml": payload["toml"],
                                "trace": _dumps(v["schedule"]), "message": v["message"],
                                "preemptions": v["preemptions"], "steps": v["steps"], "scenario_file": scen,
                                "trace_file": trace, "reproduce": reproduce_command(design, scen, phase, self.cfg.budget),
                                "phase": phase, "shrunk": 0, "first_seen": time.time()})
        if self.cfg.shrink:
            self._queue_shrink(sig, design, payload["toml"], phase)

    def _queue_shrink(self, sig, design, toml, phase) -> None:
        self.shrinking[sig] = 0
        self.shrink_queue.append(("shrink", {"signature": sig, "design": design, "phase": phase},
                                  {"toml": toml, "design": design, "signature": sig, "phase": phase,
                                   "budget": self.cfg.budget.to_json(), "max_tries": self.cfg.shrink_tries,
                                   "seconds": self.cfg.shrink_seconds}))

    def _shrunk(self, payload, r) -> None:
        sig, design = payload["signature"], payload["design"]
        extra = self.shrinking.pop(sig, 0)
        row = next((f for f in self.store.findings() if f["signature"] == sig), None)
        if row is None:
            return
        if r["violation"] is None:               # the budget cut the last check: keep it as found
            row["shrunk"] = 1
            self.store.add_finding(row)
            return
        v = r["violation"]
        scen, trace = write_files(self.cfg.findings_dir, design, sig, r["toml"], v)
        row.update({"count": row["count"] + extra, "reproduce": reproduce_command(
                        design, scen, payload.get("phase", "cheap"), self.cfg.budget), "toml": r["toml"], "trace": _dumps(v["schedule"]),
                    "message": v["message"], "preemptions": v["preemptions"], "steps": v["steps"],
                    "scenario_file": scen, "trace_file": trace, "shrunk": 1,
                    "reference_ok": False if design == REFERENCE else r["reference_status"] == "ok"})
        self.store.add_finding(row)

    def _differential(self, diff, payload) -> None:
        designs = "/".join(diff["designs"])
        verdicts = ", ".join(f"{d}={v}" for d, v in diff["verdicts"].items())
        sig = f"{designs}|differential|{verdicts}"
        if self.store.bump_finding(sig):
            return
        self.store.add_finding({"signature": sig, "design": designs, "kind": "differential", "function": "-",
                                "reference": "-", "count": 1, "reference_ok": None, "toml": payload["toml"],
                                "trace": "{}", "message": f"designs that must agree on safety differ: {verdicts}",
                                "preemptions": 0, "steps": 0, "scenario_file": None, "trace_file": None,
                                "shrunk": 1, "first_seen": time.time()})

    # --- reporting ----------------------------------------------------------------------------
    def status(self) -> dict:
        now = time.monotonic()
        return {"scenarios": self.scenarios, "seconds": now - self.t0,
                "rate": self.scenarios_this_session() / max(1e-9, now - self.t0),
                "branches_hit": branches_hit(self.arcs, self.universe),
                "branches_total": sum(len(u) for u in self.universe.values()),
                "findings": len(self.store.findings()), "corpus": len(self.corpus),
                "enumeration": "done" if self.enum_done else f"position {self.enum_pos}"}

    def scenarios_this_session(self) -> int:
        return self.scenarios - self._s0

    def result(self, interrupted: bool) -> HuntResult:
        return HuntResult(
            scenarios=self.scenarios, branches_hit=branches_hit(self.arcs, self.universe),
            branches_total=sum(len(u) for u in self.universe.values()),
            kernel_branches_hit=branches_hit(self.arcs, self.kernel_universe),
            kernel_branches_total=sum(len(u) for u in self.kernel_universe.values()),
            findings=self.store.findings(), seconds=time.monotonic() - self.t0, interrupted=interrupted,
            corpus=len(self.corpus), enumeration_done=self.enum_done)


def reproduce_command(design: str, scenario_file: str, phase: str, budget: Budget) -> str:
    """The `swaplab check` that finds it again: the search that found it (the default plan's
    stateful search and the bounded search with two preemptions can disagree: docs/hunt.md)."""
    search = (f"--strategy bounded --preemptions {budget.cheap_preemptions}" if phase == "cheap"
              else "--strategy stateful")
    return f"swaplab check -d {design} -s {scenario_file} {search}"


def _initial_key(text: str) -> str:
    return "initial:" + hashlib.sha1(text.encode()).hexdigest()


def _dumps(doc) -> str:
    return json.dumps(doc)


def hunt(cfg: HuntConfig, progress=None) -> HuntResult:
    return Coordinator(cfg, progress).run()
