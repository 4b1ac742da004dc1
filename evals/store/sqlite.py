"""SQLite store: runs and results, appended as they arrive (WAL, one commit per result).

Everything the report shows is read back from here, so `evals report` can rebuild
any past report and an interrupted run keeps every result it had received.
"""

from __future__ import annotations

import operator
import os
import sqlite3
from pathlib import Path

from evals.store.rows import ResultRecord
from evals.store.sql import SqlStore

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
SCHEMA_VERSION = 1  # of SCHEMA with ADDED_COLUMNS; a store of a later version is refused
# Columns added after the first release: older stores gain them on open.
ADDED_COLUMNS = {
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


class Store(SqlStore):
    """One SQLite connection, used from one thread (the run's event loop).

    Implements evals.store.base.ResultStore; what every SQL backend shares lives in
    SqlStore, the aggregate reads in ReportQueries.
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
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            from evals.errors import InputError

            raise InputError(
                f"{self.path} has store schema version {version}, newer than this evals "
                f"knows ({SCHEMA_VERSION}): upgrade evals"
            )
        for table, columns in ADDED_COLUMNS.items():
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for name, decl in columns.items():
                if name not in present:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
        if version < SCHEMA_VERSION:
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

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
