"""The engine's worked example: a two-thread lost update, found, minimized, saved and replayed.

Run: .venv/bin/python examples/lost_update.py
"""
from swaplab.engine import Cell, Program, Schedule, check, explore, replay


def lost_update(world):
    counter = Cell("counter", 0)

    def increment():
        v = yield from counter.read()        # one visible step: the load
        yield from counter.write(v + 1)      # another: the store

    world.thread("A", increment())
    world.thread("B", increment())
    world.at_end(lambda: check(counter.peek() == 2, "lost-update", f"counter is {counter.peek()}, not 2"))


def main():
    program = Program(lost_update, "lost-update")
    result = explore(program, "dpor")                 # minimized by default
    (v,) = result.violations
    print(f"{result.verdict()}: {v.kind}: {v.message}")
    print(f"minimal counterexample: {v.preemptions} preemption(s), {len(v.schedule)} steps: {v.schedule.steps}")
    text = v.schedule.dumps()                         # versioned JSON
    ex, divergence = replay(program, Schedule.loads(text))
    assert divergence is None and ex.outcome.kind == "lost-update"
    print("replayed:", ex.outcome.message)


if __name__ == "__main__":
    main()
