"""Response bodies in OpenAI's wire format: chat completions, SSE chunks, embeddings, models.

Streamed tool calls follow OpenAI's shape: a role frame with ``content: null``, then per call
one frame with ``index``, ``id``, ``type`` and the function name (empty arguments), then the
arguments in two frames (first half, second half), then the ``tool_calls`` finish frame.

Provider-flavoured usage (``usage_style``, see ``evals.sim.usage``) adds llama-server's
``timings`` and Groq's ``x_groq`` where those servers put them.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from evals.sim.usage import Answer

CHUNK_CHARS = 4  # one SSE content delta per ~token (4 characters)
MALFORMED_BODY = b"<!DOCTYPE html><html><body>upstream sent garbage (simulated)</body></html>"
MALFORMED_EVENT = b'data: {"id": "chatcmpl-sim", "choices": [{"delta": {"content": "tru\n\n'
DONE_EVENT = b"data: [DONE]\n\n"


def completion(
    cid: str,
    created: int,
    model: str,
    ans: Answer,
    usage: dict[str, Any],
    logprobs: list[dict[str, Any]] | None = None,
) -> bytes:
    """A non-streaming chat.completion body (`logprobs`: the tokens', when asked for)."""
    payload = {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message(ans),
                "logprobs": None if logprobs is None else {"content": logprobs, "refusal": None},
                "finish_reason": ans.finish_reason,
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_sim",
    }
    if ans.usage_style == "llama.cpp":
        payload["timings"] = ans.timings()
    elif ans.usage_style == "groq":
        payload["x_groq"] = {"id": groq_id(cid)}
    return json.dumps(payload).encode()


def groq_id(cid: str) -> str:
    """Groq's request id (``x_groq.id``) for a completion id."""
    return "req_" + cid.removeprefix("chatcmpl-")


def message(ans: Answer) -> dict[str, Any]:
    """The assistant message: text content, or ``tool_calls`` with ``content: null``."""
    msg: dict[str, Any] = {
        "role": "assistant",
        "content": None if ans.tool_calls else ans.text,
        "refusal": None,
        "annotations": [],
    }
    if ans.tool_calls:
        msg["tool_calls"] = ans.tool_calls
    return msg


def tool_call_deltas(calls: list[dict[str, Any]]) -> list[str]:
    """Delta JSON per tool call: id, type and name first, then the arguments in two halves."""
    out = []
    for i, call in enumerate(calls):
        fn = call["function"]
        head = {
            "index": i,
            "id": call["id"],
            "type": "function",
            "function": {"name": fn["name"], "arguments": ""},
        }
        out.append(json.dumps({"tool_calls": [head]}))
        args = fn["arguments"]
        half = len(args) // 2
        for piece in (args[:half], args[half:]):
            out.append(json.dumps({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    return out


def stream_events(
    cid: str,
    created: int,
    model: str,
    ans: Answer,
    usage: dict[str, Any],
    include_usage: bool,
    logprobs: list[dict[str, Any]] | None = None,
) -> list[bytes]:
    """SSE frames: role, content deltas, finish, optional usage chunk (choices []), [DONE].

    With `logprobs`, each content delta is one token and carries that token's entry.

    Frames are assembled from a fixed prefix so each costs one small json.dumps. The ``groq``
    style moves the usage into ``x_groq`` of the finish frame (no usage chunk); ``llama.cpp``
    adds ``timings`` to the usage chunk.
    """
    head = json.dumps(
        {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_sim",
        }
    )[:-1]
    tail = ', "usage": null}\n\n' if include_usage else "}\n\n"
    groq = ans.usage_style == "groq"
    first_extra = f', "x_groq": {json.dumps({"id": groq_id(cid)})}' if groq else ""

    def frame(delta: str, finish: str = "null", extra: str = "", lp: str = "null") -> bytes:
        choice = f'{{"index": 0, "delta": {delta}, "logprobs": {lp}, "finish_reason": {finish}}}'
        return f'data: {head}, "choices": [{choice}]{extra}{tail}'.encode()

    text = ans.text
    content = "null" if ans.tool_calls else '""'
    role = f'{{"role": "assistant", "content": {content}, "refusal": null}}'
    events = [frame(role, extra=first_extra)]
    if ans.tool_calls:
        events.extend(frame(delta) for delta in tool_call_deltas(ans.tool_calls))
    elif logprobs is not None:
        events.extend(
            frame(
                '{"content": ' + json.dumps(entry["token"]) + "}",
                lp=json.dumps({"content": [entry], "refusal": None}),
            )
            for entry in logprobs
        )
    else:
        events.extend(
            frame('{"content": ' + json.dumps(text[i : i + CHUNK_CHARS]) + "}")
            for i in range(0, len(text), CHUNK_CHARS)
        )
    if groq:
        x_groq = json.dumps({"id": groq_id(cid), "usage": usage})
        events.append(frame("{}", json.dumps(ans.finish_reason), f', "x_groq": {x_groq}'))
    else:
        events.append(frame("{}", json.dumps(ans.finish_reason)))
    if include_usage and not groq and usage is not None:
        timings = ""
        if ans.usage_style == "llama.cpp":
            timings = f', "timings": {json.dumps(ans.timings())}'
        events.append(
            f'data: {head}, "choices": [], "usage": {json.dumps(usage)}{timings}}}\n\n'.encode()
        )
    events.append(DONE_EVENT)
    return events


def embeddings(model: str, vectors: list[list[float]], tokens: int, fmt: str | None) -> bytes:
    """An embeddings list body; ``fmt='base64'`` packs little-endian float32 like OpenAI."""
    data = []
    for i, vec in enumerate(vectors):
        value: Any = vec
        if fmt == "base64":
            value = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": value})
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json.dumps({"object": "list", "data": data, "model": model, "usage": usage}).encode()


def model_object(name: str) -> dict[str, Any]:
    """One entry of GET /v1/models."""
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "evals-sim"}
