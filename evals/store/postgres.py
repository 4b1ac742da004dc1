"""PostgreSQL store (psycopg 3): one database that every machine and CI job writes to.

The schema is SQLite's (evals.store.sqlite.SCHEMA, with PostgreSQL's types), so the two
backends hold the same rows and run the same queries (evals.store.sql, queries). Results
are written in batches: `add_result` queues a row (and its cache entry) and the queue is
committed, in one transaction, every FLUSH_ROWS rows or FLUSH_S seconds, and before any
read or other write, so the store never holds back the engine on a remote server. A
crash loses at most that queue; a resume sends those requests again.

Credentials come from where libpq looks (PGPASSWORD, ~/.pgpass, a service file) or from
the URL; the URL's password is never shown: `path` is the URL without it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from evals.errors import InputError
from evals.redact import register_secret
from evals.store.fleet import FLEET_SCHEMA
from evals.store.rows import ResultRecord
from evals.store.sql import SqlStore

FLUSH_ROWS = 200
FLUSH_S = 0.05
SCHEMA_VERSION = 1


def _schema() -> list[str]:
    from evals.store.sqlite import SCHEMA

    text = SCHEMA.replace("id INTEGER PRIMARY KEY", "id BIGSERIAL PRIMARY KEY")
    text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text)
    text = re.sub(r"--[^\n]*", "", text)  # comments (some hold a `;`)
    text = text.replace(" REFERENCES runs(run_id)", "")  # SQLite does not enforce it either
    return [statement.strip() for statement in text.split(";") if statement.strip()]


def shown_url(url: str) -> str:
    """The URL as messages may show it: no password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


