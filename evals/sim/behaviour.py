"""What a simulated model answers, and how many tokens it bills: pure, deterministic functions.

Answer rule (applied to the text of the LAST ``user`` message):

1. Echo: ``Repeat: X``, ``Echo: X`` or ``Say exactly: X`` (case-insensitive; X is the rest of
   that line, stripped). Correct answer X; wrong answer X reversed (``X + "?"`` when the
   reversal equals X).
2. Arithmetic: the first ``A op B`` with op in ``+ - * / × ÷`` (``12 + 7``, ``9/3``), else a
   phrase ``add A and B`` / ``sum of A and B`` / ``subtract A from B`` / ``multiply A by B``
   / ``product of A and B`` / ``divide A by B``. A and B are integers or decimals. The correct
   answer is computed exactly and printed as an integer when whole, else rounded to 6
   decimals; the wrong answer is correct+1 or correct-1 (chosen by hash). Division by zero
   is not checkable.
3. Anything else: a canned sentence chosen by hash; ``correct`` is None (not checkable).

Whether a checkable prompt is answered correctly: ``u(model, seed, last user text) <
accuracy``, where ``u`` maps sha256 of those parts to [0, 1). It does not depend on arrival
order, other parameters or earlier requests, so concurrent runs give identical answers.

Format: if any message contains ``Answer:`` (case-insensitive) the reply is
``"Let me work through this step by step.\\nAnswer: <answer>"``, else the bare answer.

Token rules (documented contract; tests recompute them):

- ``text_tokens(s) = ceil(len(s) / 4)`` characters, 0 for empty text.
- ``prompt_tokens = sum over messages of (4 + text_tokens(text of the message))``, where a
  message's text is its string content, or its text parts joined with ``"\\n"``; each image
  part adds 85.
- ``reasoning_tokens = round(model.reasoning_tokens * factor(reasoning_effort))`` for
  reasoning models (factor none 0, minimal 0.125, low 0.5, medium/default 1, high 2,
  xhigh 4, max 8), else 0.
- ``completion_tokens = text_tokens(visible answer) + reasoning_tokens`` (reasoning tokens
  are inside completion_tokens, as OpenAI reports them).
- ``cached_tokens = prompt_tokens // 2 if model.cache and prompt_tokens >= 8 else 0``.
- Limit ``max_completion_tokens`` (or ``max_tokens``) L: reasoning tokens are spent first;
  if they reach L the visible answer is empty; otherwise the visible answer is cut to
  ``4 * (L - reasoning_tokens)`` characters when longer. Either way ``finish_reason`` becomes
  ``"length"`` and ``correct`` becomes False. ``stop`` strings cut the answer before the
  first occurrence (``finish_reason`` stays ``"stop"``).
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from evals.sim.config import ModelConfig

EFFORT_FACTORS = {
    "none": 0.0,
    "minimal": 0.125,
    "low": 0.5,
    "medium": 1.0,
    "high": 2.0,
    "xhigh": 4.0,
    "max": 8.0,
}

CANNED = (
    "I am a simulated model, and this prompt has no answer I can check.",
    "That is an interesting question; here is a deterministic placeholder reply.",
    "Thanks for the message. This simulated endpoint returns a fixed sentence here.",
    "Simulated response: the prompt was received and understood.",
    "Here is a canned answer from the evals simulator.",
)
ANSWER_PREFIX = "Let me work through this step by step.\nAnswer: "

_ECHO = re.compile(r"\b(?:repeat|echo|say exactly)\s*:[ \t]*([^\n]*)", re.IGNORECASE)
_NUM = r"-?\d+(?:\.\d+)?"
_EXPR = re.compile(rf"({_NUM})\s*([-+*/×÷])\s*({_NUM})")
_WORDS = (
    (re.compile(rf"\badd\s+({_NUM})\s+(?:and|to)\s+({_NUM})", re.I), "+", False),
    (re.compile(rf"\bsum\s+of\s+({_NUM})\s+and\s+({_NUM})", re.I), "+", False),
    (re.compile(rf"\bsubtract\s+({_NUM})\s+from\s+({_NUM})", re.I), "-", True),
    (re.compile(rf"\bmultiply\s+({_NUM})\s+(?:and|by|with)\s+({_NUM})", re.I), "*", False),
    (re.compile(rf"\bproduct\s+of\s+({_NUM})\s+and\s+({_NUM})", re.I), "*", False),
    (re.compile(rf"\bdivide\s+({_NUM})\s+by\s+({_NUM})", re.I), "/", False),
)


def unit_hash(*parts: object) -> float:
    """Map parts to a stable float in [0, 1): the simulator's only source of 'randomness'."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def text_tokens(text: str) -> int:
    """Token estimate for text: one token per 4 characters, rounded up."""
    return (len(text) + 3) // 4


