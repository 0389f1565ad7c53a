"""swaplab hunt: the generator and its canonical forms, mutation, shrinking, dedup, the store and
resuming, the JSON document, the Dask path.  Hunts here are tiny (a few scenarios, small
budgets): the long runs are benchmarks/hunt_bench.py."""
from __future__ import annotations

import copy
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from swaplab.hunt.check import Budget, check_scenario, signature
from swaplab.hunt.coordinator import HuntConfig, hunt
from swaplab.hunt.enumerate import Bound, enumerate_scenarios, op_alphabet, raw_size
from swaplab.hunt.lang import canonical, is_canonical, to_toml, validated
from swaplab.hunt.mutate import mutate
from swaplab.hunt.seeds import seed_texts
from swaplab.hunt.shrink import Shrinker, ddmin, drop_page
from swaplab.hunt.store import Store
from swaplab.scenarios import builtin_names, get_scenario, history_names
from swaplab.scenarios.loader import Op, ThreadSpec

ROOT = Path(__file__).resolve().parents[1]
TINY = Budget(cheap_executions=60, cheap_seconds=2.0, full_executions=300, full_seconds=3.0,
              signal_executions=5)


# --- the language ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", builtin_names())
def test_to_toml_round_trips_every_builtin_scenario(name):
    s = get_scenario(name)
    back = validated(s)
    back.path = s.path
    assert back == s


def _renamed(s, rng: random.Random):
    """``s`` with threads shuffled, pages of each process permuted, mms, threads, children renamed
    and values replaced by other distinct values: the same scenario up to renaming."""
    s = copy.deepcopy(s)
    rng.shuffle(s.threads)
    mm_names = {m.name: f"P{rng.randrange(10**6)}x{i}" for i, m in enumerate(s.mms)}
    perms = {}
    for m in s.mms:
        if not m.forked_from:
            p = list(range(len(m.pages)))
            if not s.device.read_errors:      # with read errors page order is not a renaming (below)
                rng.shuffle(p)
            perms[m.name] = p
            new = [None] * len(m.pages)
            for old, pg in enumerate(m.pages):
                new[p[old]] = pg
            m.pages = new
    root = {}
    for m in s.mms:
        root[m.name] = root[m.forked_from] if m.forked_from else m.name
    used = sorted({pg.value for m in s.mms for pg in m.pages} | {o.value for t in s.threads for o in t.ops
                                                                 if o.value is not None} - {0})
    fresh = rng.sample(range(1, 1000), len(used))
    vmap = dict(zip(used, fresh)) | {0: 0}
    for m in s.mms:
        for pg in m.pages:
            pg.value = vmap[pg.value]
    kids = {}
    for i, t in enumerate(s.threads):
        t.name = f"W{rng.randrange(10**6)}x{i}"
        p = perms[root[t.mm]]
        for o in t.ops:
            o.addrs = [p[a] for a in o.addrs]
            if o.value is not None:
                o.value = vmap[o.value]
            if o.kind == "fork":
                kids.setdefault(o.child, f"K{len(kids)}z")
                o.child = kids[o.child]
    for t in s.threads:
        t.mm = mm_names[t.mm]
    for m in s.mms:
        m.name = mm_names[m.name]
        if m.forked_from:
            m.forked_from = mm_names[m.forked_from]
    return validated(s)


def _sample_scenarios():
    out = [get_scenario(n) for n in builtin_names()]
    two = (s for _, s in enumerate_scenarios(Bound(2, 2, 2, 2), start=40000) if len(s.threads) == 2)
    out += list(itertools.islice(two, 0, 4000, 100))
    rng = random.Random(5)
    s = get_scenario("two-pages-swap-slots")
    for _ in range(30):
        s = mutate(rng, s) or s
        out.append(s)
    return out


def test_canonical_form_is_invariant_under_random_renamings():
    rng = random.Random(11)
    for s in _sample_scenarios():
        c = canonical(s)
        for _ in range(3):
            assert canonical(_renamed(s, rng)) == c, to_toml(s)


def test_read_errors_and_vm_swap_full_survive_to_toml_and_keep_page_order():
    s = get_scenario("two-pages-swap-slots")
    s.device.read_errors, s.device.vm_swap_full = [0], "computed"
    back = validated(s)
    assert (back.device.read_errors, back.device.vm_swap_full) == ([0], "computed")
    assert canonical(back) != canonical(get_scenario("two-pages-swap-slots"))
    # the loader gives slots out in page order, so swapping the pages moves the failing read to
    # the other page: a different scenario, not a renaming
    swapped = copy.deepcopy(back)
    swapped.mms[0].pages.reverse()
    for t in swapped.threads:
        for o in t.ops:
            o.addrs = sorted(1 - a for a in o.addrs)
    assert canonical(validated(swapped)) != canonical(back)


