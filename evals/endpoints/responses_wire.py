"""The Responses API wire format (`/v1/responses`), plain and streamed, read into a ChatAnswer.

The answer has the chat path's shape, so the engine, the cache and the graders
see no difference:

- output text: the `output_text` parts of `message` output items, concatenated;
- tool calls: each `function_call` item as {id: call_id, type: function,
  function: {name, arguments}};
- finish reason: `tool_calls` when there are calls, `length` when the response is
  incomplete for `max_output_tokens`, `content_filter` likewise, else `stop`;
- logprobs: the `logprobs` of the `output_text` parts (sent when the request's
  `include` asks for `message.output_text.logprobs`);
- usage: `input_tokens`, `input_tokens_details.cached_tokens`, `output_tokens`,
  `output_tokens_details.reasoning_tokens` (evals.endpoints.usage reads both naming
  schemes).

A stream that ends without `response.completed` (or `response.incomplete`) was
cut (StreamCut), and `response.failed` is a server fault (ValueError): both retried.
"""

from __future__ import annotations

import json
import time
from typing import Any

from evals.endpoints.logprobs import TokenLogprob, read_tokens
from evals.endpoints.usage import normalize_usage
from evals.endpoints.wire import ChatAnswer, StreamCut

_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _tool_call(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item.get("call_id") or item.get("id"),
        "type": "function",
        "function": {"name": item.get("name") or "", "arguments": item.get("arguments") or ""},
    }


def answer_of(data: dict[str, Any]) -> ChatAnswer:
    """A ChatAnswer from a Responses `response` object (a dict)."""
    try:
        output = data["output"]
        pieces: list[str] = []
        calls: list[dict[str, Any]] = []
        tokens: list[TokenLogprob] = []
        for item in output:
            kind = item.get("type")
            if kind == "message":
                for part in item.get("content") or []:
                    if part.get("type") == "output_text":
                        text = part.get("text")
                        if not isinstance(text, str):
                            raise TypeError("output_text is not a string")
                        pieces.append(text)
                        read_tokens(part.get("logprobs"), tokens)
            elif kind == "function_call":
                calls.append(_tool_call(item))
        status = data.get("status")
        if status == "failed":
            error = data.get("error") or {}
            raise ValueError(f"response failed: {error.get('message', error)}")
        if status == "incomplete":
            reason = (data.get("incomplete_details") or {}).get("reason")
            finish = _INCOMPLETE.get(reason, "length")
        else:
            finish = "tool_calls" if calls else "stop"
        return ChatAnswer(
            output="".join(pieces) if pieces or not calls else None,
            tool_calls=calls or None,
            finish_reason=finish,
            usage=normalize_usage(data.get("usage")),
            logprobs=tuple(tokens) or None,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"unexpected Responses shape: {exc!r}") from None


def parse_responses(content: bytes) -> ChatAnswer:
    """Read a plain (non-streamed) Responses body."""
    data = json.loads(content)
    if not isinstance(data, dict):
        raise ValueError("unexpected Responses shape: not an object")
    return answer_of(data)


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True) if hasattr(value, "model_dump") else value


async def read_responses_stream(stream: Any, started: float) -> ChatAnswer:
    """Consume an AsyncStream of Responses events; the final `response` is the authority.

    TTFT is the time to the first output: a text delta or a function call item.
    """
    ttft = None
    final: dict[str, Any] | None = None
    async for event in stream:
        kind = getattr(event, "type", None)
        if kind == "response.output_text.delta" or (
            kind == "response.output_item.added"
            and getattr(event.item, "type", None) == "function_call"
        ):
            if ttft is None:
                ttft = time.perf_counter() - started
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            final = _dump(event.response)
        elif kind == "error":
            raise ValueError(f"stream error: {getattr(event, 'message', event)}")
    if final is None:
        raise StreamCut("stream ended before the response completed (no response.completed)")
    answer = answer_of(final)
    answer.ttft_s = ttft
    return answer
