"""The wire formats: chat completions (plain and streamed), embeddings, transcriptions.

Parsing lives here and nowhere else, so the engine only moves bytes and retries.
A body of the wrong shape raises ValueError (a malformed response, retried); a
stream that ends without a finish reason was cut (StreamCut): a fault to retry,
not an answer to grade.

Usage comes from the last chunk that carries it, wherever the provider puts it:
top-level `usage` (OpenAI, with `include_usage`; its chunk has no choices), Groq's
`x_groq.usage` (on the chunk with the finish reason), llama-server's `timings`
(read for `llama.cpp` endpoints only). The SDK's chunk models keep such unknown
fields in `model_extra`, as plain dicts.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from evals.endpoints.logprobs import Logprobs, TokenLogprob, chat_logprobs, read_tokens
from evals.endpoints.usage import normalize_usage, usage_of
from evals.records import Usage


class StreamCut(Exception):
    """The stream ended before the model finished (no finish_reason)."""


@dataclass(slots=True)
class ChatAnswer:
    """One chat completion's answer, plain or streamed."""

    output: str | None
    tool_calls: list[dict[str, Any]] | None
    finish_reason: str | None
    usage: Usage
    ttft_s: float | None = None  # streamed only
    logprobs: Logprobs | None = None  # when asked for (`logprobs: true`) and sent


def parse_chat(content: bytes, kind: str | None = None) -> ChatAnswer:
    """Read a chat completion body; `kind` is the endpoint's (see `usage_of`)."""
    return chat_answer(json.loads(content), kind)


def chat_answer(data: Any, kind: str | None = None) -> ChatAnswer:
    """A chat completion already decoded (a batch output line's body)."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
        output = message.get("content")
        if output is not None and not isinstance(output, str):
            raise TypeError("content is not a string")
        return ChatAnswer(
            output,
            message.get("tool_calls") or None,
            choice.get("finish_reason"),
            usage_of(data, kind),
            logprobs=chat_logprobs(choice.get("logprobs")),
        )
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"unexpected response shape: {exc!r}") from None


def _vector(item: dict[str, Any]) -> list[float]:
    value = item["embedding"]
    if isinstance(value, str):  # encoding_format=base64: little-endian float32
        raw = base64.b64decode(value)
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    return [float(x) for x in value]


def parse_embeddings(content: bytes, count: int) -> tuple[list[list[float]], Usage]:
    """Vectors in input order (the server may reorder `data`) and the usage."""
    data = json.loads(content)
    try:
        items = sorted(data["data"], key=lambda item: item["index"])
        vectors = [_vector(item) for item in items]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unexpected embeddings response: {exc!r}") from None
    if len(vectors) != count:
        raise ValueError(f"asked for {count} embeddings, got {len(vectors)}")
    return vectors, normalize_usage(data.get("usage"))


def parse_transcription(content: bytes, content_type: str) -> str:
    """The transcript: a JSON body's `text`, or a plain-text body."""
    if "json" not in content_type:
        return content.decode("utf-8", errors="replace").strip()
    data = json.loads(content)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError("transcription response has no text")
    return data["text"]


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


async def read_stream(stream: Any, started: float, kind: str | None = None) -> ChatAnswer:
    """Consume an AsyncStream of ChatCompletionChunk (usage arrives in the last chunk).

    `kind` is the endpoint's `kind:` from the runner profile (see `usage_of`).
    """
    pieces: list[str] = []
    calls: dict[int, _ToolCallParts] = {}
    finish_reason = None
    usage_fields: dict[str, Any] = {}
    ttft = None
    tokens: list[TokenLogprob] = []
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
        if choice.logprobs is not None:
            read_tokens(choice.logprobs.content, tokens)
        if choice.finish_reason:
            finish_reason = choice.finish_reason
    if finish_reason is None:
        raise StreamCut("stream ended before the model finished (no finish_reason)")
    return ChatAnswer(
        output="".join(pieces) if pieces or not calls else None,
        tool_calls=[calls[i].as_dict() for i in sorted(calls)] or None,
        finish_reason=finish_reason,
        usage=usage_of(usage_fields, kind),
        ttft_s=ttft,
        logprobs=tuple(tokens) or None,
    )
