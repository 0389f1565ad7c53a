"""Mutation adequacy (swaplab.mutate): the generator, the patched designs, the score."""
from __future__ import annotations

import ast
import json

import pytest
from click.testing import CliRunner

from swaplab import mutate
from swaplab.cli import main
from swaplab.designs import DESIGNS
from swaplab.engine import explore
from swaplab.kernel import make_program
from swaplab.kernel.memory import Memory
from swaplab.mutate.mutants import build_function, mutated_tree, mutants_of
from swaplab.mutate.operators import OPERATORS, find_sites
from swaplab.mutate.run import CAUGHT, SURVIVED, MutantResult, run_mutant
from swaplab.mutate.reach import Baseline, baseline
from swaplab.mutate.score import EquivalentsError, load_equivalents, score
from swaplab.mutate.source import find_function, kernel_functions
from swaplab.scenarios import get_scenario

SWAPCACHE = DESIGNS["swapcache"]
PTE_SAME = "memory.do_swap_page:drop-check:6"     # `if not pte_same(...)`: back out


# --- the generator ------------------------------------------------------------------------------
def test_every_operator_has_sites_and_its_mutants_compile_to_a_different_function():
    ms = mutate.generate()
    assert {m.operator for m in ms} == set(OPERATORS)
    # every mutant of do_swap_page and every third of the rest (all of them: a few seconds more)
    for m in ms[::3] + mutate.generate(["memory.do_swap_page"]):
        original = ast.dump(find_function(m.key).node)
        assert ast.dump(mutated_tree(m)) != original, m.id
        f = build_function(m)
        assert f.__name__ == m.function and callable(f)


def test_ids_are_stable_unique_and_parse_back():
    a, b = mutate.generate(), mutate.generate()
    assert [m.id for m in a] == [m.id for m in b]
    assert len({m.id for m in a}) == len(a)
    for m in a[::17]:
        assert mutate.parse_id(m.id) == m


def test_bad_ids_say_what_is_wrong():
    for bad, words in (("nonsense", "not a mutant id"), ("memory.do_swap_page:frobnicate:0", "no operator"),
                       ("memory.do_swap_page:drop-check:999", "no drop-check site number 999")):
        with pytest.raises(mutate.MutantError, match=words):
            mutate.parse_id(bad)


def test_the_description_names_file_function_line_and_the_change():
    m = mutate.parse_id(PTE_SAME)
    fn = find_function(m.key)
    assert m.describe() == f"memory.py:do_swap_page:{m.line} drop check `if not pte_same(...)`"
    # the line is the `if` in the real file
    assert "if not pte_same(" in open(fn.path).read().splitlines()[m.line - 1]


def test_the_model_s_own_assertions_are_not_mutated():
    # _swap_entry_free_locked's `if count == 0: raise Violation(...)` is the model detecting a
    # double free: dropping it could only hide violations, negating it only fire them
    fn = find_function("swapfile._swap_entry_free_locked")
    for op in ("drop-check", "negate", "off-by-one"):
        assert not any("count == 0" in s.what or "not has_cache" in s.what
                       for s in find_sites(fn.node, op, {})), op


def test_drop_check_keeps_the_steps_of_its_test():
    # folio_lock_or_retry's first check is a trylock: the trylock must still be attempted
    m = next(m for m in mutants_of(find_function("memory.folio_lock_or_retry"), ("drop-check",)) if m.index == 0)
    text = ast.unparse(mutated_tree(m))
    assert "trylock" in text and "and False" in text


def test_split_step_inserts_a_second_step_declaring_the_same_objects():
    m = next(m for m in mutate.generate(["memory.do_swap_page"], ("split-step",)) if "cell.value = new" in m.what)
    tree = mutated_tree(m)
    steps = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Step"
             and "set_pte_at" in ast.unparse(n)]
    assert len(steps) == 2 and ast.dump(steps[0]) == ast.dump(steps[1])


def test_split_rmw_becomes_a_read_then_a_write():
    m = next(m for m in mutate.generate(["swap_state.add_to_swap_cache"], ("split-step",)) if "rmw" in m.what)
    text = ast.unparse(mutated_tree(m))
    assert "folio.ref.read(" in text and "folio.ref.write(" in text and "folio.ref.rmw(" not in text


