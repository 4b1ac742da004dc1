"""Read a streamed chat completion into one result, timing the first token.

A stream that ends without a finish reason was cut: that is a fault to retry,
not an answer to grade.

Usage comes from the last chunk that carries it, wherever the provider puts it:
top-level `usage` (OpenAI, with `include_usage`; its chunk has no choices), Groq's
`x_groq.usage` (on the chunk with the finish reason), llama-server's `timings`
(read for `llama.cpp` endpoints only). The SDK's chunk models keep such unknown
fields in `model_extra`, as plain dicts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from evals.endpoints.usage import usage_of
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


async def read_stream(stream: Any, started: float, kind: str | None = None) -> StreamResult:
    """Consume an AsyncStream of ChatCompletionChunk (usage arrives in the last chunk).

    `kind` is the endpoint's `kind:` from the runner profile (see `usage_of`).
    """
    pieces: list[str] = []
    calls: dict[int, _ToolCallParts] = {}
    finish_reason = None
    usage_fields: dict[str, Any] = {}
    ttft = None
    async for chunk in stream:
        if chunk.usage is not None:
            usage_fields["usage"] = chunk.usage.model_dump()
        extra = chunk.model_extra
        if extra:  # Groq's x_groq also comes in the first chunk, with only its id
            groq = extra.get("x_groq")
            if isinstance(groq, dict) and groq.get("usage") is not None:
                usage_fields["x_groq"] = groq
            if extra.get("timings") is not None:
                usage_fields["timings"] = extra["timings"]
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
        usage=usage_of(usage_fields, kind),
        ttft_s=ttft,
    )
