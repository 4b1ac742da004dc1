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


def prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages") or []
    chars = sum(len(content_text(message.get("content"))) for message in messages)
    return chars // _CHARS_PER_TOKEN + 4 * len(messages) + 3


def max_output_tokens(body: dict[str, Any]) -> int:
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    return int(limit) if limit else DEFAULT_MAX_OUTPUT_TOKENS


def total_tokens(body: dict[str, Any]) -> int:
    return prompt_tokens(body) + max_output_tokens(body)
