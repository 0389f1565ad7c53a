"""Run kernel functions in a one-thread program, for unit tests of their semantics."""
from __future__ import annotations

from swaplab.engine import Program, explore
from swaplab.kernel import Kernel
from swaplab.scenarios import parse_scenario

ONE_SWAPPED = """
[device]
slots = 2
[[mm]]
name = "A"
pages = [{ state = "swapped", value = 1 }]
[[thread]]
ops = ["read 0"]
"""


def run(body, scenario_text: str = ONE_SWAPPED, design=Kernel, final_check: bool = False):
    """Run ``body(kernel)`` (a generator function) as the only thread.  Returns (kernel, result)."""
    sc = parse_scenario(scenario_text)
    box = {}

    def setup(world):
        k = design(sc)
        box["k"] = k

        def thread():
            box["ret"] = yield from body(k)
        world.thread("T0", thread())
        if final_check:
            from swaplab.kernel.oracle import check_final_state
            world.at_end(lambda: check_final_state(k))
    r = explore(Program(setup, "unit"), "dfs", minimize=False)
    return box["k"], box.get("ret"), r