def test_drop_lock_removes_the_unlocks_of_the_same_lock_in_the_function():
    m = next(m for m in mutate.generate(["rmap.try_to_unmap_one"], ("drop-lock",)))
    text = ast.unparse(mutated_tree(m))
    assert "ptl.lock" not in text and "ptl.unlock" not in text


# --- the patched design ----------------------------------------------------------------------------
def test_a_patched_design_replaces_one_method_and_leaves_the_kernel_alone():
    m = mutate.parse_id(PTE_SAME)
    original = Memory.do_swap_page
    patched = mutate.patched_design(m, SWAPCACHE)
    assert issubclass(patched, SWAPCACHE) and patched.name == "swapcache" and patched.mutant == m.id
    assert patched.do_swap_page is not original and Memory.do_swap_page is original
    assert SWAPCACHE.do_swap_page is original
    code = patched.do_swap_page.__code__
    assert code.co_filename == find_function(m.key).path       # tracebacks point into the real file
    assert code.co_qualname == "Memory.do_swap_page"
    assert code.co_firstlineno == original.__code__.co_firstlineno
    # every other method is the design's own
    assert patched.folio_put is SWAPCACHE.folio_put


def test_a_mutant_of_a_function_the_design_overrides_is_not_applicable():
    sync = DESIGNS["swapcache-sync"]          # overrides should_try_to_free_swap
    m = mutants_of(find_function("memory.should_try_to_free_swap"), ("drop-check",))[0]
    assert mutate.applies_to(m, SWAPCACHE) and not mutate.applies_to(m, sync)
    with pytest.raises(mutate.MutantError, match="overrides should_try_to_free_swap"):
        mutate.patched_design(m, sync)


def test_dropping_pte_same_in_do_swap_page_breaks_two_faults():
    """Derived by hand: T0 and T1 fault on one swapped page.  T1 reads the swap PTE, then T0
    swaps the page in through the swap cache, maps it and swap_free()s the slot (count 1 -> 0,
    SWAP_HAS_CACHE left, the folio stays cached since the fault is a read).  T1 finds the folio
    in the cache, locks it, passes the swap-cache recheck; without pte_same it calls swap_free
    again: a count of 0 is dropped again, the model's "swap count underflow" (accounting).  One
    preemption.  The unmutated kernel backs out at pte_same (the built-in matrix: ok)."""
    sc = get_scenario("two-faults")
    ok = explore(make_program(SWAPCACHE, sc), "bounded", preemptions=1, minimize=False)
    assert not ok.violations and ok.stats.complete
    m = mutate.parse_id(PTE_SAME)
    r = explore(make_program(mutate.patched_design(m, SWAPCACHE), sc), "bounded", preemptions=1)
    assert r.violations, "the mutant should lose its swap count"
    v = r.violations[0]
    assert v.kind == "accounting" and "underflow" in v.message and v.preemptions == 1


def test_run_mutant_catches_and_reports_survivors():
    sc = get_scenario("two-faults")
    b = baseline(SWAPCACHE, sc, time_limit=60)
    assert b.verdict == "ok" and b.complete and "memory.do_swap_page" in b.reached
    budget = mutate.Budget(time_limit=30)
    caught = run_mutant(mutate.parse_id(PTE_SAME), SWAPCACHE, [sc], {sc.name: b}, budget)
    assert caught.status == CAUGHT and caught.caught_by["scenario"] == "two-faults"
    assert caught.caught_by["phase"] == "bounded" and caught.caught_by["kind"] == "accounting"
    # two-faults never forks: copy_page_range is not reached, so its mutants are not searched
    fork = mutants_of(find_function("memory.copy_page_range"), ("skip-ref",))[0]
    r = run_mutant(fork, SWAPCACHE, [sc], {sc.name: b}, budget)
    assert r.status == "unreached" and not r.searches


def test_probe_design_records_reached_functions_only():
    b = baseline(SWAPCACHE, get_scenario("two-faults"), time_limit=60)
    assert {"memory.do_swap_page", "memory.folio_lock_or_retry", "swap_state.swap_read_folio"} <= b.reached
    assert not {"madvise.fork", "swapoff.swapoff", "vmscan.pageout"} & b.reached
    assert all(k in {f.key for f in kernel_functions()} for k in b.reached)


