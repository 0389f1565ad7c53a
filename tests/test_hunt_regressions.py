"""Model bugs `swaplab hunt` found on the reference design (docs/hunt.md, "What the hunts
found"; issue 11: a violation of the reference design is a model or kernel bug).  Each class has
its minimized scenario under tests/scenarios/, explored completely under the swap-cache design
with no violation, and a check of the kernel behaviour the fix follows (able to fail: each says
what the model did before).  Where the expected values come from: the kernel lines quoted in
the docstrings of the modeled functions and docs/model.md, "Found by the hunt".
"""
from __future__ import annotations

from pathlib import Path

import pytest
from kernel_harness import ONE_SWAPPED, run

from swaplab.designs import DESIGNS
from swaplab.scenarios import load_scenario, parse_scenario
from swaplab.scenarios.loader import ScenarioError
from swaplab.verify import check

SCENARIOS = Path(__file__).parent / "scenarios"


def _complete_and_ok(name: str, design: str = "swapcache"):
    v = check(DESIGNS[design], load_scenario(SCENARIOS / f"{name}.toml"), strategy="stateful",
              max_executions=None)
    assert v.ok, v.violation
    assert v.complete == "complete"
    return v


# --- class 2: two swapoffs of one device ----------------------------------------------------
def test_two_swapoffs_explore_completely_without_violation():
    # before the fix: use-after-free, "read of swap_map[0] after the swap device was freed"
    _complete_and_ok("two-swapoffs")


def test_a_second_swapoff_returns_einval_and_does_nothing():
    # sys_swapoff v6.6: no SWP_WRITEOK device with that mapping -> err = -EINVAL, goto out_dput
    def body(k):
        first = yield from k.swapoff()
        second = yield from k.swapoff()
        return first, second
    k, ret, r = run(body, ONE_SWAPPED)
    assert not r.violations, r.violations
    assert ret == (None, -22)
    assert k.si.freed


# --- class 3a: an access to an address munmap removed -----------------------------------------
def test_a_write_racing_munmap_explores_completely_without_livelock():
    # before the fix: livelock, "parked retrying refault" (a false one)
    _complete_and_ok("write-vs-munmap")
    _complete_and_ok("write-present-vs-munmap")


def test_an_access_after_munmap_ends_with_the_signal():
    # do_user_addr_fault v6.6: no VMA -> bad_area -> SIGSEGV; the access is not re-executed
    def body(k):
        mm = k.mms["A"]
        yield from k.munmap(mm, [0])
        return (yield from k.user_access(mm, 0, True, 2))
    k, ret, r = run(body, ONE_SWAPPED)
    assert not r.violations, r.violations
    assert ret is None
    assert k.stats.get("faults") == 1 and not k.stats.get("refaults")


# --- class 4: swapoff's walk and a child fork adds ----------------------------------------------
def test_fork_racing_swapoff_explores_completely_without_livelock():
    # before the fix: bounded search (as the hunt runs it) reported a livelock, "parked
    # retrying try_to_unuse: retry" (a false one); stateful DPOR did not reach it
    _complete_and_ok("fork-vs-swapoff")
    v = check(DESIGNS["swapcache"], load_scenario(SCENARIOS / "fork-vs-swapoff.toml"), strategy="bounded",
              max_executions=None)
    assert v.ok, v.violation


def test_fork_puts_the_child_on_mmlist_right_after_the_parent():
    # copy_nonpresent_pte v6.6: list_add(&dst_mm->mmlist, &src_mm->mmlist) on a swap entry
    text = ONE_SWAPPED.replace('pages = [{ state = "swapped", value = 1 }]',
                               'pages = [{ state = "swapped", value = 1 }]\n[[mm]]\nname = "B"\n'
                               'pages = [{ state = "none" }]')

    def body(k):
        yield from k.fork(k.mms["A"], "C1")
    k, _, r = run(body, text)
    assert not r.violations, r.violations
    assert k.mmlist.peek() == ("A", "C1", "B")
    assert k.mms["C1"].mmlist.peek()


# --- class 1: exit while other threads still use the mm ----------------------------------------
def test_a_write_racing_another_threads_exit_explores_completely_without_violation():
    # before the fix: accounting, "folio#1 mapcount is 1 but 0 PTE(s) map it"
    _complete_and_ok("write-vs-exit")


def test_only_the_last_user_runs_exit_mmap():
    # mmput v6.6: if (atomic_dec_and_test(&mm->mm_users)) __mmput(mm)
    text = ONE_SWAPPED.replace('ops = ["read 0"]', 'ops = ["exit"]\n[[thread]]\nops = ["exit"]')

    def body(k):
        mm = k.mms["A"]
        users = mm.users.peek()
        yield from k.mmput(mm)
        after_one = mm.alive, mm.pte[0].peek().kind
        yield from k.mmput(mm)
        return users, after_one, mm.alive
    k, ret, r = run(body, text)
    assert not r.violations, r.violations
    assert ret == (2, (True, "swp"), False)


def test_the_loader_refuses_an_operation_after_exit():
    text = ONE_SWAPPED.replace('ops = ["read 0"]', 'ops = ["exit", "write 0 2"]')
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "s.toml")
    msg = str(e.value)
    assert "s.toml" in msg and "comes after \"exit\"" in msg and "another thread" in msg


# --- class 3b: a retry whose progress another thread undid (engine: retry parking) -------------
def test_a_refault_whose_zero_page_was_zapped_is_not_parked():
    # before the fix: bounded search (≤ 2 preemptions, as the hunt's reproduce line) reported a
    # livelock, "T0: parked retrying refault"; stateful DPOR did not
    _complete_and_ok("read-vs-dontneed-vs-exit")
    v = check(DESIGNS["swapcache"], load_scenario(SCENARIOS / "read-vs-dontneed-vs-exit.toml"),
              strategy="bounded", preemptions=2, max_executions=None)
    assert v.ok, v.violation


# --- session 6: swapoff meets a page whose read failed ------------------------------------------
def test_swapoff_of_a_failing_slot_explores_completely_without_violation():
    # before the fix: crash, "unuse_pte: folio#1 not uptodate (read error)" (the hunt's minimized
    # scenario: swapoff alone, on a swapped page of a slot in read_errors)
    _complete_and_ok("swapoff-read-error")


def test_unuse_pte_poisons_a_page_whose_read_failed_and_a_later_access_sigbuses():
    # unuse_pte v6.6: if (unlikely(hwpoisoned || !folio_test_uptodate(folio))) { ... new_pte =
    # swp_entry_to_pte(make_poisoned_swp_entry()); ret = 0; goto setpte; } ... setpte:
    # set_pte_at(); swap_free(entry);  handle_pte_marker: PTE_MARKER_POISONED -> VM_FAULT_HWPOISON
    text = ONE_SWAPPED.replace("slots = 2", "slots = 2\nread_errors = [0]")

    def body(k):
        mm = k.mms["A"]
        err = yield from k.swapoff()
        pte = mm.pte[0].peek()
        v = yield from k.user_access(mm, 0, False)
        yield from k.fork(mm, "C1")
        return err, pte.kind, v, k.mms["C1"].pte[0].peek().kind
    k, ret, r = run(body, text, final_check=True)
    assert not r.violations, r.violations
    assert ret == (None, "poisoned", None, "poisoned")
    assert k.si.freed
