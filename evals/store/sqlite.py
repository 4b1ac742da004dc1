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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.stats import percentile_of_sorted

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
    UNIQUE (run_id, suite, case_id, prompt, model, repeat)
);
CREATE INDEX IF NOT EXISTS results_group ON results (run_id, suite, prompt, model);
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
    },
    "runs": {"stopped_reason": "TEXT"},
}


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
    cache_hit: bool = False
    spend_usd: float | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    backoff_s: float | None = None
    grader_cost_usd: float | None = 0.0
    audio_s: float | None = None
    role: str = "sample"


_RESULT_COLUMNS = tuple(ResultRecord.__dataclass_fields__)
_result_values = operator.attrgetter(*_RESULT_COLUMNS)  # asdict() deep-copies: 10x slower
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
            self.db.execute(
                "INSERT OR REPLACE INTO response_cache (request_hash, response, created_at) "
                "VALUES (?, ?, ?)",
                (record.request_hash, cache_entry, record.created_at),
            )

    def put_cache(self, request_hash: str, entry: str) -> None:
        """Cache a response that is not a result of its own (a judge's or an embedder's)."""
        self.db.execute(
            "INSERT OR REPLACE INTO response_cache (request_hash, response, created_at) "
            "VALUES (?, ?, datetime('now'))",
            (request_hash, entry),
        )

    def cached_response(self, request_hash: str) -> str | None:
        row = self.db.execute(
            "SELECT response FROM response_cache WHERE request_hash = ?", (request_hash,)
        ).fetchone()
        return row[0] if row else None

    def has_result(
        self, run_id: str, suite: str, case_id: str, prompt: str, model: str, repeat: int
    ) -> bool:
        """True when this sample already has a stored result without an error (resume)."""
        row = self.db.execute(
            "SELECT 1 FROM results WHERE run_id = ? AND suite = ? AND case_id = ? AND prompt = ? "
            "AND model = ? AND repeat = ? AND error IS NULL",
            (run_id, suite, case_id, prompt, model, repeat),
        ).fetchone()
        return row is not None

    def count_results(self, run_id: str, errors: bool = True) -> int:
        query = "SELECT COUNT(*) FROM results WHERE run_id = ? AND role = 'sample'"
        if not errors:
            query += " AND error IS NULL"
        return self.db.execute(query, (run_id,)).fetchone()[0]

    def count_answered(self, run_id: str) -> int:
        """Samples whose request got an answer (a grader error still had one)."""
        return self.db.execute(
            "SELECT COUNT(*) FROM results WHERE run_id = ? AND role = 'sample' "
            "AND (error IS NULL OR error_class = 'grader')",
            (run_id,),
        ).fetchone()[0]

    def count_group(self, run_id: str, suite: str, prompt: str, model: str) -> int:
        """Error-free samples of one (suite, prompt, model) group."""
        return self.db.execute(
            "SELECT COUNT(*) FROM results WHERE run_id = ? AND suite = ? AND prompt = ? "
            "AND model = ? AND error IS NULL AND role = 'sample'",
            (run_id, suite, prompt, model),
        ).fetchone()[0]

    def count_model_results(self, run_id: str, model: str) -> int:
        """Results without an error for one model (what a resume will not send again)."""
        return self.db.execute(
            "SELECT COUNT(*) FROM results WHERE run_id = ? AND model = ? AND error IS NULL "
            "AND role = 'sample'",
            (run_id, model),
        ).fetchone()[0]

    def spent(self, run_id: str) -> float:
        row = self.db.execute(
            "SELECT COALESCE(SUM(spend_usd), 0) FROM results WHERE run_id = ?", (run_id,)
        ).fetchone()
        return float(row[0])

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
    ) -> Iterator[sqlite3.Row]:
        """Stream a run's results in a stable order; optionally errors and failures first."""
        order = "suite, prompt, model, id"
        if problems_first:
            order = f"(error IS NULL), COALESCE(passed, 0), {order}"
        query = f"SELECT * FROM results WHERE run_id = ? AND role = 'sample' ORDER BY {order}"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        yield from self.db.execute(query, (run_id,))

    def groups(self, run_id: str) -> list[sqlite3.Row]:
        """Per (suite, prompt, model) sums; percentiles are computed from `latencies`."""
        return self.db.execute(
            """
            SELECT suite, prompt, model,
                   COUNT(DISTINCT CASE WHEN role = 'sample' THEN case_id END) AS cases,
                   SUM(role = 'sample') AS samples,
                   SUM(role = 'sample' AND error IS NOT NULL) AS errors,
                   SUM(role = 'sample' AND error IS NULL AND passed) AS passed,
                   AVG(CASE WHEN role = 'sample' AND error IS NULL THEN score END) AS mean_score,
                   SUM(prompt_tokens) AS prompt_tokens,
                   SUM(cached_tokens) AS cached_tokens,
                   SUM(completion_tokens) AS completion_tokens,
                   SUM(reasoning_tokens) AS reasoning_tokens,
                   SUM(cost_usd) AS cost_usd,
                   SUM(error IS NULL AND cost_usd IS NULL) AS unpriced,
                   SUM(role = 'sample' AND error IS NULL AND prompt_tokens IS NULL
                       AND audio_s IS NULL) AS no_usage,
                   SUM(spend_usd) AS spend_usd,
                   SUM(cache_hit) AS cache_hits,
                   SUM(MAX(attempts - 1, 0)) AS retries,
                   SUM(backoff_s) AS backoff_s,
                   SUM(grader_cost_usd) AS grader_cost_usd,
                   SUM(audio_s) AS audio_s,
                   SUM(error IS NULL AND grader_cost_usd IS NULL) AS grader_unpriced,
                   MAX(repeat) + 1 AS repeats
            FROM results WHERE run_id = ?
            GROUP BY suite, prompt, model ORDER BY suite, prompt, model
            """,
            (run_id,),
        ).fetchall()

    def error_kinds(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> list[tuple[str, int, str]]:
        """(error class, count, one message) per kind of error in a group, commonest first."""
        rows = self.db.execute(
            "SELECT COALESCE(error_class, 'error'), COUNT(*), MIN(error) FROM results "
            "WHERE run_id = ? AND suite = ? AND prompt = ? AND model = ? "
            "AND error IS NOT NULL AND role = 'sample' GROUP BY 1 ORDER BY 2 DESC, 1",
            (run_id, suite, prompt, model),
        )
        return [(kind, count, message) for kind, count, message in rows]

    def timing_percentile(
        self, run_id: str, suite: str, prompt: str, model: str, column: str, q: float
    ) -> float | None:
        """Percentile of a timing column (latency_s, ttft_s, tokens_per_s) over successes.

        SQLite sorts; only the needed order statistics come back, so memory stays
        flat however many results the run has.
        """
        if column not in ("latency_s", "ttft_s", "tokens_per_s"):
            raise ValueError(column)
        where = (
            f"FROM results WHERE run_id = ? AND suite = ? AND prompt = ? AND model = ? "
            f"AND error IS NULL AND {column} IS NOT NULL AND role = 'sample'"
        )
        key = (run_id, suite, prompt, model)
        n = self.db.execute(f"SELECT COUNT(*) {where}", key).fetchone()[0]

        def nth(i: int) -> float:
            query = f"SELECT {column} {where} ORDER BY {column} LIMIT 1 OFFSET ?"
            return self.db.execute(query, (*key, i)).fetchone()[0]

        return percentile_of_sorted(nth, n, q)

    def grade_means(self, run_id: str, suite: str, prompt: str, model: str) -> dict[str, float]:
        """Mean score per grade type (recall@k, mrr, ...) over a group's scored samples."""
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        rows = self.db.execute(
            "SELECT grades FROM results WHERE run_id = ? AND suite = ? AND prompt = ? "
            "AND model = ? AND error IS NULL AND role = 'sample'",
            (run_id, suite, prompt, model),
        )
        for (grades,) in rows:
            for grade in json.loads(grades):
                if grade.get("score") is not None:
                    sums[grade["type"]] = sums.get(grade["type"], 0.0) + grade["score"]
                    counts[grade["type"]] = counts.get(grade["type"], 0) + 1
        return {name: sums[name] / counts[name] for name in sums}

    def per_case_passes(
        self, run_id: str, suite: str, prompt: str, model: str
    ) -> Iterator[tuple[int, int]]:
        """(samples, passed) per case, errors left out: the input of pass@k."""
        rows = self.db.execute(
            "SELECT COUNT(*), SUM(passed) FROM results WHERE run_id = ? AND suite = ? "
            "AND prompt = ? AND model = ? AND error IS NULL AND role = 'sample' GROUP BY case_id",
            (run_id, suite, prompt, model),
        )
        for samples, passed in rows:
            yield samples, passed or 0


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["suites"] = json.loads(data["suites"])
    data["config"] = json.loads(data["config"])
    data["complete"] = bool(data["complete"])
    return data
