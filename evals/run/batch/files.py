"""Batch input files written as the plan streams: one open file per (endpoint, model,
API path), a new one whenever the next line would pass the endpoint's request or byte
limit. Lines go straight to disk, so memory stays flat however many requests there are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True, slots=True)
class Group:
    """What one batch file holds: requests of one model to one API path of one endpoint."""

    endpoint: str
    model: str
    url: str


@dataclass(slots=True)
class Chunk:
    """A batch file finished (closed) on disk."""

    group: Group
    path: Path
    requests: int
    bytes: int
    reserved_usd: float


@dataclass(slots=True)
class _Open:
    path: Path
    handle: BinaryIO
    requests: int = 0
    bytes: int = 0
    reserved_usd: float = 0.0


@dataclass
class Limits:
    max_requests: int
    max_bytes: int


class ChunkWriter:
    """Writes each group's lines to numbered files; `on_close` hears of each finished one.

    `name` gives a new file's path from its group and a number counting the files this
    writer opened.
    """

    def __init__(
        self,
        limits: Callable[[Group], Limits],
        name: Callable[[Group, int], Path],
        on_close: Callable[[Chunk], None],
        first_no: int = 1,
    ):
        self._limits = limits
        self._name = name
        self._on_close = on_close
        self.next_no = first_no
        self._open: dict[Group, _Open] = {}
        self.written = 0
        self.chunks: list[Chunk] = []

    def fits(self, group: Group, size: int) -> bool:
        """A line this big fits in a file of its own."""
        return size <= self._limits(group).max_bytes

    def add(self, group: Group, line: bytes, reserved_usd: float = 0.0) -> None:
        limits = self._limits(group)
        current = self._open.get(group)
        if current is not None and (
            current.requests + 1 > limits.max_requests
            or current.bytes + len(line) > limits.max_bytes
        ):
            self._close(group)
            current = None
        if current is None:
            path = self._name(group, self.next_no)
            self.next_no += 1
            path.parent.mkdir(parents=True, exist_ok=True)
            current = self._open[group] = _Open(path, path.open("wb"))
        current.handle.write(line)
        current.requests += 1
        current.bytes += len(line)
        current.reserved_usd += reserved_usd
        self.written += 1

    def _close(self, group: Group) -> None:
        current = self._open.pop(group)
        current.handle.close()
        chunk = Chunk(group, current.path, current.requests, current.bytes, current.reserved_usd)
        self.chunks.append(chunk)
        self._on_close(chunk)

    def close(self) -> None:
        """Finish every open file (in the order they were opened)."""
        for group in list(self._open):
            self._close(group)

    def discard(self) -> None:
        """Drop the files still open (a build that stopped): nothing refers to them."""
        for current in self._open.values():
            current.handle.close()
            current.path.unlink(missing_ok=True)
        self._open.clear()


def slug(text: str) -> str:
    """A file-name-safe form of a model id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:80] or "model"
