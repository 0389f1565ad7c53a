"""Writing result files atomically: a reader never sees half a file, and a failed write leaves
the old file as it was.

The temporary file is made by mkstemp, which creates it 0600; before it replaces the target
it gets the mode an ordinary ``open(path, "w")`` would have given: the old file's mode when
there is one, else 0666 less the user's umask.
"""
from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)      # the only way to read it is to set it; put it straight back
    os.umask(mask)
    return mask


def _mode_for(p: Path) -> int:
    try:
        return stat.S_IMODE(p.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path in the target's directory; once the body has written it, it
    replaces ``path`` in one rename (for writers that want a file name, such as matplotlib)."""
    p = Path(path)
    d = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=d)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _mode_for(p))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
