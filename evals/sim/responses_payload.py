"""Simulated Responses API bodies: the `response` object and its SSE frames (`stream:
true`), in the order OpenAI sends them (evals.sim.responses describes both)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from evals.sim import payloads
from evals.sim.usage import Answer


def _items(rid: str, ans: Answer, logprobs: list | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if ans.reasoning_tokens:
        items.append({"type": "reasoning", "id": f"rs_{rid}", "summary": []})
    if not ans.tool_calls:
        status = "incomplete" if ans.finish_reason == "length" else "completed"
        part = {
            "type": "output_text",
            "text": ans.text,
            "annotations": [],
            "logprobs": logprobs or [],
        }
        items.append(
            {
                "type": "message",
                "id": f"msg_{rid}",
                "status": status,
                "role": "assistant",
                "content": [part],
            }
        )
    for i, call in enumerate(ans.tool_calls or []):
        fn = call["function"]
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{rid}_{i}",
                "call_id": call["id"],
                "name": fn["name"],
                "arguments": fn["arguments"],
                "status": "completed",
            }
        )
    return items


def response_object(
    rid: str,
    created: int,
    body: dict[str, Any],
    ans: Answer | None,
    usage: Any,
    logprobs: list | None = None,
) -> dict[str, Any]:
    """A ``response`` object; ``ans=None`` gives the in-progress one of ``response.created``."""
    done = ans is not None
    incomplete = done and ans.finish_reason == "length"
    return {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": created,
        "status": ("incomplete" if incomplete else "completed") if done else "in_progress",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model"),
        "output": _items(rid, ans, logprobs) if ans is not None else [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "usage": usage if done else None,
    }


def stream_frames(
    rid: str,
    created: int,
    body: dict[str, Any],
    ans: Answer,
    usage: Any,
    logprobs: list | None = None,
) -> tuple[list[bytes], int]:
    """SSE frames and how many of them (after the first) are paced output deltas.

    The first frame holds everything up to the first output delta, so pacing (and the
    TTFT a client measures) starts at the content.
    """
    seq = itertools.count()

    def event(kind: str, **fields: Any) -> bytes:
        data = json.dumps({"type": kind, "sequence_number": next(seq), **fields})
        return f"event: {kind}\ndata: {data}\n\n".encode()

    final = response_object(rid, created, body, ans, usage, logprobs)
    head = [
        event("response.created", response=response_object(rid, created, body, None, None)),
        event("response.in_progress", response=response_object(rid, created, body, None, None)),
    ]
    paced: list[bytes] = []
    tail: list[bytes] = []
    paced_yet = False
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            empty = {**item, "status": "in_progress", "content": []}
            text = item["content"][0]["text"]
            blank = {"type": "output_text", "text": "", "annotations": []}
            ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
            opening = [
                event("response.output_item.added", output_index=index, item=empty),
                event("response.content_part.added", part=blank, **ids),
            ]
            deltas = [
                event(
                    "response.output_text.delta",
                    delta=text[i : i + payloads.CHUNK_CHARS],
                    logprobs=[],
                    **ids,
                )  # fmt: skip
                for i in range(0, len(text), payloads.CHUNK_CHARS)
            ]
            closing = [
                event("response.output_text.done", text=text, logprobs=[], **ids),
                event("response.content_part.done", part=item["content"][0], **ids),
                event("response.output_item.done", output_index=index, item=item),
            ]
        elif item["type"] == "function_call":
            empty = {**item, "status": "in_progress", "arguments": ""}
            args = item["arguments"]
            half = len(args) // 2
            ids = {"item_id": item["id"], "output_index": index}
            opening = [event("response.output_item.added", output_index=index, item=empty)]
            deltas = [
                event("response.function_call_arguments.delta", delta=piece, **ids)
                for piece in (args[:half], args[half:])
            ]
            closing = [
                event("response.function_call_arguments.done", arguments=args, **ids),
                event("response.output_item.done", output_index=index, item=item),
            ]
        else:
            opening = [event("response.output_item.added", output_index=index, item=item)]
            deltas = []
            closing = [event("response.output_item.done", output_index=index, item=item)]
        if paced_yet:
            tail += opening + deltas + closing
        elif deltas:
            head += opening
            paced, paced_yet = deltas, True
            tail += closing
        else:  # nothing to pace yet (a reasoning item): still part of the first frame
            head += opening + closing
    kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    tail.append(event(kind, response=final))
    return [b"".join(head), *paced, b"".join(tail)], len(paced)
