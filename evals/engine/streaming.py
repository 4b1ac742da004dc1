"""Read a streamed chat completion into one result, timing the first token.

A stream that ends without a finish reason was cut: that is a fault to retry,
not an answer to grade.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from evals.endpoints.usage import normalize_usage
from evals.records import Usage


class StreamCut(Exception):
    """The stream ended before the model finished (no finish_reason)."""


@dataclass
class StreamResult:
    output: str | None
    tool_calls: list[dict[str, Any]] | None
    finish_reason: str
    usage: Usage
    ttft_s: float | None


@dataclass
class _ToolCallParts:
    id: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": "".join(self.arguments)},
        }


def _add_tool_deltas(calls: dict[int, _ToolCallParts], deltas: Any) -> None:
    for delta in deltas:
        parts = calls.setdefault(delta.index, _ToolCallParts())
        parts.id = delta.id or parts.id
        if delta.function is not None:
            parts.name += delta.function.name or ""
            parts.arguments.append(delta.function.arguments or "")


async def read_stream(stream: Any, started: float) -> StreamResult:
    """Consume an AsyncStream of ChatCompletionChunk (usage arrives in the last chunk)."""
    pieces: list[str] = []
    calls: dict[int, _ToolCallParts] = {}
    finish_reason = None
    usage = None
    ttft = None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        if delta is not None and (delta.content or delta.tool_calls):
            if ttft is None:
                ttft = time.perf_counter() - started
            if delta.content:
                pieces.append(delta.content)
            if delta.tool_calls:
                _add_tool_deltas(calls, delta.tool_calls)
        if choice.finish_reason:
            finish_reason = choice.finish_reason
    if finish_reason is None:
        raise StreamCut("stream ended before the model finished (no finish_reason)")
    return StreamResult(
        output="".join(pieces) if pieces or not calls else None,
        tool_calls=[calls[i].as_dict() for i in sorted(calls)] or None,
        finish_reason=finish_reason,
        usage=normalize_usage(usage.model_dump() if usage is not None else None),
        ttft_s=ttft,
    )
