"""What the SQL backends share: runs, results, verdicts and batch state, in SQL both
SQLite and PostgreSQL run (`?` placeholders; a backend's connection translates them).

A backend subclasses `SqlStore` and brings its connection (`self.db`, with sqlite3's
`execute(sql, params)` shape), `add_result` and its ResponseCache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from evals.store.queries import ANSWERED, ReportQueries, samples_query
from evals.store.rows import BATCH_COLUMNS, BatchState, ResultRecord, ResultRow

RESULT_KEY = "run_id = ? AND suite = ? AND case_id = ? AND prompt = ? AND model = ? AND repeat = ?"
_PAGE = 500  # rows per query of `answered_results` and `records`
RECORD_COLUMNS = tuple(ResultRecord.__dataclass_fields__)


class SqlStore(ReportQueries):
    """The ResultStore methods written once for every SQL backend."""

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
            f"grader_cost_usd = ?, brier = ? WHERE {RESULT_KEY}",
            (_flag(passed), score, grades, error, error_class, grader_cost_usd, brier)
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
            f"SELECT 1 FROM results WHERE {RESULT_KEY} AND error IS NULL",
            (run_id, suite, case_id, prompt, model, repeat),
        ).fetchone()
        return row is not None

    def result_state(
        self, run_id: str, suite: str, case_id: str, prompt: str, model: str, repeat: int
    ) -> str | None:
        """None: no row; 'ok': answered and graded; else its error class ('grader',
        'ungraded', 'server:500', ...; 'error' when it has none)."""
        row = self.db.execute(
            f"SELECT error, error_class FROM results WHERE {RESULT_KEY}",
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

    def _pages(self, columns: str, where: str, run_id: str) -> Iterator[Any]:
        """A run's rows matching `where`, by id, read a page at a time: no query stays open
        while the caller writes, and memory stays flat. `columns` must start with id."""
        last = -1
        while True:
            page = self.db.execute(
                f"SELECT {columns} FROM results WHERE run_id = ? AND {where} AND id > ? "
                "ORDER BY id LIMIT ?",
                (run_id, last, _PAGE),
            ).fetchall()
            yield from page
            if len(page) < _PAGE:
                return
            last = page[-1][0]

    def records(self, run_id: str) -> Iterator[ResultRecord]:
        """Every row of a run (corpus rows too), as stored, in insertion order."""
        for row in self._pages(f"id, {', '.join(RECORD_COLUMNS)}", "TRUE", run_id):
            values = dict(zip(RECORD_COLUMNS, list(row)[1:], strict=True))
            for flag in ("passed", "cache_hit"):
                if values[flag] is not None:
                    values[flag] = bool(values[flag])
            yield ResultRecord(**values)

    def answered_results(self, run_id: str) -> Iterator[ResultRow]:
        """Samples that got an answer, by id, a page at a time (`set_grade` may be called
        on each while reading)."""
        for row in self._pages("*", ANSWERED, run_id):
            yield ResultRow.from_db(row)


def _run_dict(row: Any) -> dict[str, Any]:
    data = dict(row)
    data["suites"] = json.loads(data["suites"])
    data["config"] = json.loads(data["config"])
    data["complete"] = bool(data["complete"])
    return data


def _flag(value: bool | None) -> int | None:
    """Booleans are stored as 0/1 integers on every backend (SQL sums them)."""
    return None if value is None else int(value)