def test_canonical_form_tells_different_scenarios_apart():
    s = get_scenario("slot-reuse")
    other = copy.deepcopy(s)
    other.threads[1].ops[0], other.threads[1].ops[1] = other.threads[1].ops[1], other.threads[1].ops[0]
    assert canonical(other) != canonical(s)          # order of ops in a thread matters
    same_value = copy.deepcopy(s)
    same_value.threads[1].ops[0].value = 1           # writing the value the page holds is not a renaming
    assert canonical(same_value) != canonical(s)


WIDEN = sorted((ROOT / "tests" / "scenarios" / "widen").glob("*.toml"))


def _with_device(s, **options):
    c = copy.deepcopy(s)
    for k, v in options.items():
        setattr(c.device, k, v)
    return validated(c)


@pytest.mark.parametrize("path", WIDEN, ids=lambda p: p.stem)
def test_to_toml_round_trips_the_device_options(path):
    # each widen scenario as its file has it (vm_swap_full, slot_cache, read errors, reclaim),
    # and with each option of the device turned the other way
    s = get(path.read_text())
    flipped = "never" if s.device.vm_swap_full == "computed" else "computed"
    for c in (s, _with_device(s, read_errors=[0]), _with_device(s, vm_swap_full=flipped),
              _with_device(s, slot_cache=not s.device.slot_cache)):
        back = get(to_toml(c))
        back.path = c.path
        assert back == c
    assert get(to_toml(_with_device(s, read_errors=[0]))).device.read_errors == [0]


def test_the_widen_scenarios_use_the_device_options():
    # so that the round trip above meets each option as a file sets it
    devices = [get(p.read_text()).device for p in WIDEN]
    assert any(d.vm_swap_full == "computed" for d in devices)
    assert any(d.slot_cache for d in devices) and any(d.read_errors for d in devices)


def test_canonical_form_tells_device_options_apart():
    s = get_scenario("slot-reuse")                      # vm_swap_full "never", no read errors
    computed = _with_device(s, vm_swap_full="computed")
    erring = _with_device(s, read_errors=[0])
    two = _with_device(s, slots=2, read_errors=[1])
    keys = {canonical(x) for x in (s, computed, erring, two, _with_device(s, slots=2))}
    assert len(keys) == 5
    rng = random.Random(2)
    for x in (computed, erring, two):                   # still only up to renaming
        assert canonical(_renamed(x, rng)) == canonical(x)


def test_mutation_varies_the_device_options():
    s = get_scenario("two-pages-swap-slots")            # two slots, neither option set
    mutants = [m for m in (mutate(random.Random(f"d:{i}"), s) for i in range(300)) if m is not None]
    assert any(m.device.vm_swap_full == "computed" for m in mutants)
    assert any(m.device.read_errors for m in mutants)
    # every mutant went through the loader: a read error names a slot of its device
    assert all(x < m.device.slots for m in mutants for x in m.device.read_errors)


def test_shrinking_drops_device_options_the_failure_does_not_need():
    s = _with_device(get_scenario("slot-reuse"), vm_swap_full="computed", read_errors=[0])

    def fails(c):                                       # a stand-in predicate: T1 still writes
        return any(o.kind == "write" for t in c.threads for o in t.ops)
    small = Shrinker(fails, max_tries=60, time_limit=60).run(s)
    assert small.device.vm_swap_full == "never" and small.device.read_errors == []


def test_op_alphabet_has_every_operation_the_loader_accepts():
    from swaplab.scenarios.loader import OP_KINDS
    assert {k for k, _ in op_alphabet(1)} == set(OP_KINDS)
    # two pages: read/write each page (4), four range ops × 3 non-empty page sets (12), fork, exit,
    # swapoff, reclaim
    assert len(op_alphabet(2)) == 4 + 12 + 4


