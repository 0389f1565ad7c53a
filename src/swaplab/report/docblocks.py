"""Docs that cannot drift: every output quoted in README.md and docs/*.md sits in a marked block
that names the command printing it.

    <!-- swaplab:begin cmd="swaplab check -d bypass -s slot-reuse" -->
    ```
    ...what the command prints...
    ```
    <!-- swaplab:end -->

``make docs`` (``python -m swaplab.report.docblocks --write FILES``) runs each command and
rewrites its block.  ``--check`` (what the test suite runs) compares instead of writing:

* a cheap block is re-run and must match exactly, except for durations ("0.05s"), which vary;
* an ``expensive`` block (the full compare matrix, minutes of CPU) is regenerated only by
  ``make docs``; the check runs its ``fast`` command, which prints the same format on less
  work, and requires every line of it to appear in the quoted block: the first ``header``
  lines (default 2: titles and column headings, so the column layout) exactly, as a prefix of
  a quoted line; the others with their numbers and spacing left out (row names, words,
  punctuation).  So a changed layout, a renamed row or column, or a changed verdict fails; new
  figures from the same format do not.

Other marker attributes: ``stop="REGEX"`` keeps the output up to the first line matching it;
``lang="toml"`` sets the code fence's language.  Commands run from the repository root;
"swaplab ..." and "python ..." use the running interpreter.
"""
from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# A marker stands alone on its line, at its start (an indented or inline one is an example).
BLOCK = re.compile(r"^(?P<open><!-- swaplab:begin (?P<attrs>[^\n]*?) -->\n)(?P<body>.*?)^(?P<close><!-- swaplab:end -->)$",
                   re.S | re.M)
ATTR = re.compile(r'(\w+)="([^"]*)"')
DURATION = re.compile(r"\b\d+(?:\.\d+)?s\b")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class DocError(Exception):
    """A block could not be produced or no longer matches; str() says which and what to do."""


@dataclass
class Block:
    path: Path
    line: int
    attrs: dict
    body: str                   # the text between the fences
    span: tuple[int, int]       # of the body in the file

    @property
    def cmd(self) -> str:
        return self.attrs["cmd"]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        attrs = dict(ATTR.findall(m["attrs"]))
        line = text.count("\n", 0, m.start()) + 1
        if "cmd" not in attrs:
            raise DocError(f"{path}:{line}: a swaplab:begin marker without cmd=\"...\"")
        if "expensive" in attrs and "fast" not in attrs:
            raise DocError(f"{path}:{line}: an expensive block needs fast=\"...\": a cheap command printing "
                           "the same format, for the test")
        body = m["body"]
        fence = re.match(r"```[^\n]*\n(.*?)```\n?\Z", body, re.S)
        out.append(Block(path, line, attrs, fence[1] if fence else body, (m.start("body"), m.end("body"))))
    return out


def argv_of(cmd: str) -> list[str]:
    argv = shlex.split(cmd)
    if argv[0] == "swaplab":
        return [sys.executable, "-m", "swaplab.cli", *argv[1:]]
    if argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    return argv


