"""SQLite store: runs and results, appended as they arrive (WAL, one commit per result).

Everything the report shows is read back from here, so `evals report` can rebuild
any past report and an interrupted run keeps every result it had received.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    suites TEXT NOT NULL,          -- JSON list of suite names
    started_at TEXT NOT NULL,
    finished_at TEXT,
    complete INTEGER NOT NULL DEFAULT 0,
    planned INTEGER,               -- requests planned, when known
    config TEXT NOT NULL           -- JSON: argv, suite paths, runner (no secrets)
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    suite TEXT NOT NULL,
    case_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    model TEXT NOT NULL,           -- runner model id
    repeat INTEGER NOT NULL,
    request_hash TEXT NOT NULL,
    request TEXT NOT NULL,         -- JSON body sent (messages, params), no secrets
    vars TEXT NOT NULL,
    expect TEXT NOT NULL,
    output TEXT,
    tool_calls TEXT,
    finish_reason TEXT,
    prompt_tokens INTEGER,
    cached_tokens INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens INTEGER,
    latency_s REAL,
    cost_usd REAL,
    error TEXT,
    error_class TEXT,
    attempts INTEGER NOT NULL,
    passed INTEGER,
    score REAL,
    grades TEXT NOT NULL,          -- JSON list of {type, passed, score, reason, error}
    created_at TEXT NOT NULL,
    UNIQUE (run_id, suite, case_id, prompt, model, repeat)
);
CREATE INDEX IF NOT EXISTS results_group ON results (run_id, suite, prompt, model);
"""


@dataclass(slots=True)
class ResultRecord:
    run_id: str
    suite: str
    case_id: str
    prompt: str
    model: str
    repeat: int
    request_hash: str
    request: str
    vars: str
    expect: str
    output: str | None
    tool_calls: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    cached_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    latency_s: float | None
    cost_usd: float | None
    error: str | None
    error_class: str | None
    attempts: int
    passed: bool | None
    score: float | None
    grades: str
    created_at: str


_RESULT_COLUMNS = tuple(ResultRecord.__dataclass_fields__)
_INSERT_RESULT = (
    f"INSERT OR REPLACE INTO results ({', '.join(_RESULT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _RESULT_COLUMNS)})"
)


def default_home() -> Path:
    return Path(os.environ.get("EVALS_HOME") or ".evals")


class Store:
    """One SQLite connection, used from one thread (the run's event loop)."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_home() / "evals.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def start_run(self, run_id: str, suites: list[str], started_at: str, config: dict) -> None:
        self.db.execute(
            "INSERT INTO runs (run_id, suites, started_at, config) VALUES (?, ?, ?, ?)",
            (run_id, json.dumps(suites), started_at, json.dumps(config)),
        )

    def set_planned(self, run_id: str, planned: int) -> None:
        self.db.execute("UPDATE runs SET planned = ? WHERE run_id = ?", (planned, run_id))

    def finish_run(self, run_id: str, finished_at: str, complete: bool) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at = ?, complete = ? WHERE run_id = ?",
            (finished_at, int(complete), run_id),
        )

    def add_result(self, record: ResultRecord) -> None:
        """Insert and commit at once (autocommit): a crash after this loses nothing."""
        values = asdict(record)
        self.db.execute(_INSERT_RESULT, tuple(values[c] for c in _RESULT_COLUMNS))

    def run(self, run_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run_dict(row) if row else None

    def runs(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT r.*, (SELECT COUNT(*) FROM results WHERE run_id = r.run_id) AS results "
            "FROM runs r ORDER BY started_at DESC, run_id DESC"
        ).fetchall()
        return [_run_dict(row) for row in rows]

    def latest_run_id(self) -> str | None:
        row = self.db.execute(
            "SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 1"
        ).fetchone()
        return row["run_id"] if row else None

    def results(self, run_id: str) -> Iterator[sqlite3.Row]:
        """Stream a run's results in a stable order (suite, prompt, model, case, repeat)."""
        cursor = self.db.execute(
            "SELECT * FROM results WHERE run_id = ? ORDER BY suite, prompt, model, id",
            (run_id,),
        )
        yield from cursor

    def groups(self, run_id: str) -> list[sqlite3.Row]:
        """Per (suite, prompt, model) sums; percentiles are computed from `latencies`."""
        return self.db.execute(
            """
            SELECT suite, prompt, model,
                   COUNT(DISTINCT case_id) AS cases,
                   COUNT(*) AS samples,
                   SUM(error IS NOT NULL) AS errors,
                   SUM(CASE WHEN error IS NULL AND passed THEN 1 ELSE 0 END) AS passed,
                   AVG(CASE WHEN error IS NULL THEN score END) AS mean_score,
                   SUM(prompt_tokens) AS prompt_tokens,
                   SUM(cached_tokens) AS cached_tokens,
                   SUM(completion_tokens) AS completion_tokens,
                   SUM(reasoning_tokens) AS reasoning_tokens,
                   SUM(cost_usd) AS cost_usd,
                   SUM(prompt_tokens IS NOT NULL AND cost_usd IS NULL) AS unpriced
            FROM results WHERE run_id = ?
            GROUP BY suite, prompt, model ORDER BY suite, prompt, model
            """,
            (run_id,),
        ).fetchall()

    def latencies(self, run_id: str, suite: str, prompt: str, model: str) -> list[float]:
        rows = self.db.execute(
            "SELECT latency_s FROM results WHERE run_id = ? AND suite = ? AND prompt = ? "
            "AND model = ? AND error IS NULL AND latency_s IS NOT NULL",
            (run_id, suite, prompt, model),
        )
        return [row[0] for row in rows]


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["suites"] = json.loads(data["suites"])
    data["config"] = json.loads(data["config"])
    data["complete"] = bool(data["complete"])
    return data
