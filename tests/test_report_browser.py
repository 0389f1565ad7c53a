"""The HTML report in a real browser (chromium, headless): the step-through view shows, at every
position, the state the replay computed, highlights exactly the fields the step changed, and
moves with the buttons, the keyboard and clicks; the compare matrix links each violating cell to
its own counterexample.  Expected values come from replaying the same schedule in Python
(report/states.walk), not from the page."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from browser import browser_or_skip
from swaplab.cli import main
from swaplab.designs import get_design
from swaplab.engine import Schedule
from swaplab.kernel import make_program
from swaplab.report.states import walk
from swaplab.scenarios import get_scenario


@pytest.fixture(scope="module")
def driver():
    d = browser_or_skip()
    yield d
    d.quit()


@pytest.fixture(scope="module")
def check_page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    page, ce = tmp / "check.html", tmp / "ce.json"
    r = CliRunner().invoke(main, ["check", "-d", "bypass", "-s", "slot-reuse", "--html", str(page),
                                  "--save-trace", str(ce)], catch_exceptions=False)
    assert r.exit_code == 1, r.output
    sched = Schedule.loads(ce.read_text())
    w = walk(make_program(get_design("bypass"), get_scenario("slot-reuse")), sched)
    return page, w


def _state(driver):
    """What the page shows now: position, highlighted names, every state cell, the current row."""
    return driver.execute_script("""
        const root = document.querySelector('.walk');
        const cells = {}; root.querySelectorAll('.state td[data-name]').forEach(td => cells[td.dataset.name] = td.textContent);
        const chg = [...root.querySelectorAll('.state td.chg')].map(td => td.dataset.name);
        const cur = root.querySelector('.cpus tr.cur');
        const run = cur ? [...cur.children].findIndex(td => td.classList.contains('run')) : -1;
        return {pos: +root.dataset.pos, label: root.querySelector('.pos').textContent, cells, chg,
                row: cur ? +cur.dataset.step : 0, run, end: root.querySelector('.end').textContent};""")


def _expect_at(w, s, pos):
    """The page at position ``pos`` (0: before any step) shows w's state there; returns ``s``."""
    assert s["pos"] == pos and s["label"] == f"step {pos} / {len(w.steps)}"
    want = w.initial if pos == 0 else w.states[pos - 1]
    shown = {k: v for k, v in s["cells"].items() if v != "—"}
    assert shown == want
    if pos == 0:
        assert s["chg"] == [] and s["row"] == 0
    else:
        assert set(s["chg"]) == w.changed(pos - 1)
        assert s["row"] == pos and s["run"] == w.steps[pos - 1].tid + 1     # column 0 is the step number
    return s


def test_step_through_view(driver, check_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page, w = check_page
    driver.get(page.as_uri())
    # self-contained: the page loaded nothing besides itself
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert driver.execute_script("return window.swaplabWalks.length") == 1
    _expect_at(w, _state(driver), 0)
    shown = [i + 1 for i, st in enumerate(w.steps) if st.interesting]
    assert len(shown) >= 3 and shown[0] > 1           # the default view skips steps that change nothing

    driver.find_element(By.CSS_SELECTOR, ".walk .next").click()
    s = _expect_at(w, _state(driver), shown[0])
    assert s["chg"], "the first shown step changes something"
    ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
    _expect_at(w, _state(driver), shown[1])
    ActionChains(driver).send_keys("j").perform()
    _expect_at(w, _state(driver), shown[2])
    ActionChains(driver).send_keys(Keys.ARROW_LEFT).perform()
    _expect_at(w, _state(driver), shown[1])

    ActionChains(driver).send_keys(Keys.END).perform()
    s = _expect_at(w, _state(driver), len(w.steps))
    assert "data-loss" in s["end"] and w.outcome.startswith("data-loss")
    # the race as the state shows it at the end: T0's stale folio#1 is mapped
    assert "folio#1" in s["cells"]["A.pte[0]"]
    ActionChains(driver).send_keys(Keys.HOME).perform()
    _expect_at(w, _state(driver), 0)

    # every step, one at a time, once the filter is off
    driver.find_element(By.CSS_SELECTOR, ".walk .onlyint").click()
    driver.find_element(By.CSS_SELECTOR, ".walk .next").click()
    _expect_at(w, _state(driver), 1)
    driver.find_element(By.CSS_SELECTOR, ".walk .prev").click()
    _expect_at(w, _state(driver), 0)
    # clicking a step of the CPU columns jumps to it
    driver.find_element(By.CSS_SELECTOR, f".walk .cpus tr[data-step='{shown[3]}']").click()
    _expect_at(w, _state(driver), shown[3])


def test_compare_cells_link_to_their_counterexample(driver, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page = tmp_path / "m.html"
    r = CliRunner().invoke(main, ["compare", "--designs", "bypass", "--scenarios", "slot-reuse,two-faults",
                                  "--time-limit", "5", "--jobs", "1", "--html", str(page)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    driver.get(page.as_uri())
    links = driver.find_elements(By.CSS_SELECTOR, ".matrix td a")
    assert [a.get_attribute("href").split("#")[1] for a in links] == ["ce-bypass--slot-reuse"]  # two-faults: ok
    links[0].click()
    assert driver.execute_script("return location.hash") == "#ce-bypass--slot-reuse"
    active = driver.execute_script("return document.querySelector('.walk.active').id")
    assert active == "ce-bypass--slot-reuse"
    ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
    pos = driver.execute_script("return +document.querySelector('#ce-bypass--slot-reuse').dataset.pos")
    data = json.loads(driver.execute_script(
        "return document.querySelector('#ce-bypass--slot-reuse script.walkdata').textContent"))
    assert pos == 1 + next(i for i, st in enumerate(data["steps"]) if st["i"])