def run(cmd: str, root: Path, stop: str | None = None) -> str:
    """What ``cmd`` prints, as a block quotes it: trailing spaces and blank edges removed."""
    try:
        p = subprocess.run(argv_of(cmd), cwd=root, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DocError(f"{cmd}: could not run it: {e}") from None
    if p.returncode not in (0, 1):          # 1: a violation, which is what some blocks show
        raise DocError(f"{cmd}: exit status {p.returncode}: {p.stderr.strip()[-500:]}")
    lines = [ln.rstrip() for ln in p.stdout.splitlines()]
    if stop:
        pat = re.compile(stop)
        for i, ln in enumerate(lines):
            if pat.search(ln):
                lines = lines[:i + 1]
                break
        else:
            raise DocError(f"{cmd}: no line matches stop={stop!r}")
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _timeless(text: str) -> str:
    return DURATION.sub("#s", text)


def _shape(line: str) -> str:
    return re.sub(r"\s+", " ", NUMBER.sub("#", line)).strip()


def compare_exact(quoted: str, printed: str) -> str | None:
    """None if they match (durations aside), else the first difference."""
    q, p = _timeless(quoted).splitlines(), _timeless(printed).splitlines()
    for i, (a, b) in enumerate(zip(q, p)):
        if a.rstrip() != b.rstrip():
            return f"line {i + 1} of the block differs:\n  quoted:  {a}\n  printed: {b}"
    if len(q) != len(p):
        return f"the block has {len(q)} lines, the command prints {len(p)}"
    return None


def compare_format(quoted: str, printed: str, header: int = 2) -> str | None:
    """None if every line ``printed`` (by the fast command) has its counterpart in ``quoted``
    (see the module docstring), else the first line that has none."""
    q = [ln.rstrip() for ln in _timeless(quoted).splitlines()]
    shapes = [_shape(ln) for ln in q]
    seen = 0
    for ln in _timeless(printed).splitlines():
        ln = ln.rstrip()
        if not ln:
            continue
        seen += 1
        if any(x.startswith(ln) for x in q):
            continue
        if seen <= header:
            return f"heading line no longer in the block (the layout changed?):\n  printed: {ln}"
        s = _shape(ln)
        if not any(x.startswith(s) for x in shapes):
            return f"a line the command prints has no counterpart in the block:\n  printed: {ln}"
    return None


def check_block(b: Block, root: Path) -> str | None:
    """None if block ``b`` is current (in the sense of the module docstring), else why not."""
    stop = b.attrs.get("stop")
    if "expensive" in b.attrs:
        why = compare_format(b.body, run(b.attrs["fast"], root, stop), int(b.attrs.get("header", 2)))
        cmd = b.attrs["fast"]
    else:
        why = compare_exact(b.body, run(b.cmd, root, stop))
        cmd = b.cmd
    if why:
        return f"{b.where}: the block quoting `{b.cmd}` no longer matches `{cmd}`: {why}\n  (run `make docs`)"
    return None


def rewrite(path: Path, root: Path, *, skip_expensive: bool = False, only: str | None = None, log=print) -> int:
    """Run every block's command (those whose command contains ``only``, if given) and write
    its output into the file; returns the number of blocks rewritten."""
    text = path.read_text(encoding="utf-8")
    done = 0
    for b in reversed(blocks(path)):         # from the end, so earlier spans stay valid
        if only is not None and only not in b.cmd:
            continue
        if skip_expensive and "expensive" in b.attrs:
            log(f"{b.where}: skipped (expensive): {b.cmd}")
            continue
        log(f"{b.where}: {b.cmd}")
        out = run(b.cmd, root, b.attrs.get("stop"))
        new = f"```{b.attrs.get('lang', '')}\n{out}\n```\n"
        text = text[:b.span[0]] + new + text[b.span[1]:]
        done += 1
    from .files import write_atomic
    write_atomic(path, text)
    return done


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m swaplab.report.docblocks", description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="run every block's command and rewrite the block")
    mode.add_argument("--check", action="store_true", help="fail if a block no longer matches its command")
    ap.add_argument("--skip-expensive", action="store_true", help="with --write: leave expensive blocks as they are")
    ap.add_argument("--only", metavar="TEXT", help="with --write: only the blocks whose command contains TEXT")
    ap.add_argument("--root", type=Path, default=Path("."), help="where commands run (the repository root)")
    a = ap.parse_args(argv)
    try:
        if a.write:
            n = sum(rewrite(f, a.root, skip_expensive=a.skip_expensive, only=a.only) for f in a.files)
            print(f"{n} block(s) rewritten")
            return 0
        problems = [p for f in a.files for b in blocks(f) if (p := check_block(b, a.root))]
    except DocError as e:
        print(f"swaplab docs: {e}", file=sys.stderr)
        return 2
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
