"""A run shared by many workers, in the PostgreSQL store: its chunks, their leases, the
fleet's budget and who is alive.

A chunk is a range of one suite's cases for one model. A worker claims the first chunk
that is open or whose lease ran out (`FOR UPDATE SKIP LOCKED`: two workers never claim
the same one), renews its lease while it works, and marks it done. A worker that dies
stops renewing; its chunk is claimed again after the lease, and the samples it stored
are skipped, so nothing stored is paid for twice. `--max-cost` is one budget row that
every worker reserves from and settles into, in one statement each, so the cap holds
across the fleet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

FLEET_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS fleet_chunks (
        run_id TEXT NOT NULL,
        chunk_no INTEGER NOT NULL,
        model TEXT NOT NULL,
        suite TEXT NOT NULL,
        first_case INTEGER NOT NULL,
        end_case INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'open',
        worker TEXT,
        lease_until DOUBLE PRECISION,
        claims INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, chunk_no))""",
    """CREATE TABLE IF NOT EXISTS fleet_budget (
        run_id TEXT PRIMARY KEY,
        cap_usd DOUBLE PRECISION NOT NULL,
        spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        reserved_usd DOUBLE PRECISION NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS fleet_workers (
        run_id TEXT NOT NULL,
        worker TEXT NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (run_id, worker))""",
]


@dataclass(frozen=True, slots=True)
class Chunk:
    run_id: str
    chunk_no: int
    model: str
    suite: str
    first_case: int
    end_case: int


class Fleet:
    """The fleet tables of one run, through a PostgreSQL store's connection."""

    def __init__(self, store: Any, run_id: str, worker: str):
        self.store = store
        self.run_id = run_id
        self.worker = worker

    def _execute(self, sql: str, params: tuple = ()) -> Any:
        return self.store.db.execute(sql, params)

    def add_chunks(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            self._execute(
                "INSERT INTO fleet_chunks (run_id, chunk_no, model, suite, first_case, end_case) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (chunk.run_id, chunk.chunk_no, chunk.model, chunk.suite, chunk.first_case,
                 chunk.end_case),
            )  # fmt: skip

    def claim(self, lease_s: float) -> Chunk | None:
        """The next open chunk, or one whose worker's lease ran out; None when none is."""
        now = time.time()
        row = self._execute(
            "UPDATE fleet_chunks SET state = 'claimed', worker = ?, lease_until = ?, "
            "claims = claims + 1 WHERE (run_id, chunk_no) = (SELECT run_id, chunk_no "
            "FROM fleet_chunks WHERE run_id = ? AND (state = 'open' OR (state = 'claimed' "
            "AND lease_until < ?)) ORDER BY chunk_no LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "RETURNING run_id, chunk_no, model, suite, first_case, end_case",
            (self.worker, now + lease_s, self.run_id, now),
        ).fetchone()
        return None if row is None else Chunk(*row)

    def renew(self, chunk: Chunk, lease_s: float) -> bool:
        """Extend this worker's lease; False when the chunk is no longer its own."""
        self.alive()
        updated = self._execute(
            "UPDATE fleet_chunks SET lease_until = ? WHERE run_id = ? AND chunk_no = ? "
            "AND worker = ? AND state = 'claimed'",
            (time.time() + lease_s, self.run_id, chunk.chunk_no, self.worker),
        )
        return updated.rowcount == 1

    def done(self, chunk: Chunk) -> None:
        self._execute(
            "UPDATE fleet_chunks SET state = 'done', lease_until = NULL WHERE run_id = ? "
            "AND chunk_no = ? AND worker = ?",
            (self.run_id, chunk.chunk_no, self.worker),
        )

    def left(self) -> int:
        """Chunks not done yet (open, or claimed by someone)."""
        row = self._execute(
            "SELECT COUNT(*) FROM fleet_chunks WHERE run_id = ? AND state <> 'done'",
            (self.run_id,),
        ).fetchone()
        return int(row[0])

    def total(self) -> int:
        row = self._execute(
            "SELECT COUNT(*) FROM fleet_chunks WHERE run_id = ?", (self.run_id,)
        ).fetchone()
        return int(row[0])

    def alive(self) -> None:
        self._execute(
            "INSERT INTO fleet_workers (run_id, worker, seen_at) VALUES (?, ?, ?) "
            "ON CONFLICT (run_id, worker) DO UPDATE SET seen_at = EXCLUDED.seen_at",
            (self.run_id, self.worker, time.time()),
        )

    def live_workers(self, within_s: float) -> int:
        """Workers seen within `within_s` (this one included): the share of rate limits."""
        self.alive()
        row = self._execute(
            "SELECT COUNT(*) FROM fleet_workers WHERE run_id = ? AND seen_at >= ?",
            (self.run_id, time.time() - within_s),
        ).fetchone()
        return max(int(row[0]), 1)


class FleetBudget:
    """`--max-cost` for a whole fleet: the Budget interface, kept in one store row."""

    def __init__(self, store: Any, run_id: str, cap_usd: float, spent_usd: float):
        self.store = store
        self.run_id = run_id
        self.cap_usd = cap_usd
        store.db.execute(
            "INSERT INTO fleet_budget (run_id, cap_usd, spent_usd) VALUES (?, ?, ?) "
            "ON CONFLICT (run_id) DO UPDATE SET cap_usd = EXCLUDED.cap_usd",
            (run_id, cap_usd, spent_usd),
        )

    def reserve(self, amount_usd: float) -> bool:
        """Hold `amount_usd` if the fleet's spent + held + it stays within the cap."""
        row = self.store.db.execute(
            "UPDATE fleet_budget SET reserved_usd = reserved_usd + ? WHERE run_id = ? "
            "AND spent_usd + reserved_usd + ? <= cap_usd RETURNING 1",
            (amount_usd, self.run_id, amount_usd),
        ).fetchone()
        return row is not None

    def settle(self, reserved_usd: float, spent_usd: float | None) -> None:
        self.store.db.execute(
            "UPDATE fleet_budget SET reserved_usd = GREATEST(reserved_usd - ?, 0), "
            "spent_usd = spent_usd + ? WHERE run_id = ?",
            (reserved_usd, spent_usd or 0.0, self.run_id),
        )

    @property
    def spent_usd(self) -> float:
        row = self.store.db.execute(
            "SELECT spent_usd FROM fleet_budget WHERE run_id = ?", (self.run_id,)
        ).fetchone()
        return float(row[0]) if row else 0.0
