"""Command-line input checked before any work starts: lists of names, durations, output paths.

Every refusal says what is wrong and how to fix it (exit 2, never a traceback), and comes
before a search runs: a mistyped output directory found after ten minutes of search loses them.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import click


def split_names(text: str | None, what: str) -> list[str] | None:
    """``"bypass, swapcache,"`` -> ["bypass", "swapcache"]: spaces and empty items ignored,
    repeats dropped (a cell checked twice would be shown once)."""
    if text is None:
        return None
    names = []
    for part in text.split(","):
        part = part.strip()
        if part and part not in names:
            names.append(part)
    if not names:
        raise click.BadParameter(f"no {what} in {text!r}: give a comma-separated list, "
                                 f"e.g. bypass,swapcache")
    return names


class Seconds(click.ParamType):
    """A duration in seconds: a positive finite number ("inf" means no limit)."""

    name = "SECONDS"

    def __init__(self, minimum: float = 0.1):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, float):
            seconds = value
        else:
            try:
                seconds = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds (e.g. 60 or 2.5)", param, ctx)
        if seconds is None:
            return None
        if math.isnan(seconds):
            self.fail("nan is not a number of seconds (e.g. 60 or 2.5)", param, ctx)
        if math.isinf(seconds) and seconds > 0:
            return None
        if seconds < self.minimum:
            self.fail(f"{value} is below the minimum of {self.minimum:g} seconds", param, ctx)
        return seconds


def output_file(path: str | None, option: str) -> str | None:
    """Refuse an output file that cannot be written, before any work: its directory must exist
    and be writable, and the path must not be a directory."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        raise click.BadParameter(f"{path} is a directory: give a file name, e.g. {path.rstrip('/')}/out",
                                 param_hint=option)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise click.BadParameter(f"{path}: the directory {parent} does not exist; create it "
                                 f"first (mkdir -p {parent})", param_hint=option)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{path}: the directory {parent} is not writable", param_hint=option)
    if p.exists() and not os.access(p, os.W_OK):
        raise click.BadParameter(f"{path}: the file exists and is not writable", param_hint=option)
    return path


def output_dir(path: str | None, option: str) -> str | None:
    """Refuse an output directory that neither exists nor can be made (its parent must exist)."""
    if path is None:
        return None
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise click.BadParameter(f"{path} exists and is not a directory", param_hint=option)
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise click.BadParameter(f"{path}: the directory is not writable", param_hint=option)
        return path
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise click.BadParameter(f"{path}: its parent directory {parent} does not exist; create "
                                 f"it first (mkdir -p {path})", param_hint=option)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{path}: cannot create it, {parent} is not writable", param_hint=option)
    return path