# Hand counts (the derivations):
# Bound 1,1,1,1: slots = 1, so allocation is "lowest" only; synchronous 2 ways; the page 4 states
#   (one swapped/swapcache page fits the one slot); without fork the thread is on A: 10 ops
#   (read, write, pageout, willneed, dontneed, munmap, fork, exit, swapoff, reclaim); with B
#   forked from A the thread is on A or B: 20.  No two differ by a renaming (one thread, one
#   page, values fixed by order): 2 × 4 × (10 + 20) = 240.
# Bound 2,1,1,1: threads are a multiset (thread order is a renaming, values and children are
#   renamed with them): without fork 10 + C(10+1, 2) = 10 + 55 = 65, with fork 20 + C(21, 2) = 20 +
#   210 = 230; 2 × 4 × (65 + 230) = 2360.
# Bound 1,1,2,1: the one-page part is 240 as above.  Two pages: 16 state pairs minus the 4 that
#   need two slots = 12; 20 ops (test above).  Renaming the two pages (Burnside, group of 2): raw
#   12 × 20 = 240 without fork; fixed by the swap are the pairs of equal states that fit
#   (present/present, none/none: 2) × the ops that name both pages or none (4 range ops on {0,1},
#   fork, exit, swapoff, reclaim: 8) = 16, so (240 + 16) / 2 = 128; with fork both counts double
#   (thread on A or B): (480 + 32) / 2 = 256.  2 × (128 + 256) = 768; in all 240 + 768 = 1008.
@pytest.mark.parametrize("bound, expected", [("1,1,1,1", 240), ("2,1,1,1", 2360), ("1,1,2,1", 1008)])
def test_enumeration_size_matches_the_hand_count(bound, expected):
    got = list(enumerate_scenarios(Bound.parse(bound)))
    assert len(got) == expected
    keys = {repr(canonical(s)) for _, s in got}
    assert len(keys) == len(got)                     # no two emitted scenarios are renamings


def test_enumeration_emits_valid_canonical_scenarios_and_resumes_at_a_position():
    b = Bound(2, 2, 1, 1)
    first = []
    for pos, s in enumerate_scenarios(b):
        assert is_canonical(s)
        validated(s)
        first.append((pos, to_toml(s)))
        if len(first) == 300:
            break
    keys = {repr(canonical(validated_s)) for validated_s in (validated(get(t)) for _, t in first)}
    assert len(keys) == len(first)
    mid = first[150][0]
    resumed = [(p, to_toml(s)) for p, s in itertools.islice(enumerate_scenarios(b, start=mid), 150)]
    assert resumed == first[150:]
    assert raw_size(b) > first[-1][0]


def get(toml_text):
    from swaplab.scenarios.loader import parse_scenario
    return parse_scenario(toml_text)


def test_mutation_is_valid_deterministic_and_changes_the_scenario():
    s = get_scenario("two-faults")
    a = [mutate(random.Random(f"7:{i}"), s) for i in range(40)]
    b = [mutate(random.Random(f"7:{i}"), s) for i in range(40)]
    assert [to_toml(x) for x in a] == [to_toml(x) for x in b]
    assert all(x is not None for x in a)
    assert sum(canonical(x) != canonical(s) for x in a) >= 35   # a swap of equal ops can be a no-op


# --- shrinking ------------------------------------------------------------------------------------
def test_ddmin_finds_a_one_minimal_subset():
    calls = []

    def test(xs):
        calls.append(xs)
        return 3 in xs and 7 in xs
    assert sorted(ddmin(list(range(10)), test)) == [3, 7]


def test_drop_page_renumbers_addresses_and_drops_empty_ops():
    s = get_scenario("two-pages-swap-slots")
    c = drop_page(s, 0, 0)
    assert len(c.mms[0].pages) == 1
    assert [str(o) for t in c.threads for o in t.ops] == ["write 0 4", "pageout 0"]


def test_shrinking_keeps_the_violation_and_drops_what_does_not_matter():
    from swaplab.designs import get_design
    from swaplab.hunt.check import REFERENCE, _run, describe
    s = get_scenario("slot-reuse")
    s.threads.append(ThreadSpec("T2", "A", [Op("willneed", [0])]))
    s.threads[0].ops.append(Op("read", [0]))
    s.mms[0].pages[0].value = 41
    s = validated(s)
    bypass, ref = get_design("bypass"), get_design(REFERENCE)
    budget = Budget(cheap_executions=100, cheap_seconds=2.0)
    v = _run(bypass, s, "cheap", budget)
    sig = signature("bypass", describe(bypass, s, v, ref)["violation"])

    def fails(c):
        w = _run(bypass, c, "cheap", budget)
        return w.violation is not None and signature("bypass", describe(bypass, c, w, ref)["violation"]) == sig
    small = Shrinker(fails, max_tries=60, time_limit=60).run(s)
    assert fails(validated(small))
    assert len(small.threads) == 2
    assert sum(len(t.ops) for t in small.threads) <= 3
    assert small.mms[0].pages[0].value == 1          # values renumbered