class _Row:
    """A row readable by position and by column name (as sqlite3.Row)."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]):
        self._index = index
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor: Any) -> Any:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: _Row(names, values)


def _translate(sql: str) -> str:
    """sqlite3's `?` placeholders as psycopg's `%s` (and a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Connection:
    """A psycopg connection behind the `execute(sql, params)` the shared SQL uses."""

    def __init__(self, conn: Any, before: Any):
        self.conn = conn
        self._before = before  # the store's flush: queued rows first, then any statement

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._before()
        cursor = self.conn.cursor(row_factory=_rows)
        return cursor.execute(_translate(sql), tuple(params))

    def tuples(self, sql: str, params: Sequence[Any]) -> Any:
        self._before()
        return self.conn.cursor().execute(_translate(sql), tuple(params))


class PostgresResponseCache:
    def __init__(self, store: PostgresStore):
        self.store = store

    def get(self, request_hash: str) -> str | None:
        queued = self.store._queued_cache.get(request_hash)
        if queued is not None:
            return queued
        row = self.store.db.execute(
            "SELECT response FROM response_cache WHERE request_hash = ?", (request_hash,)
        ).fetchone()
        return row[0] if row else None

    def put(self, request_hash: str, entry: str) -> None:
        self.store._queue_cache(request_hash, entry, None)


_RESULT_COLUMNS = tuple(ResultRecord.__dataclass_fields__)
_KEY = ("run_id", "suite", "case_id", "prompt", "model", "repeat")
_UPSERT_RESULT = (
    f"INSERT INTO results ({', '.join(_RESULT_COLUMNS)}) "
    f"VALUES ({', '.join('%s' for _ in _RESULT_COLUMNS)}) "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    # a replaced result moves to the end, as SQLite's INSERT OR REPLACE moves it
    + ", ".join(
        ["id = nextval(pg_get_serial_sequence('results', 'id'))"]
        + [f"{name} = EXCLUDED.{name}" for name in _RESULT_COLUMNS if name not in _KEY]
    )
)
_UPSERT_CACHE = (
    "INSERT INTO response_cache (request_hash, response, created_at) "
    "VALUES (%s, %s, COALESCE(%s, to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD HH24:MI:SS'))) "
    "ON CONFLICT (request_hash) DO UPDATE SET response = EXCLUDED.response, "
    "created_at = EXCLUDED.created_at"
)
_NOT_NULL = (*_KEY, "request_hash", "request", "vars", "expect", "attempts", "grades")
_BOOLEANS = tuple(i for i, name in enumerate(_RESULT_COLUMNS) if name in ("passed", "cache_hit"))


def _values(record: ResultRecord) -> tuple:
    values = [getattr(record, name) for name in _RESULT_COLUMNS]
    for i in _BOOLEANS:
        values[i] = None if values[i] is None else int(values[i])
    return tuple(values)


class PostgresStore(SqlStore):
    """The store in a PostgreSQL database; implements evals.store.base.ResultStore."""

    metric_sql = (
        "SELECT g->>'metric' AS metric, AVG((g->>'score')::float8), COUNT(*) "
        "FROM results, jsonb_array_elements(results.grades::jsonb) AS g "
        "WHERE run_id = ? AND suite = ? AND prompt = ? AND model = ? "
        "AND error IS NULL AND role = 'sample' "
        "AND results.grades LIKE '%\"metric\"%' AND g->>'metric' IS NOT NULL "
        "GROUP BY 1 ORDER BY 1"
    )

    def __init__(self, url: str):
        import psycopg

        parts = urlsplit(url)
        if parts.password:
            register_secret(parts.password)
        self.path = shown_url(url)
        self._queued: list[tuple] = []
        self._queued_cache: dict[str, str] = {}
        self._cache_rows: list[tuple] = []
        self._first_queued = 0.0
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise InputError(
                f"cannot open the store at {self.path}: {_reason(exc)}; check the URL, that "
                "the server runs, and PGPASSWORD or ~/.pgpass"
            ) from None
        self.db = _Connection(conn, self.flush)
        self.cache = PostgresResponseCache(self)
        self._migrate(conn)

    def _migrate(self, conn: Any) -> None:
        from evals.store.sqlite import ADDED_COLUMNS

        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(815241)")  # one migrator at a time
            conn.execute("CREATE TABLE IF NOT EXISTS evals_schema (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM evals_schema").fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"the store at {self.path} has schema version {version}, newer than this "
                    f"evals knows ({SCHEMA_VERSION}): upgrade evals"
                )
            for statement in [*_schema(), *FLEET_SCHEMA]:
                conn.execute(statement)
            for table, columns in ADDED_COLUMNS.items():
                for name, decl in columns.items():
                    decl = re.sub(r"\bREAL\b", "DOUBLE PRECISION", decl)
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {decl}")
            if row is None:
                conn.execute("INSERT INTO evals_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:
                conn.execute("UPDATE evals_schema SET version = %s", (SCHEMA_VERSION,))

    # writes: queued, committed in batches

    def add_result(self, record: ResultRecord, cache_entry: str | None = None) -> None:
        """Queue the result (and its cache entry): committed together with the queue.

        A record the table would refuse is refused here, at once, as SQLite refuses it."""
        missing = [name for name in _NOT_NULL if getattr(record, name) is None]
        if missing:
            raise ValueError(f"result without {', '.join(missing)}: not stored")
        if not self._queued and not self._cache_rows:
            self._first_queued = time.monotonic()
        self._queued.append(_values(record))
        if cache_entry is not None:
            self._queue_cache(record.request_hash, cache_entry, record.created_at)
        if len(self._queued) >= FLUSH_ROWS or time.monotonic() - self._first_queued >= FLUSH_S:
            self.flush()

    def _queue_cache(self, request_hash: str, entry: str, created_at: str | None) -> None:
        if not self._queued and not self._cache_rows:
            self._first_queued = time.monotonic()
        self._queued_cache[request_hash] = entry
        self._cache_rows.append((request_hash, entry, created_at))

    def flush(self) -> None:
        """Commit the queued results and cache entries in one transaction."""
        if not self._queued and not self._cache_rows:
            return
        results, cache = self._queued, self._cache_rows
        self._queued, self._cache_rows = [], []
        self._queued_cache.clear()
        conn = self.db.conn
        try:
            with conn.transaction(), conn.cursor() as cursor:
                if results:
                    cursor.executemany(_UPSERT_RESULT, results)
                if cache:
                    cursor.executemany(_UPSERT_CACHE, cache)
        except Exception:  # one bad row must not cost the others: store them one by one
            self._one_by_one(results, cache)

    def _one_by_one(self, results: list[tuple], cache: list[tuple]) -> None:
        conn = self.db.conn
        failure = None
        for statement, rows in ((_UPSERT_RESULT, results), (_UPSERT_CACHE, cache)):
            for row in rows:
                try:
                    with conn.transaction():
                        conn.execute(statement, row)
                except Exception as exc:
                    failure = failure or exc
        if failure is not None:
            raise failure

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.db.conn.close()

    def _tuples(self, sql: str, params: Sequence[Any]) -> Any:
        return self.db.tuples(sql, params)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    from evals.redact import redact

    return redact(text)
