"""The hunt's store: one SQLite file (stdlib sqlite3), written by the coordinator alone.

Tables: ``meta`` (the hunt's settings and progress: enumeration position, mutation counter,
scenarios checked, seconds), ``corpus`` (scenarios that added coverage, by canonical form),
``arcs`` (every arc reached, per file), ``findings`` (one row per signature, with a count, the
minimized scenario and its schedule).  A hunt resumes from what the store holds.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS corpus (
    id INTEGER PRIMARY KEY, canon TEXT UNIQUE NOT NULL, toml TEXT NOT NULL, origin TEXT NOT NULL,
    new_arcs INTEGER NOT NULL, verdicts TEXT NOT NULL, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS arcs (
    file TEXT NOT NULL, src INTEGER NOT NULL, dst INTEGER NOT NULL, PRIMARY KEY (file, src, dst));
CREATE TABLE IF NOT EXISTS findings (
    signature TEXT PRIMARY KEY, design TEXT NOT NULL, kind TEXT NOT NULL, function TEXT NOT NULL,
    reference TEXT NOT NULL, count INTEGER NOT NULL, reference_ok INTEGER, toml TEXT NOT NULL,
    trace TEXT NOT NULL, message TEXT NOT NULL, preemptions INTEGER NOT NULL, steps INTEGER NOT NULL,
    scenario_file TEXT, trace_file TEXT, reproduce TEXT, phase TEXT, shrunk INTEGER NOT NULL DEFAULT 0,
    first_seen REAL NOT NULL);
"""


class StoreError(Exception):
    """The store file cannot be used; str() says why and what to do."""


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path))
            self.db.executescript(SCHEMA)
            have = {row[1] for row in self.db.execute("PRAGMA table_info(findings)")}
            for col, decl in (("reproduce", "TEXT"), ("phase", "TEXT"), ("shrunk", "INTEGER NOT NULL DEFAULT 0")):
                if col not in have:          # a store from an earlier swaplab: add what it lacks
                    self.db.execute(f"ALTER TABLE findings ADD COLUMN {col} {decl}")
        except (OSError, sqlite3.DatabaseError) as e:
            raise StoreError(f"{self.path}: cannot open the hunt store ({e}); give another --store PATH "
                             "or remove the file") from None

    def close(self) -> None:
        self.db.commit()
        self.db.close()

    def commit(self) -> None:
        self.db.commit()

    # --- meta ----------------------------------------------------------------------------------
    def get(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def put(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # --- coverage ------------------------------------------------------------------------------
    def arcs(self) -> dict[str, set]:
        out: dict[str, set] = {}
        for f, a, b in self.db.execute("SELECT file, src, dst FROM arcs"):
            out.setdefault(f, set()).add((a, b))
        return out

    def add_arcs(self, new: dict[str, set]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO arcs (file, src, dst) VALUES (?, ?, ?)",
                            [(f, a, b) for f, s in new.items() for a, b in s])

    # --- corpus --------------------------------------------------------------------------------
    def add_corpus(self, canon: str, toml: str, origin: str, new_arcs: int, verdicts: dict) -> bool:
        cur = self.db.execute("INSERT OR IGNORE INTO corpus (canon, toml, origin, new_arcs, verdicts, added) "
                              "VALUES (?, ?, ?, ?, ?, ?)",
                              (canon, toml, origin, new_arcs, json.dumps(verdicts), time.time()))
        return cur.rowcount > 0

    def corpus(self) -> list[tuple[int, str]]:
        return list(self.db.execute("SELECT id, toml FROM corpus ORDER BY id"))

    def corpus_size(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM corpus").fetchone()[0]

    # --- findings ------------------------------------------------------------------------------
    def bump_finding(self, signature: str) -> bool:
        """Count one more hit of a known signature; False if the signature is new."""
        cur = self.db.execute("UPDATE findings SET count = count + 1 WHERE signature = ?", (signature,))
        return cur.rowcount > 0

    def add_finding(self, f: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO findings (signature, design, kind, function, reference, count, reference_ok,"
            " toml, trace, message, preemptions, steps, scenario_file, trace_file, reproduce, phase, shrunk,"
            " first_seen)"
            " VALUES (:signature, :design, :kind, :function, :reference, :count, :reference_ok, :toml, :trace,"
            " :message, :preemptions, :steps, :scenario_file, :trace_file, :reproduce, :phase, :shrunk,"
            " :first_seen)", {"reproduce": None, "phase": "cheap", "shrunk": 0, **f})

    def findings(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM findings ORDER BY reference_ok, first_seen")
        cols = [c[0] for c in cur.description]
        out = []
        for row in cur:
            d = dict(zip(cols, row))
            d["reference_ok"] = None if d["reference_ok"] is None else bool(d["reference_ok"])
            out.append(d)
        return out