# --- checking, dedup ------------------------------------------------------------------------------
def test_signature_is_the_same_for_renamed_scenarios_and_names_the_kernel_function():
    s = get_scenario("slot-reuse")
    r1 = check_scenario({"toml": to_toml(s), "designs": ["bypass"], "budget": TINY.to_json(), "coverage": False})
    r2 = check_scenario({"toml": to_toml(_renamed(s, random.Random(3))), "designs": ["bypass"],
                         "budget": TINY.to_json(), "coverage": False})
    v1, v2 = r1["results"]["bypass"]["violation"], r2["results"]["bypass"]["violation"]
    assert signature("bypass", v1) == signature("bypass", v2)
    assert v1["kind"] == "data-loss"
    assert r1["reference"]["status"] == "ok"         # the classic design survives the race of 13ddaf26
    assert v1["reference"].startswith("diverges")    # and leaves the bypass's schedule (it waits)


def test_differential_flags_designs_that_must_agree():
    from swaplab.hunt.check import differential
    res = {"prepare-busy": {"status": "ok", "complete": "complete"},
           "prepare-sleep": {"status": "data-loss", "complete": "n/a"},
           "prepare-schedule": {"status": "livelock", "complete": "n/a"}}
    d = differential(res)
    assert len(d) == 1 and d[0]["verdicts"]["prepare-sleep"] == "data-loss"
    res["prepare-sleep"]["status"] = "deadlock"      # liveness differs, safety agrees
    assert differential(res) == []


# --- the store, resuming, the command --------------------------------------------------------------
def _cfg(tmp_path, **kw):
    base = dict(designs=["bypass"], store=tmp_path / "hunt.db", bound=Bound(2, 1, 1, 1), budget=TINY,
                full=False, shrink_seconds=10.0, shrink_tries=20)
    base.update(kw)
    return HuntConfig(**base)


def test_a_hunt_resumes_where_it_stopped(tmp_path):
    r1 = hunt(_cfg(tmp_path, max_scenarios=6))
    assert r1.scenarios >= 6 and not r1.interrupted
    st = Store(tmp_path / "hunt.db")
    pos1, mut1, corpus1 = st.get("enum-by-size:2,1,1,1"), st.get("mutation:0"), st.corpus_size()
    st.close()
    assert pos1 > 0 and corpus1 >= 1
    r2 = hunt(_cfg(tmp_path, max_scenarios=r1.scenarios + 4))
    st = Store(tmp_path / "hunt.db")
    assert st.get("enum-by-size:2,1,1,1") > pos1              # the enumeration went on, not back to 0
    assert st.get("mutation:0") >= mut1
    assert st.corpus_size() >= corpus1
    st.close()
    assert r2.scenarios >= r1.scenarios + 4


def test_ctrl_c_keeps_the_store_and_reports_interrupted(tmp_path):
    seen = []

    def progress(st):
        seen.append(st["scenarios"])
        if st["scenarios"] >= 3:
            raise KeyboardInterrupt
    r = hunt(_cfg(tmp_path, max_scenarios=50), progress=progress)
    assert r.interrupted
    st = Store(tmp_path / "hunt.db")
    assert st.get("scenarios") == r.scenarios >= 3
    st.close()


def test_ctrl_c_during_the_coverage_signal_run_reports_the_check_interrupted(monkeypatch):
    # the engine turns Ctrl-C into an interrupted result; the signal run's result used to be
    # dropped, so a Ctrl-C that landed there was lost and the hunt went on
    import swaplab.hunt.check as check_mod
    real = check_mod.explore

    def ctrl_c(stats):
        raise KeyboardInterrupt

    def explore(*a, **kw):
        if kw.get("minimize") is False:        # the signal run
            kw.update(progress=ctrl_c, progress_every=0.0)
        return real(*a, **kw)
    monkeypatch.setattr(check_mod, "explore", explore)
    r = check_scenario({"toml": to_toml(get_scenario("two-faults")), "designs": ["swapcache"],
                        "budget": TINY.to_json(), "coverage": True})
    assert r["interrupted"]
    assert r["results"]["swapcache"]["interrupted"] is False     # the cheap search itself ran through


