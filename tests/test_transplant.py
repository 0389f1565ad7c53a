"""swaplab transplant: the plan cut from a counterexample, the C program, the kernel patches.

Fast: nothing here boots a kernel (`make validate` does).  The generated C is compiled when gcc
is present; the patches are dry-run against a pristine 6.1 tree when one is unpacked (set
SWAPLAB_LINUX_6_1 to it); otherwise those tests are skipped and say why.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from swaplab.cli import main
from swaplab.designs import get_design
from swaplab.scenarios import get_scenario
from swaplab.transplant import TransplantError, counterpart, make_plan, NoCounterpart
from swaplab.transplant.cprogram import comm_name, program_source
from swaplab.transplant.points import POINTS
from swaplab.transplant.validate import control_schedules, model_on_schedule, sequential_schedule
from swaplab.verify import check

KERNEL = resources.files("swaplab.transplant").joinpath("kernel/6.1")


@functools.lru_cache(maxsize=None)        # one search per cell for the whole module (the plan only reads it)
def counterexample(design, scenario):
    v = check(get_design(design), get_scenario(scenario))
    assert v.violation is not None, f"{design} × {scenario}: the model found no violation"
    return v.violation.schedule


def plan_of(design, scenario):
    return make_plan(get_design(design), get_scenario(scenario), counterexample(design, scenario))


# (two-pages-swap-slots, where T1 is the reader, takes 6-14 s to search: `make validate` runs it)
@pytest.mark.parametrize("scenario,slow", [("slot-reuse", "T0"), ("dontneed-refault", "T0")])
def test_bypass_counterexamples_pause_the_slow_reader_after_the_read(scenario, slow):
    # 13ddaf26's commit message: the slow CPU has read the old data and not yet checked the PTE
    # while the other frees the slot and pages out again to it.  The plan must say exactly
    # that: one delay point, after_read, for the reader; the other runs to its end; the reader ends.
    plan = plan_of("bypass", scenario)
    assert plan.verdict == "data-loss"
    assert [(plan.threads[t], p) for t, p in plan.arms] == [(slow, "after_read")]
    assert plan.arm_ops == [0]        # armed just before the reader's (first and only) read
    other = "T1" if slow == "T0" else "T0"
    assert [s.describe(plan.threads) for s in plan.segments] == [
        f"{slow} runs until it parks at after_read", f"{other} runs to its end", f"{slow} runs to its end"]


def test_each_point_before_the_pte_lock_maps_and_only_after_read_loses():
    # T0 paused after each of its steps before the PTE lock (hand-counted in its slot-reuse trace:
    # 1 refault point, 2 load + down_read(mmap_lock) + find_vma (one step: nobody writes the
    # mmap_lock or unmaps), 3 orig_pte read + get_swap_device, 4 swap cache lookup,
    # 5 skip-swapcache set-up, 6 read).  Before the PTE read
    # (1-2: the fault entry, arch/x86/mm/fault.c up to handle_mm_fault) it has done nothing the
    # other thread can see, so the plan holds it in user space before its read (no arm): T1 runs
    # to its end first.  After it, it parks at each delay point in turn.  Only a reader paused
    # after its read maps stale data; paused before, it reads the reused slot's new data.
    d, s = get_design("bypass"), get_scenario("slot-reuse")
    got = []
    for cut in range(1, 7):
        sched = sequential_schedule(d, s, [(0, cut), (1, None), (0, None)])
        plan = make_plan(d, s, sched)
        got.append((plan.arms[0][1] if plan.arms else [seg.describe(plan.threads) for seg in plan.segments],
                    model_on_schedule(d, s, sched)))
    held = ["T1 runs to its end", "T0 runs to its end"]
    assert got == [(held, "ok")] * 2 + [
        ("before_cache_lookup", "ok"), ("after_cache_lookup", "ok"), ("before_read", "ok"),
        ("after_read", "data-loss")]
    # make validate's controls are the four cuts that park at a point
    assert [make_plan(*c).arms[0][1] for c in control_schedules()] == [
        "before_cache_lookup", "after_cache_lookup", "before_read", "after_read"]


def test_a_stop_in_the_refaults_entry_does_not_transplant():
    # bypass × dontneed-refault, hand-counted in the trace: T0 reads the swap PTE (3 steps: refault
    # point, load + down_read + find_vma, orig_pte read); T1's MADV_DONTNEED zaps it (6 steps); T0's
    # first fault finds the entry gone and returns (7 steps), the CPU retries the load and T0 takes
    # the refault's mmap_lock and find_vma (1 step) and stops.  The first stop parks at
    # before_cache_lookup; the second is in the fault entry, but after a fault has run: the access
    # is one instruction to the program, which cannot hold it between its two faults.
    d, s = get_design("bypass"), get_scenario("dontneed-refault")
    sched = sequential_schedule(d, s, [(0, 3), (1, 6), (0, 8), (1, None), (0, None)])
    with pytest.raises(TransplantError, match='preempts T0 between "[^"]*find_vma.*no delay point'):
        make_plan(d, s, sched)
    # the same race with T0 running on to its end: only the first stop, at a delay point
    sched = sequential_schedule(d, s, [(0, 3), (1, 6), (0, None), (1, None)])
    assert [a for _, a in make_plan(d, s, sched).arms] == ["before_cache_lookup"]


def test_a_preemption_under_the_pte_lock_does_not_transplant():
    # T0 stopped right after taking the PTE lock (its 7th step) while T1 reads (its 6 steps up to
    # its own read, the same as T0's): no kernel point may sleep there
    d, s = get_design("bypass"), get_scenario("slot-reuse")
    sched = sequential_schedule(d, s, [(0, 7), (1, 6), (0, None), (1, None)])
    with pytest.raises(TransplantError, match="no delay point"):
        make_plan(d, s, sched)


@pytest.mark.parametrize("scenario,word", [("fork-vs-fault", "fork"), ("swapoff-vs-fault", "swapoff"),
                                           ("shared-after-fork", "address spaces")])
def test_scenarios_that_cannot_run_say_why(scenario, word):
    sched = sequential_schedule(get_design("swapcache"), get_scenario(scenario), [(0, None), (1, None)])
    with pytest.raises(TransplantError, match=word):
        make_plan(get_design("swapcache"), get_scenario(scenario), sched)


def test_designs_map_to_kernels_or_say_why():
    assert counterpart("bypass").variant == "revert-13ddaf26.patch"
    assert counterpart("prepare-sleep").variant is None and counterpart("prepare-sleep").sync_io
    assert counterpart("swapcache").variant is None and not counterpart("swapcache").sync_io
    for d in ("pte-marker", "swapmap-inflight", "count-pin", "swapcache-sync", "prepare-waitqueue"):
        with pytest.raises(NoCounterpart, match="cannot run on a real kernel"):
            counterpart(d)
    with pytest.raises(NoCounterpart, match="not supported"):
        counterpart("bypass", "6.6")


def test_comm_names_fit_the_kernel_and_differ():
    names = {comm_name(i, "a-very-long-thread-name") for i in range(3)}
    assert len(names) == 3 and all(len(n) <= 15 for n in names)


def test_every_point_is_in_the_patch_where_the_table_says():
    patch = KERNEL.joinpath("hooks.patch").read_text()
    for p in POINTS:
        assert f'[SWAPLAB_{p.name.upper()}] = "{p.name}"' in patch, p.name
        # one call site in do_swap_page (mm/memory.c)
        assert len(re.findall(rf"^\+\s*swaplab_delay_point\(SWAPLAB_{p.name.upper()}\);", patch, re.M)) == 1
        file, fn, _ = p.kernel["6.1"]
        assert file == "mm/memory.c" and fn == "do_swap_page"


def test_the_revert_removes_exactly_13ddaf26():
    # 13ddaf26 added: need_clear_cache, the swapcache_prepare() block with its one-tick sleep,
    # swapcache_clear() at out: and out_release:, and swapcache_clear() itself (swap.h, swapfile.c)
    patch = KERNEL.joinpath("revert-13ddaf26.patch").read_text()
    removed = [ln[1:] for ln in patch.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    added = [ln for ln in patch.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert not added
    text = "\n".join(removed)
    assert "if (swapcache_prepare(entry)) {" in text and "schedule_timeout_uninterruptible(1);" in text
    assert text.count("swapcache_clear(si, entry);") == 2          # at out: and out_release:
    assert "void swapcache_clear(struct swap_info_struct *si, swp_entry_t entry);" in text   # mm/swap.h
    assert "static inline void swapcache_clear(" in text                                     # its stub
    assert "void swapcache_clear(struct swap_info_struct *si, swp_entry_t entry)" in text


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed: the generated C is not compiled")
@pytest.mark.parametrize("scenario", ["slot-reuse", "dontneed-refault"])
def test_generated_program_compiles(tmp_path, scenario):
    src = tmp_path / "p.c"
    src.write_text(program_source(plan_of("bypass", scenario)))
    r = subprocess.run(["gcc", "-Wall", "-Werror", "-O1", "-pthread", "-c", str(src), "-o", str(tmp_path / "p.o")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _pristine_tree():
    for cand in (os.environ.get("SWAPLAB_LINUX_6_1"), "/usr/src/linux-source-6.1"):
        if cand and (Path(cand) / "mm/memory.c").is_file() and "swaplab" not in (Path(cand) / "mm/memory.c").read_text():
            return Path(cand)
    return None


@pytest.mark.skipif(shutil.which("patch") is None or _pristine_tree() is None,
                    reason="no pristine 6.1 tree unpacked (set SWAPLAB_LINUX_6_1) or no patch(1)")
def test_patches_apply_to_6_1(tmp_path):
    tree = _pristine_tree()
    work = tmp_path / "t"
    for f in ("mm/memory.c", "mm/swapfile.c", "mm/Makefile", "mm/swap.h"):
        (work / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tree / f, work / f)
    for name in ("hooks.patch", "revert-13ddaf26.patch"):
        r = subprocess.run(["patch", "-p1", "-i", str(KERNEL.joinpath(name))], cwd=work, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_cli_writes_the_files_and_refuses_what_cannot_run(tmp_path):
    runner = CliRunner()
    ce = tmp_path / "ce.json"
    assert runner.invoke(main, ["check", "-d", "bypass", "-s", "slot-reuse", "--save-trace", str(ce)]).exit_code == 1
    out = tmp_path / "out"
    r = runner.invoke(main, ["transplant", str(ce), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} == {"program.c", "delay-points.patch", "revert-13ddaf26.patch", "plan.txt"}
    assert '"sl0-T0"' in (out / "program.c").read_text()
    r = runner.invoke(main, ["transplant", str(ce), "--against", "pte-marker"])
    assert r.exit_code == 2 and "exists only in the model" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "swaplab-schedule", "version": 1, "steps": [0]}))
    r = runner.invoke(main, ["transplant", str(bad)])
    assert r.exit_code == 2 and "names no design" in r.output