# --- the score --------------------------------------------------------------------------------------
def _result(mid: str, status: str, design: str = "swapcache") -> MutantResult:
    return MutantResult(mutate.parse_id(mid), design, status)


def test_score_leaves_decided_equivalents_out_of_the_denominator(tmp_path):
    ms = mutate.generate(["memory.do_swap_page"])[:5]
    f = tmp_path / "eq.toml"
    f.write_text(f'"{ms[3].id}" = "only statistics change"\n'
                 f'"{ms[0].id}" = "listed, but caught: wrong"\n'
                 f'"memory.no_such_function:negate:0" = "stale"\n'
                 f'[bypass]\n"{ms[4].id}" = "equivalent under bypass only"\n')
    eq = load_equivalents(f)
    results = [_result(ms[0].id, CAUGHT), _result(ms[1].id, CAUGHT), _result(ms[2].id, SURVIVED),
               _result(ms[3].id, SURVIVED), _result(ms[4].id, SURVIVED)]
    s = score(results, eq, all_ids={m.id for m in mutate.generate()})
    # 5 mutants, 1 equivalent (ms[3]; ms[4] only under bypass), 2 caught
    assert (s.mutants, s.equivalent, s.caught, s.denominator) == (5, 1, 2, 4)
    assert s.value == 0.5
    assert s.wrong_equivalents == [ms[0].id]
    assert s.stale_equivalents == ["memory.no_such_function:negate:0"]
    s_bypass = score([_result(ms[4].id, SURVIVED, "bypass")], eq)
    assert (s_bypass.equivalent, s_bypass.denominator, s_bypass.value) == (1, 0, None)


@pytest.mark.parametrize("text, words", [
    ('"memory.f:negate:0" = ""\n', "needs a reason"),
    ('"not an id" = "x"\n', "is not a mutant id"),
    ('"memory.f:negate:0" = \n', "not valid TOML"),
])
def test_a_bad_equivalents_file_names_the_line_and_the_fix(tmp_path, text, words):
    f = tmp_path / "eq.toml"
    f.write_text("# header\n" + text)
    with pytest.raises(EquivalentsError, match=words):
        load_equivalents(f)


def test_the_shipped_equivalents_file_lists_only_real_mutants_with_reasons():
    eq = load_equivalents()
    ids = {m.id: m for m in mutate.generate()}
    for key, why in eq.items():
        mid = key.split("/", 1)[-1]
        assert mid in ids, key
        assert len(why) > 20, key
        # each entry names the site it was decided for, and that is still the mutant's site
        assert eq.sites.get(key) == ids[mid].what, key