def test_findings_are_deduplicated_counted_and_reproduce_with_swaplab_check(tmp_path):
    # The race of 13ddaf26 (slot-reuse) on bypass, twice under other names: one signature,
    # counted twice, reproducible (shrinking has its own test above).
    s = get_scenario("slot-reuse")
    rng = random.Random(2)
    initial = [to_toml(_renamed(s, rng)) for _ in range(2)]
    r = hunt(_cfg(tmp_path, designs=["bypass"], initial=initial, enumerate=False, mutate=False,
                  max_scenarios=2, shrink=False))
    sigs = [f["signature"] for f in r.findings]
    assert len(sigs) == len(set(sigs))
    race = [f for f in r.findings if f["kind"] == "data-loss"]
    assert len(race) == 1 and race[0]["count"] == 2 and race[0]["reference_ok"] is True
    assert not race[0]["shrunk"]
    # a hunt stopped before shrinking: the next run on the store shrinks first
    r = hunt(_cfg(tmp_path, designs=["bypass"], enumerate=False, mutate=False, max_scenarios=2,
                  shrink_tries=2, shrink_seconds=5.0))
    race = [f for f in r.findings if f["kind"] == "data-loss"]
    assert race[0]["shrunk"] and race[0]["count"] == 2
    for f in r.findings:
        if f["scenario_file"] is None:
            continue
        cmd = f["reproduce"].split()
        assert cmd[:2] == ["swaplab", "check"]
        out = subprocess.run([sys.executable, "-m", "swaplab.cli"] + cmd[1:] + ["--json"], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 1, (f, out.stdout[-2000:], out.stderr[-2000:])
        assert json.loads(out.stdout)["verdict"] == f["kind"]
        replay = subprocess.run([sys.executable, "-m", "swaplab.cli", "replay", f["trace_file"], "--json"],
                                capture_output=True, text=True, timeout=60)
        assert json.loads(replay.stdout)["outcome"]["kind"] == f["kind"]
    assert sum(f["count"] for f in r.findings) >= len(r.findings)


def test_seeds_are_bare_library_scenarios_checked_first_and_kept_in_the_corpus(tmp_path):
    texts = seed_texts(["builtin", "history"])
    assert len(texts) == len(builtin_names()) + len(history_names())
    for t in texts:
        s = validated(get(t))
        assert s.expect == {} and s.description == "" and s.name.startswith("seed-")
    assert seed_texts(["none"]) == []
    assert len(seed_texts([str(ROOT / "tests" / "scenarios")])) == len(list((ROOT / "tests" / "scenarios").glob("*.toml")))
    # two seeds, no other source: both checked, both in the corpus whatever coverage they add,
    # and bypass fails slot-reuse's race at once (the seed is the scenario of 13ddaf26)
    two = seed_texts([str(ROOT / "src" / "swaplab" / "scenarios" / n) for n in ("slot-reuse.toml", "two-faults.toml")])
    r = hunt(_cfg(tmp_path, designs=["bypass"], initial=two, enumerate=False, mutate=False, max_scenarios=2,
                  shrink=False))
    assert r.scenarios == 2 and r.corpus == 2
    assert [f["kind"] for f in r.findings] == ["data-loss"]


def test_hunt_json_matches_its_schema_and_corpus_exports(tmp_path):
    import jsonschema
    schema = json.loads((ROOT / "docs" / "schema" / "hunt.json").read_text())
    store = tmp_path / "h.db"
    out = subprocess.run([sys.executable, "-m", "swaplab.cli", "hunt", "-d", "bypass", "--store", str(store),
                          "--max-scenarios", "4", "--bound", "2,1,1,1", "--seeds", "none", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, schema)
    assert doc["scenarios"] >= 4 and 0 < doc["coverage"]["branches_hit"] <= doc["coverage"]["branches_total"]
    exp = subprocess.run([sys.executable, "-m", "swaplab.cli", "hunt", "--store", str(store), "--export-corpus",
                          str(tmp_path / "corpus")], capture_output=True, text=True, timeout=60)
    assert exp.returncode == 0, exp.stderr
    files = sorted((tmp_path / "corpus").glob("*.toml"))
    assert files
    for f in files:
        validated(get(f.read_text()))
    rep = subprocess.run([sys.executable, "-m", "swaplab.cli", "hunt", "--store", str(store), "--report", "--html",
                          str(tmp_path / "r.html")], capture_output=True, text=True, timeout=60)
    assert rep.returncode == (1 if doc["findings"] else 0), rep.stderr
    assert f"{doc['scenarios']} scenarios checked" in rep.stdout
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")


def test_bad_bound_and_design_are_bad_input(tmp_path):
    for args in (["--bound", "2,2"], ["-d", "nosuch"], ["--seeds", str(tmp_path / "nowhere")]):
        out = subprocess.run([sys.executable, "-m", "swaplab.cli", "hunt", "--store", str(tmp_path / "x.db")] + args,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr


def test_dask_local_cluster_runs_a_tiny_hunt(tmp_path):
    pytest.importorskip("distributed")
    r = hunt(_cfg(tmp_path, dask=True, workers=2, max_scenarios=4, shrink=False))
    assert r.scenarios >= 4 and not r.interrupted
    st = Store(tmp_path / "hunt.db")
    assert st.corpus_size() >= 1
    st.close()