def message_text(message: Any) -> tuple[str, int]:
    """Text of one chat message and its number of image parts."""
    if not isinstance(message, dict):
        return "", 0
    content = message.get("content")
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    texts, images = [], 0
    for part in content:
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") in ("image_url", "input_image"):
                images += 1
    return "\n".join(texts), images


def prompt_tokens(messages: list[Any]) -> int:
    """Prompt token count: 4 per message plus its text tokens, 85 per image."""
    total = 0
    for m in messages:
        text, images = message_text(m)
        total += 4 + text_tokens(text) + 85 * images
    return total


def last_user_text(messages: list[Any]) -> str:
    """Text of the last user message ('' when there is none)."""
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            return message_text(m)[0]
    return ""


def format_number(value: Fraction) -> str:
    """Whole numbers without decimals, others rounded to 6 decimals."""
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _arith(op: str, a: Fraction, b: Fraction) -> Fraction | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op in "*×":
        return a * b
    return None if b == 0 else a / b


def solve(text: str) -> tuple[str, str, str] | None:
    """(task, correct answer, wrong answer) for a checkable prompt, else None."""
    m = _ECHO.search(text)
    if m and m.group(1).strip():
        said = m.group(1).strip()
        wrong = said[::-1]
        return "echo", said, wrong if wrong != said else said + "?"
    found: tuple[str, str, str] | None = None
    m = _EXPR.search(text)
    if m:
        found = (m.group(1), m.group(2), m.group(3))
    else:
        for pattern, op, swap in _WORDS:
            m = pattern.search(text)
            if m:
                a, b = (m.group(2), m.group(1)) if swap else (m.group(1), m.group(2))
                found = (a, op, b)
                break
    if found is None:
        return None
    value = _arith(found[1], Fraction(found[0]), Fraction(found[2]))
    if value is None:
        return None
    delta = 1 if unit_hash("wrong", text) < 0.5 else -1
    return "arithmetic", format_number(value), format_number(value + delta)


@dataclass(slots=True)
class Answer:
    """One completion as the simulator bills and logs it."""

    text: str
    finish_reason: str
    correct: bool | None
    task: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int

    def usage(self, details: bool) -> dict[str, Any]:
        """OpenAI usage object; ``details=False`` mimics providers that send only totals."""
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        if details:
            usage["prompt_tokens_details"] = {
                "cached_tokens": self.cached_tokens,
                "audio_tokens": 0,
            }
            usage["completion_tokens_details"] = {
                "reasoning_tokens": self.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            }
        return usage


def answer_chat(model: ModelConfig, body: dict[str, Any]) -> Answer:
    """Compute the answer and usage for a validated chat request body."""
    messages = body["messages"]
    user_text = last_user_text(messages)
    solved = solve(user_text)
    if solved is None:
        task, correct = "canned", None
        text = CANNED[int(unit_hash("canned", model.name, model.seed, user_text) * len(CANNED))]
    else:
        task, right, wrong = solved
        correct = unit_hash("correct", model.name, model.seed, user_text) < model.accuracy
        text = right if correct else wrong
        if any("answer:" in message_text(m)[0].lower() for m in messages):
            text = ANSWER_PREFIX + text
    stop = body.get("stop")
    for s in [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []:
        if isinstance(s, str) and s and s in text:
            text = text[: text.index(s)]
    reasoning = 0
    if model.reasoning:
        factor = EFFORT_FACTORS.get(body.get("reasoning_effort") or "medium", 1.0)
        reasoning = round(model.reasoning_tokens * factor)
    finish = "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and limit > 0:
        if reasoning >= limit:
            reasoning, text, finish = limit, "", "length"
        elif text_tokens(text) > limit - reasoning:
            text, finish = text[: 4 * (limit - reasoning)], "length"
    if finish == "length" and correct:
        correct = False
    ptok = prompt_tokens(messages)
    return Answer(
        text=text,
        finish_reason=finish,
        correct=correct,
        task=task,
        prompt_tokens=ptok,
        completion_tokens=text_tokens(text) + reasoning,
        reasoning_tokens=reasoning,
        cached_tokens=ptok // 2 if model.cache and ptok >= 8 else 0,
    )


def latency_s(model: ModelConfig, key: str) -> float:
    """Deterministic delay: latency_ms +/- jitter, the offset chosen by hash of ``key``."""
    if not model.latency_ms and not model.latency_jitter_ms:
        return 0.0
    offset = model.latency_jitter_ms * (2 * unit_hash("latency", model.name, key) - 1)
    return max(0.0, model.latency_ms + offset) / 1000.0


def embedding(model: ModelConfig, item: object, dims: int) -> list[float]:
    """Deterministic unit vector for one embeddings input (a string or a token list)."""
    raw = hashlib.shake_256(f"{model.name}\x1f{model.seed}\x1f{item!r}".encode()).digest(2 * dims)
    values = [v - 32767.5 for v in struct.unpack(f"<{dims}H", raw)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]