# --- the command -------------------------------------------------------------------------------------
def test_mutants_command_json(tmp_path):
    res = CliRunner().invoke(main, ["mutants", "--only", "memory.do_swap_page", "--operators", "drop-check",
                                    "--scenarios", "two-faults", "--bounded-executions", "400",
                                    "--max-executions", "400", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["design"] == "swapcache" and doc["scenarios"][0]["scenario"] == "two-faults"
    assert doc["score"]["mutants"] == len(doc["mutants"]) == 8
    by_id = {m["id"]: m for m in doc["mutants"]}
    assert by_id[PTE_SAME]["status"] == CAUGHT
    assert doc["score"]["caught"] == sum(1 for m in doc["mutants"] if m["status"] == CAUGHT)
    assert {s["id"] for s in doc["survivors"]} == {m["id"] for m in doc["mutants"] if m["status"] != CAUGHT}


def test_mutants_command_bad_input_exits_2(tmp_path):
    r = CliRunner().invoke(main, ["mutants", "--only", "nothing_here"])
    assert r.exit_code == 2 and "no such kernel function" in r.output
    r = CliRunner().invoke(main, ["mutants", "--operators", "frob"])
    assert r.exit_code == 2 and "no operator 'frob'" in r.output
    empty = tmp_path / "corpus"
    empty.mkdir()
    r = CliRunner().invoke(main, ["mutants", "--scenarios", str(empty)])
    assert r.exit_code == 2 and "no .toml scenario files" in r.output
    bad = tmp_path / "eq.toml"
    bad.write_text('"x" = "y"\n')
    r = CliRunner().invoke(main, ["mutants", "--scenarios", "two-faults", "--equivalents", str(bad)])
    assert r.exit_code == 2 and "is not a mutant id" in r.output and "Traceback" not in r.output


# --- the scenarios written for survivors (tests/scenarios/) ------------------------------------------
from pathlib import Path  # noqa: E402

GAP_DIR = Path(__file__).parent / "scenarios"


# tests/scenarios/ also holds the fidelity scenarios (tests/test_fidelity.py); the gap scenarios
# are those KILLS names (tests/scenarios/mutants/ holds only gap scenarios).
@pytest.mark.parametrize("name", ["retry-then-fork", "mutants/segv-then-fork", "mutants/read-error",
                                  "mutants/fork-none-page", "mutants/frame-reuse-vs-load",
                                  "mutants/writeback-vs-slot-reuse", "mutants/full-scan-takes-free-slot",
                                  "mutants/full-device-pageout", "mutants/madvise-twice-then-fork",
                                  "mutants/swapoff-vs-dontneed", "mutants/swapoff-shared-then-write"])
def test_gap_scenarios_pass_the_unmutated_kernel_completely(name):
    from swaplab.scenarios import load_scenario
    assert name in KILLS
    sc = load_scenario(GAP_DIR / f"{name}.toml")
    assert sc.expect.get("swapcache") == "ok"
    r = explore(make_program(SWAPCACHE, sc), "stateful", minimize=False, max_executions=20000)
    assert not r.violations, r.violations[0].message
    assert r.stats.complete


# Each scenario of tests/scenarios/ was written for mutants the built-in library let survive;
# what it must catch (and why, by hand):
KILLS = {
    # T0's fault finds the folio locked by T1's read, returns VM_FAULT_RETRY without dropping
    # mmap_lock, retries and drops it once: one read hold is left, and T0's fork (down_write)
    # waits for it forever.  One preemption (T1 must hold the folio lock when T0 tries it).
    "retry-then-fork": [("memory.folio_lock_or_retry:drop-unlock:0", "deadlock")],
    # The read after munmap finds no VMA; without the up_read of the bad_area path mmap_lock
    # stays held for read and the same task's fork (down_write) waits forever.  The munmap
    # also leaves an empty PTE, which a fork that does not skip it hands to copy_nonswap_entry.
    "mutants/segv-then-fork": [("memory.do_user_addr_fault:drop-unlock:0", "deadlock"),
                               ("memory.copy_page_range:drop-check:0", "crash")],
    # Slot 0 cannot be read: the folio stays !uptodate with the data alloc_folio gave it (0).
    # Mapping it anyway (the check dropped, or negated: then only failed reads are mapped)
    # makes the load return 0 where 1 was stored; keeping the PTL on the SIGBUS path makes the
    # second read's fault sleep on mmap_lock with a spinlock held; a failed read that leaves
    # the folio locked makes the second read wait for it forever.  No preemption needed.
    "mutants/read-error": [("memory.do_swap_page:drop-check:7", "data-loss"),
                           ("swap_state._swap_read_folio_error:drop-unlock:0", "deadlock"),
                           ("memory.do_swap_page:negate:10", "data-loss"),
                           ("memory.do_swap_page:drop-unlock:2", "crash")],
    # Page 0 has no PTE: copy_pte_range must skip it (`pte_none`), else copy_nonswap_entry
    # sees an empty PTE (crash); the negated test copies only the empty one.
    "mutants/fork-none-page": [("memory.copy_page_range:drop-check:0", "crash"),
                               ("memory.copy_page_range:negate:0", "crash")],
    # T0's CPU reads the PTE (folio#1), T1 zaps it (folio#1 freed) and write-faults a new folio,
    # which gets frame 1 again: the PTE value is the same.  Without the frame-reuse recheck the
    # load goes through the old, freed folio object.  One preemption.
    "mutants/frame-reuse-vs-load": [("memory.cpu_access:drop-check:1", "use-after-free")],
    # T0's pageout writes page 0 to slot 0; T1's MADV_DONTNEED drops the last swap reference
    # and __try_to_reclaim_swap frees the swap cache if it can lock the folio and it is not
    # under writeback; T2 pages page 1 out and gets slot 0 back.  Unlocking before
    # folio_start_writeback lets T1 free the slot mid-write: T2's page is written to slot 0 and
    # then T0's late write of page 0 (value 1) lands on it, so T2's read gets 1.  Freeing
    # SWAP_HAS_CACHE before emptying the cache slot lets T2 add its folio to a slot still
    # holding page 0's (add_to_swap_cache's BUG).  Five preemptions: stateful search.
    "mutants/writeback-vs-slot-reuse": [("swap_state.swap_writepage:swap:1", "data-loss", "stateful"),
                                        ("swap_state.delete_from_swap_cache:swap:0", "crash", "stateful")],
    # vm_swap_full computed: slot 0 holds one swap count (page 0), slot 1 is free.  The scan
    # that takes slots whose map is 1 instead of 0 gives page 1 slot 0, overwriting page 0's
    # data there: reading page 0 back returns 2.  No preemption.
    "mutants/full-scan-takes-free-slot": [("swapfile._scan_swap_map_slots_full:off-by-one:1", "data-loss")],
    # One slot, held by page 0: the computed scan finds no candidate.  Without its `if not
    # cands` exit it indexes an empty list (model-error); negated, it does so exactly then;
    # without that exit's unlock, si->lock stays held and the next fault sleeps under it.
    "mutants/full-device-pageout": [("swapfile._scan_swap_map_slots_full:drop-check:0", "model-error"),
                                    ("swapfile.get_swap_pages:drop-unlock:0", "crash"),
                                    ("swapfile._scan_swap_map_slots_full:negate:0", "model-error")],
    # madvise_pageout, madvise_dontneed or madvise_willneed without its up_read leaves
    # mmap_lock held for read: T0's fork waits forever.
    # madvise_willneed on the present page 1 reads its PTE as a swap entry: the model's
    # offset -1 indexes slot 1 (Python's negative index: the model's stand-in for the garbage
    # entry a present PTE decodes to), whose folio is cached with folio->swap = -1; T0's read
    # of page 2 (slot 1) then fails the swap-cache recheck forever (livelock).  No preemption.
    "mutants/madvise-twice-then-fork": [("madvise.madvise_pageout:drop-unlock:1", "deadlock"),
                                        ("madvise.madvise_dontneed:drop-unlock:0", "deadlock"),
                                        ("madvise.madvise_willneed:drop-unlock:1", "deadlock"),
                                        ("madvise.madvise_willneed:drop-check:0", "livelock"),
                                        ("madvise.madvise_willneed:negate:0", "livelock")],
    # swapoff's unuse_pte_range reads the swap PTE, then T1's zap frees the entry (count 0),
    # so the readahead returns NULL: without the `if (!folio)` test the walk locks a missing
    # folio (model-error); without the count test, or with it negated or off by one, it
    # returns -ENOMEM and swapoff fails (crash).  Putting the folio before unlocking it frees
    # it locked once the zap and the swap cache's drop leave swapoff the last reference.
    "mutants/swapoff-vs-dontneed": [("swapoff.unuse_pte_range:drop-check:2", "model-error"),
                                    ("swapoff.unuse_pte_range:drop-check:3", "crash"),
                                    ("swapoff.unuse_pte_range:negate:4", "crash"),
                                    ("swapoff.unuse_pte_range:off-by-one:0", "crash"),
                                    ("swapoff.unuse_pte_range:swap:4", "crash")],
    # The entry is shared (parent and child, exclusive bit clear).  unuse_pte with its test
    # negated maps it PageAnonExclusive in the parent, whose write then reuses the folio the
    # child still maps: the child's read (or the final check) sees 2 where 1 was stored.
    "mutants/swapoff-shared-then-write": [("swapoff.unuse_pte:negate:1", "data-loss")],
}


@pytest.mark.parametrize("name", sorted(KILLS))
def test_gap_scenarios_kill_their_mutants(name):
    from swaplab.scenarios import load_scenario
    sc = load_scenario(GAP_DIR / f"{name}.toml")
    for mid, kind, *strategy in KILLS[name]:
        r = explore(make_program(mutate.patched_design(mutate.parse_id(mid), SWAPCACHE), sc),
                    strategy[0] if strategy else "bounded", preemptions=2, minimize=False, max_executions=5000)
        assert r.violations and r.violations[0].kind == kind, mid


def test_logs_merge_a_catch_anywhere_wins_and_rescore(tmp_path):
    from swaplab.mutate.campaign import LogError, results_from_logs
    a, b = mutate.generate(["memory.do_swap_page"])[6:8]
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text(json.dumps(_result(a.id, SURVIVED).to_json()) + "\n" +
                   json.dumps(_result(b.id, "timeout").to_json()) + "\n")
    two.write_text(json.dumps(_result(a.id, CAUGHT).to_json()) + "\n")
    rs = {r.mutant.id: r.status for r in results_from_logs([str(one), str(two)])}
    assert rs == {a.id: CAUGHT, b.id: "timeout"}
    res = CliRunner().invoke(main, ["mutants", "--from-log", str(one), "--from-log", str(two), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["score"]["caught"] == 1
    (tmp_path / "bad.jsonl").write_text(json.dumps(_result(a.id, SURVIVED).to_json()) + "\n{nope\n")
    with pytest.raises(LogError, match="bad.jsonl:2"):
        results_from_logs([str(tmp_path / "bad.jsonl")])


# --- what a run keeps between runs: baselines, and log lines that went stale ------------------------
def test_baselines_are_cached_by_content_and_reused(tmp_path):
    from swaplab.mutate.baseline_cache import BaselineCache
    from swaplab.mutate.campaign import run_baselines
    sc = get_scenario("two-faults")
    path = tmp_path / "cache.json"
    kw = {"time_limit": 60, "max_executions": 100000, "max_steps": 5000}
    first = run_baselines(SWAPCACHE, [sc], **kw, cache=BaselineCache(path))["two-faults"]
    assert first.complete and path.is_file()
    again = BaselineCache(path)
    b = run_baselines(SWAPCACHE, [sc], **kw, cache=again)["two-faults"]
    assert again.hits == 1
    assert (b.verdict, b.complete, b.reached, b.finals) == (first.verdict, first.complete, first.reached, first.finals)
    # the key is what the scenario is, not its name; another design or step bound is another entry
    import dataclasses
    renamed = dataclasses.replace(sc, name="renamed", path="elsewhere.toml")
    assert again.get(SWAPCACHE, renamed, **kw) is not None
    assert again.get(DESIGNS["bypass"], sc, **kw) is None
    assert again.get(SWAPCACHE, sc, **dict(kw, max_steps=4000)) is None
    changed = dataclasses.replace(sc, threads=sc.threads[:1])
    assert again.get(SWAPCACHE, changed, **kw) is None


def test_an_unfinished_baseline_is_searched_again_with_a_larger_budget(tmp_path):
    from swaplab.mutate.baseline_cache import BaselineCache
    sc = get_scenario("two-faults")
    cache = BaselineCache(tmp_path / "c.json")
    partial = Baseline("two-faults", "ok", False, frozenset(), frozenset(), 1.0, 10)
    cache.put(SWAPCACHE, sc, partial, time_limit=5, max_executions=10, max_steps=5000)
    assert cache.get(SWAPCACHE, sc, time_limit=5, max_executions=10, max_steps=5000) is not None
    assert cache.get(SWAPCACHE, sc, time_limit=60, max_executions=10, max_steps=5000) is None
    assert cache.get(SWAPCACHE, sc, time_limit=5, max_executions=1000, max_steps=5000) is None


def test_a_cache_file_that_cannot_be_read_is_ignored(tmp_path):
    from swaplab.mutate.baseline_cache import BaselineCache
    f = tmp_path / "c.json"
    f.write_text("{not json")
    c = BaselineCache(f)
    assert c.entries == {} and c.get(SWAPCACHE, get_scenario("two-faults"), time_limit=1, max_executions=1,
                                     max_steps=5000) is None


def test_a_mutant_compares_its_final_states_with_a_cached_baseline(tmp_path):
    # finals are kept as digests; a mutant that changes nothing reaches the same ones
    from swaplab.mutate.baseline_cache import BaselineCache
    from swaplab.mutate.campaign import run_baselines
    sc = get_scenario("two-faults")
    kw = {"time_limit": 60, "max_executions": 100000, "max_steps": 5000}
    run_baselines(SWAPCACHE, [sc], **kw, cache=BaselineCache(tmp_path / "c.json"))
    b = run_baselines(SWAPCACHE, [sc], **kw, cache=BaselineCache(tmp_path / "c.json"))
    assert b["two-faults"].finals and all(isinstance(x, str) for x in b["two-faults"].finals)
    # drop-check of the uptodate test: without read errors the branch never runs
    m = mutate.parse_id("memory.do_swap_page:drop-check:7")
    assert "uptodate" in m.what
    r = run_mutant(m, SWAPCACHE, [sc], b, mutate.Budget(time_limit=30))
    assert r.status == SURVIVED and r.changes_final_states is False


def test_log_lines_whose_id_names_another_site_today_are_left_out(tmp_path):
    from swaplab.mutate.campaign import results_from_logs
    a, b = mutate.generate(["memory.do_swap_page"])[:2]
    good = _result(a.id, CAUGHT).to_json()
    moved = dict(_result(b.id, SURVIVED).to_json(), description="memory.py:do_swap_page:1 drop check `if x`")
    gone = dict(moved, id="memory.do_swap_page:drop-check:99")
    f = tmp_path / "old.jsonl"
    f.write_text("\n".join(json.dumps(d) for d in (good, moved, gone)) + "\n")
    stale: list = []
    rs = results_from_logs([str(f)], stale)
    assert [r.mutant.id for r in rs] == [a.id]
    assert [(w.rsplit(":", 1)[1], i) for w, i, _, _ in stale] == [("2", b.id), ("3", "memory.do_swap_page:drop-check:99")]
    assert stale[0][2] == "drop check `if x`" and stale[0][3] == b.what and stale[1][3] == "no such site"
    (tmp_path / "none.toml").write_text("# nothing decided\n")
    res = CliRunner().invoke(main, ["mutants", "--from-log", str(f), "--equivalents", str(tmp_path / "none.toml")])
    assert res.exit_code == 0 and "2 log lines left out" in res.output, res.output


def test_an_equivalence_written_for_another_site_does_not_count(tmp_path):
    ms = mutate.generate(["memory.do_swap_page"])[:2]
    f = tmp_path / "eq.toml"
    f.write_text(f'"{ms[0].id}" = {{ site = "{ms[0].what.replace(chr(34), chr(92) + chr(34))}", why = "the site it was written for" }}\n'
                 f'"{ms[1].id}" = {{ site = "negate `if something else`", why = "written before the function changed" }}\n')
    eq = load_equivalents(f)
    results = [_result(ms[0].id, SURVIVED), _result(ms[1].id, SURVIVED)]
    s = score(results, eq, all_ids={m.id: m for m in mutate.generate()})
    assert (s.equivalent, s.denominator) == (1, 1)
    assert s.stale_equivalents == [ms[1].id]
    with pytest.raises(EquivalentsError, match="unknown keys"):
        f.write_text(f'"{ms[0].id}" = {{ why = "x", reason = "y" }}\n')
        load_equivalents(f)


def test_mutant_option_runs_just_the_named_mutants():
    res = CliRunner().invoke(main, ["mutants", "--mutant", PTE_SAME + ",memory.folio_put:negate:0", "--scenarios",
                                    "two-faults", "--no-baseline-cache", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert sorted(m["id"] for m in doc["mutants"]) == sorted([PTE_SAME, "memory.folio_put:negate:0"])
    r = CliRunner().invoke(main, ["mutants", "--mutant", "memory.do_swap_page:drop-check:999"])
    assert r.exit_code == 2 and "no drop-check site number 999" in r.output


def test_a_mutant_time_limit_names_the_scenarios_it_left_unsearched():
    # a survivor (the uptodate branch never runs without read errors) on two scenarios, with
    # time for the first search only: the rest is named, not silently dropped
    scs = [get_scenario("two-faults"), get_scenario("willneed-then-faults")]
    bs = {s.name: baseline(SWAPCACHE, s, time_limit=60) for s in scs}
    m = mutate.parse_id("memory.do_swap_page:drop-check:7")
    r = run_mutant(m, SWAPCACHE, scs, bs, mutate.Budget(time_limit=30, mutant_time_limit=0.1))
    assert r.status != CAUGHT and r.not_searched
    searched = {(s.scenario, s.phase) for s in r.searches}
    assert searched and not searched & set(r.not_searched)
    assert r.to_json()["not_searched"][0]["scenario"] in {s.name for s in scs}
