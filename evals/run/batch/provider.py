"""The provider's Files and Batches APIs, through the official SDK, with the engine's
retry policy: a 429, a 5xx, a timeout or a dropped connection while uploading or polling
is waited out and tried again, never a lost run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evals.endpoints.client import Endpoint
from evals.engine.retry import backoff_s, classify

T = TypeVar("T")
ATTEMPTS = 8
TRANSFER_TIMEOUT_S = 900.0  # a 200 MB file takes a while on a slow uplink
ENDED = frozenset({"completed", "expired", "cancelled", "failed"})
"""Batch statuses after which nothing more will be answered."""


class BatchAPIError(Exception):
    """The provider refused a batch call for good (not a transient fault)."""


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """What the provider says of a batch at one look."""

    id: str
    status: str
    total: int
    completed: int
    failed: int
    output_file_id: str | None
    error_file_id: str | None
    errors: str | None  # why a batch failed validation, as text

    @property
    def ended(self) -> bool:
        return self.status in ENDED


def _status(batch: Any) -> BatchStatus:
    counts = getattr(batch, "request_counts", None)
    errors = getattr(batch, "errors", None)
    data = getattr(errors, "data", None) or []
    text = "; ".join(
        f"line {getattr(e, 'line', None) or '?'}: {getattr(e, 'message', '')}" for e in data[:5]
    )
    return BatchStatus(
        id=batch.id,
        status=batch.status,
        total=getattr(counts, "total", 0) or 0,
        completed=getattr(counts, "completed", 0) or 0,
        failed=getattr(counts, "failed", 0) or 0,
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        errors=text or None,
    )


class BatchClient:
    """Files and Batches calls for one endpoint."""

    def __init__(
        self, endpoint: Endpoint, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ):
        self.endpoint = endpoint
        self.client = endpoint.client
        self._sleep = sleep

    async def _retried(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except Exception as exc:
                failure = classify(exc)
                if not failure.retryable or attempt == ATTEMPTS:
                    hint = ""
                    if failure.status in (404, 405):
                        hint = (
                            " (this endpoint seems to have no Batch API: run it online, or "
                            "write files with --mode batch-file for `vllm run-batch`)"
                        )
                    raise BatchAPIError(
                        f"{what} on endpoint '{self.endpoint.name}' failed: {failure.message}{hint}"
                    ) from None
                await self._sleep(backoff_s(attempt, failure))
        raise AssertionError("unreachable")

    async def upload(self, path: Path) -> str:
        """Upload one batch file; its file id."""

        async def call() -> Any:
            with path.open("rb") as handle:
                return await self.client.files.create(
                    file=(path.name, handle), purpose="batch", timeout=TRANSFER_TIMEOUT_S
                )

        return (await self._retried(f"uploading {path.name}", call)).id

    async def create(self, file_id: str, url: str, metadata: dict[str, str]) -> BatchStatus:
        async def call() -> Any:
            return await self.client.batches.create(
                input_file_id=file_id,
                endpoint=url,  # type: ignore[arg-type]
                completion_window="24h",
                metadata=metadata,
            )

        return _status(await self._retried("creating a batch", call))

    async def find(self, metadata: dict[str, str]) -> BatchStatus | None:
        """A batch created earlier with this metadata (a create whose answer was lost)."""

        async def call() -> Any:
            return await self.client.batches.list(limit=100)

        page = await self._retried("listing batches", call)
        for batch in page.data:
            found = getattr(batch, "metadata", None) or {}
            if all(found.get(k) == v for k, v in metadata.items()):
                return _status(batch)
        return None

    async def retrieve(self, batch_id: str) -> BatchStatus:
        async def call() -> Any:
            return await self.client.batches.retrieve(batch_id)

        return _status(await self._retried(f"looking at batch {batch_id}", call))

    async def cancel(self, batch_id: str) -> BatchStatus:
        async def call() -> Any:
            return await self.client.batches.cancel(batch_id)

        return _status(await self._retried(f"cancelling batch {batch_id}", call))

    async def download(self, file_id: str, path: Path) -> Path:
        """Save a file's content to `path` (streamed to disk, not held in memory)."""

        async def call() -> Path:
            part = path.with_suffix(path.suffix + ".part")
            path.parent.mkdir(parents=True, exist_ok=True)
            content = self.client.files.with_streaming_response.content
            async with content(file_id, timeout=TRANSFER_TIMEOUT_S) as response:
                with part.open("wb") as handle:
                    async for block in response.iter_bytes():
                        handle.write(block)
            part.replace(path)
            return path

        return await self._retried(f"downloading file {file_id}", call)
