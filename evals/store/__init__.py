"""The store: runs, results and the response cache.

`ResultStore` and `ResponseCache` (evals.store.base) say what a store does;
`Store` is the SQLite one, and `open_store` the one callers should use.
"""

from __future__ import annotations

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
    "open_store",
]


def open_store(path: Path | None = None) -> ResultStore:
    """The store at `path` (default: `$EVALS_HOME/evals.sqlite`, `.evals/` without it)."""
    return Store(path)
