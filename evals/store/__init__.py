"""The store: runs, results and the response cache.

`ResultStore` and `ResponseCache` (evals.store.base) say what a store does;
`Store` is the SQLite one, and `open_store` the one callers should use.
"""

from __future__ import annotations

import os
from pathlib import Path

from evals.store.base import ResponseCache, ResultStore
from evals.store.rows import (
    BatchState,
    GroupTotals,
    PairedCounts,
    ResultRecord,
    ResultRow,
    SampleOutcome,
)
from evals.store.sqlite import Store, default_home

__all__ = [
    "BatchState",
    "GroupTotals",
    "PairedCounts",
    "ResponseCache",
    "ResultRecord",
    "ResultRow",
    "ResultStore",
    "SampleOutcome",
    "Store",
    "default_home",
    "is_postgres_url",
    "open_store",
]


def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_store(path: Path | str | None = None) -> ResultStore:
    """The store at `path`: a SQLite file, or a `postgresql://` URL for a shared
    PostgreSQL store. Without one: `$EVALS_STORE` if set, else
    `$EVALS_HOME/evals.sqlite` (`.evals/` without it)."""
    location = path if path is not None else os.environ.get("EVALS_STORE") or None
    if is_postgres_url(location):
        from evals.store.postgres import PostgresStore

        return PostgresStore(location)
    return Store(None if location is None else Path(location))
