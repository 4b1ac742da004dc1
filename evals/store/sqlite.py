"""SQLite store: runs and results, appended as they arrive (WAL, one commit per result).

Everything the report shows is read back from here, so `evals report` can rebuild
any past report and an interrupted run keeps every result it had received.
"""

from __future__ import annotations

import json
import operator
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.store.queries import ANSWERED, ReportQueries, samples_query
from evals.store.rows import BATCH_COLUMNS, BatchState, ResultRecord, ResultRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    suites TEXT NOT NULL,          -- JSON list of suite names
    started_at TEXT NOT NULL,
    finished_at TEXT,
    complete INTEGER NOT NULL DEFAULT 0,
    planned INTEGER,               -- requests planned, when known
    config TEXT NOT NULL,          -- JSON: argv, suite paths, runner (no secrets)
    stopped_reason TEXT            -- why an incomplete run stopped (budget, quota, interrupt)
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
    cache_hit INTEGER NOT NULL DEFAULT 0,
    spend_usd REAL,                -- new money spent on this result (0 on a cache hit)
    ttft_s REAL,                   -- time to first token (streaming only)
    tokens_per_s REAL,             -- completion tokens per second after the first (streaming)
    backoff_s REAL,                -- time spent waiting between attempts
    grader_cost_usd REAL,          -- judge and embedding calls made by graders
    audio_s REAL,                  -- transcription: seconds of audio sent
    role TEXT NOT NULL DEFAULT 'sample', -- 'corpus': an embeddings suite's corpus cost
    cluster TEXT,                  -- the case's `cluster:`, when cases are not independent
    tags TEXT NOT NULL DEFAULT '[]', -- JSON list: the case's `tags:`
    logprobs TEXT,                 -- JSON: first output tokens' logprobs (when asked for)
    brier REAL,                    -- Brier score of a probabilistic verdict
    UNIQUE (run_id, suite, case_id, prompt, model, repeat)
);
CREATE INDEX IF NOT EXISTS results_group ON results (run_id, suite, prompt, model);
CREATE TABLE IF NOT EXISTS batches (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    batch_no INTEGER NOT NULL,     -- 1, 2, ... in the order the files were written
    role TEXT NOT NULL,            -- 'sample' | 'judge'
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    url TEXT NOT NULL,             -- the API path every line posts to
    input_path TEXT NOT NULL,      -- the JSONL file on disk
    requests INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    round INTEGER NOT NULL DEFAULT 0, -- 0: first sending; N: the Nth retry of missing lines
    state TEXT NOT NULL,           -- written | uploaded | submitted | ingested | offline
    reserved_usd REAL NOT NULL DEFAULT 0,
    file_id TEXT,
    batch_id TEXT,
    status TEXT,                   -- the provider's status at the last look
    completed INTEGER,
    failed INTEGER,
    output_file_id TEXT,
    error_file_id TEXT,
    note TEXT,
    updated_at TEXT,
    PRIMARY KEY (run_id, batch_no)
);
CREATE TABLE IF NOT EXISTS response_cache (
    request_hash TEXT PRIMARY KEY, -- endpoint, model, messages, params, repeat index
    response TEXT NOT NULL,        -- JSON: output, tool_calls, usage, latency, cost
    created_at TEXT NOT NULL
);
"""
# Columns added after the first release: older stores gain them on open.
_ADDED_COLUMNS = {
    "results": {
        "cache_hit": "INTEGER NOT NULL DEFAULT 0",
        "spend_usd": "REAL",
        "ttft_s": "REAL",
        "tokens_per_s": "REAL",
        "backoff_s": "REAL",
        "grader_cost_usd": "REAL",
        "audio_s": "REAL",
        "role": "TEXT NOT NULL DEFAULT 'sample'",
        "cluster": "TEXT",
        "tags": "TEXT NOT NULL DEFAULT '[]'",
        "logprobs": "TEXT",
        "brier": "REAL",
        "via": "TEXT",
        "online_cost_usd": "REAL",
    },
    "runs": {"stopped_reason": "TEXT"},
}


_RESULT_COLUMNS = tuple(ResultRecord.__dataclass_fields__)
_result_values = operator.attrgetter(*_RESULT_COLUMNS)  # asdict() deep-copies: 10x slower
_INSERT_RESULT = (
    f"INSERT OR REPLACE INTO results ({', '.join(_RESULT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _RESULT_COLUMNS)})"
)


# created_at: the result's time when stored with one, else now
_PUT_CACHE = (
    "INSERT OR REPLACE INTO response_cache (request_hash, response, created_at) "
    "VALUES (?, ?, COALESCE(?, datetime('now')))"
)
_RESULT_KEY = "run_id = ? AND suite = ? AND case_id = ? AND prompt = ? AND model = ? AND repeat = ?"
_PAGE = 500  # rows per query of `answered_results`


def default_home() -> Path:
    return Path(os.environ.get("EVALS_HOME") or ".evals")


class SqliteResponseCache:
    """The `response_cache` table as a ResponseCache."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def get(self, request_hash: str) -> str | None:
        row = self.db.execute(
            "SELECT response FROM response_cache WHERE request_hash = ?", (request_hash,)
        ).fetchone()
        return row[0] if row else None

    def put(self, request_hash: str, entry: str) -> None:
        """Cache a response that is not a result of its own (a judge's or an embedder's)."""
        self.db.execute(_PUT_CACHE, (request_hash, entry, None))


