"""Cheap upper-bound guesses of a request's size, made before it is sent.

The TPM bucket and the budget both need a number before the response tells the
truth; over-estimating a little is safe (it is corrected afterwards), under-
estimating would let a run overshoot its limit or its cap.
"""

from __future__ import annotations

from typing import Any

from evals.endpoints.messages import content_text

DEFAULT_MAX_OUTPUT_TOKENS = 4096  # assumed when a request sets no output limit
_CHARS_PER_TOKEN = 3  # English averages about 4; 3 errs on the high side


def _item_chars(item: Any) -> int:
    """Characters of one Responses input item (message, function_call, its output)."""
    if not isinstance(item, dict):
        return len(str(item))
    content = item.get("content")
    if isinstance(content, list):
        return sum(len(str(p.get("text", ""))) for p in content if isinstance(p, dict))
    if content is not None:
        return len(str(content))
    return sum(len(str(item.get(k) or "")) for k in ("name", "arguments", "output"))


def prompt_tokens(body: dict[str, Any]) -> int:
    """Chat bodies (`messages`) and Responses bodies (`instructions` + `input`)."""
    if "messages" not in body and "input" in body:
        items = body["input"]
        items = [items] if isinstance(items, str) else list(items or [])
        chars = len(str(body.get("instructions") or "")) + sum(_item_chars(i) for i in items)
        return chars // _CHARS_PER_TOKEN + 4 * (len(items) + 1) + 3
    messages = body.get("messages") or []
    chars = sum(len(content_text(message.get("content"))) for message in messages)
    return chars // _CHARS_PER_TOKEN + 4 * len(messages) + 3


def max_output_tokens(body: dict[str, Any]) -> int:
    limit = (
        body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens")
    )
    return int(limit) if limit else DEFAULT_MAX_OUTPUT_TOKENS


def total_tokens(body: dict[str, Any]) -> int:
    return prompt_tokens(body) + max_output_tokens(body)