class Store(ReportQueries):
    """One SQLite connection, used from one thread (the run's event loop).

    Implements evals.store.base.ResultStore; the aggregate reads live in ReportQueries.
    """

    def __init__(self, path: Path | None = None):
        self.path = path or default_home() / "evals.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = None
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout=5000")  # first: the next statements may wait
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self.db = db
            self._migrate()
            self.cache = SqliteResponseCache(db)
        except sqlite3.DatabaseError as exc:  # also OperationalError: locked, cannot open
            if db is not None:
                db.close()
            from evals.errors import InputError

            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
                what = "is not an evals store"
            else:
                what = "cannot be opened as the evals store"
            raise InputError(
                f"{self.path} {what} ({exc}): move it away or set EVALS_HOME to another folder"
            ) from None

    def _migrate(self) -> None:
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for name, decl in columns.items():
                if name not in present:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")

    def close(self) -> None:
        self.db.close()

    def start_run(self, run_id: str, suites: list[str], started_at: str, config: dict) -> None:
        self.db.execute(
            "INSERT INTO runs (run_id, suites, started_at, config) VALUES (?, ?, ?, ?)",
            (run_id, json.dumps(suites), started_at, json.dumps(config)),
        )

    def set_planned(self, run_id: str, planned: int) -> None:
        self.db.execute("UPDATE runs SET planned = ? WHERE run_id = ?", (planned, run_id))

    def finish_run(
        self, run_id: str, finished_at: str, complete: bool, stopped_reason: str | None = None
    ) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at = ?, complete = ?, stopped_reason = ? WHERE run_id = ?",
            (finished_at, int(complete), stopped_reason, run_id),
        )

    def add_result(self, record: ResultRecord, cache_entry: str | None = None) -> None:
        """Insert the result (and its cache entry) in one commit: a crash loses nothing."""
        row = _result_values(record)
        if cache_entry is None:
            self.db.execute(_INSERT_RESULT, row)
            return
        with self.db:  # one transaction: the cache never holds what the results lack
            self.db.execute("BEGIN")
            self.db.execute(_INSERT_RESULT, row)
            self.db.execute(_PUT_CACHE, (record.request_hash, cache_entry, record.created_at))

    def set_grade(
        self,
        run_id: str,
        suite: str,
        case_id: str,
        prompt: str,
        model: str,
        repeat: int,
        *,
        passed: bool | None,
        score: float | None,
        grades: str,
        error: str | None,
        error_class: str | None,
        grader_cost_usd: float | None,
        brier: float | None = None,
    ) -> None:
        """Replace one stored result's verdict in place (one commit)."""
        updated = self.db.execute(
            "UPDATE results SET passed = ?, score = ?, grades = ?, error = ?, error_class = ?, "
            f"grader_cost_usd = ?, brier = ? WHERE {_RESULT_KEY}",
            (passed, score, grades, error, error_class, grader_cost_usd, brier)
            + (run_id, suite, case_id, prompt, model, repeat),
        ).rowcount
        if not updated:
            raise KeyError((run_id, suite, case_id, prompt, model, repeat))

    def add_batch(self, batch: BatchState) -> None:
        values = tuple(getattr(batch, name) for name in BATCH_COLUMNS)
        self.db.execute(
            f"INSERT INTO batches ({', '.join(BATCH_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in BATCH_COLUMNS)})",
            values,
        )

    def update_batch(self, run_id: str, batch_no: int, **changes: Any) -> None:
        unknown = set(changes) - set(BATCH_COLUMNS)
        if unknown:
            raise KeyError(f"no batch field {', '.join(sorted(unknown))}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        self.db.execute(
            f"UPDATE batches SET {assignments} WHERE run_id = ? AND batch_no = ?",
            (*changes.values(), run_id, batch_no),
        )

    def batches(self, run_id: str) -> list[BatchState]:
        rows = self.db.execute(
            f"SELECT {', '.join(BATCH_COLUMNS)} FROM batches WHERE run_id = ? ORDER BY batch_no",
            (run_id,),
        ).fetchall()
        return [BatchState(*row) for row in rows]

    # kept for callers of the first API; `store.cache` is the ResponseCache
    def has_result(
        self, run_id: str, suite: str, case_id: str, prompt: str, model: str, repeat: int
    ) -> bool:
        """True when this sample already has a stored result without an error (resume)."""
        row = self.db.execute(
            f"SELECT 1 FROM results WHERE {_RESULT_KEY} AND error IS NULL",
            (run_id, suite, case_id, prompt, model, repeat),
        ).fetchone()
        return row is not None

    def result_state(
        self, run_id: str, suite: str, case_id: str, prompt: str, model: str, repeat: int
    ) -> str | None:
        """None: no row; 'ok': answered and graded; else its error class ('grader',
        'ungraded', 'server:500', ...; 'error' when it has none)."""
        row = self.db.execute(
            f"SELECT error, error_class FROM results WHERE {_RESULT_KEY}",
            (run_id, suite, case_id, prompt, model, repeat),
        ).fetchone()
        if row is None:
            return None
        return "ok" if row[0] is None else (row[1] or "error")

    def unfinished_runs(self, suites: list[str]) -> list[dict[str, Any]]:
        """Incomplete runs of exactly these suites, newest first (for the resume hint)."""
        return [
            run
            for run in self.runs()
            if not run["complete"] and sorted(run["suites"]) == sorted(suites)
        ]

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

    def results(
        self, run_id: str, problems_first: bool = False, limit: int | None = None
    ) -> Iterator[ResultRow]:
        """Stream a run's results in a stable order; optionally errors and failures first."""
        for row in self.db.execute(samples_query("*", problems_first, limit), (run_id,)):
            yield ResultRow.from_db(row)

    def answered_results(self, run_id: str) -> Iterator[ResultRow]:
        """Samples that got an answer, by id; read a page at a time, so no query is open
        while the caller writes (`set_grade`) and memory stays flat."""
        last = -1
        while True:
            page = self.db.execute(
                f"SELECT * FROM results WHERE run_id = ? AND {ANSWERED} AND id > ? "
                "ORDER BY id LIMIT ?",
                (run_id, last, _PAGE),
            ).fetchall()
            for row in page:
                yield ResultRow.from_db(row)
            if len(page) < _PAGE:
                return
            last = page[-1]["id"]


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["suites"] = json.loads(data["suites"])
    data["config"] = json.loads(data["config"])
    data["complete"] = bool(data["complete"])
    return data
