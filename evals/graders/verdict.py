"""Reading a judge model's verdict: a score in 0..1 and a reason, from whatever it wrote.

Judges are asked for strict JSON, but endpoints without structured output, small models
and custom prompts still produce fences, prose, "8/10", "80%" or a bare PASS. A reply we
cannot read is a grader error (never a silent 0), so a garbled judge is visible.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evals.graders.base import number
from evals.graders.fields import strip_fence


class VerdictError(ValueError):
    """The judge's text holds no score we can read."""


_SCORE_KEYS = ("score", "rating", "grade", "verdict", "result", "pass", "passed", "correct")
_REASON_KEYS = ("reason", "reasoning", "explanation", "rationale", "justification")
_NUM = r"(-?\d+(?:\.\d+)?)"
_LABELLED = re.compile(
    rf"\b(?:score|rating|grade)\b\W{{0,3}}(?:is|of)?\s*{_NUM}(?:\s*/\s*{_NUM})?\s*(%)?", re.I
)
_FRACTION = re.compile(rf"(?<![\w.]){_NUM}\s*(?:/|out of)\s*(\d+)\b", re.I)
_PERCENT = re.compile(rf"(?<![\w.]){_NUM}\s*%")
_WORD = re.compile(r"\b(PASS|FAIL)(?:ED)?\b")
_LABELLED_WORD = re.compile(r"\b(?:verdict|result|grade)\s*[:=]\s*\**\s*(pass|fail)", re.I)
_BARE = {"pass": 1.0, "passed": 1.0, "yes": 1.0, "correct": 1.0, "true": 1.0,
         "fail": 0.0, "failed": 0.0, "no": 0.0, "incorrect": 0.0, "false": 0.0}  # fmt: skip


def normalise_score(value: float, denominator: float | None = None, percent: bool = False) -> float:
    """To 0..1: n/d, n%, 0..1 as is, 1..10 as tenths, 10..100 as percent; else VerdictError."""
    if denominator is not None:
        if denominator <= 0 or not 0 <= value <= denominator:
            raise VerdictError(f"score {number(value)}/{number(denominator)} is out of range")
        return value / denominator
    if percent or 10 < value <= 100:
        if not 0 <= value <= 100:
            raise VerdictError(f"score {number(value)}% is out of range")
        return value / 100
    if 0 <= value <= 1:
        return value
    if 1 < value <= 10:
        return value / 10
    raise VerdictError(f"score {number(value)} is out of range")


def _score_from_value(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return normalise_score(float(value))
    if isinstance(value, str):
        try:
            return _score_from_text(value)
        except VerdictError:
            return None
    return None


def _score_from_text(text: str) -> float:
    stripped = text.strip().strip("*.!` ").casefold()
    if stripped in _BARE:
        return _BARE[stripped]
    try:
        return normalise_score(float(stripped))
    except ValueError:
        pass
    for pattern in (_LABELLED, _FRACTION):
        match = pattern.search(text)
        if match:
            groups = match.groups()
            denominator = float(groups[1]) if groups[1] else None
            return normalise_score(
                float(groups[0]), denominator, len(groups) > 2 and bool(groups[2])
            )
    match = _PERCENT.search(text)
    if match:
        return normalise_score(float(match[1]), percent=True)
    words = _LABELLED_WORD.findall(text) or _WORD.findall(text)
    if words:
        return 1.0 if words[-1].upper() == "PASS" else 0.0  # the conclusion comes last
    raise VerdictError("no score found")


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object in `text` (fenced or amid prose), outermost first."""
    decoder, found, position = json.JSONDecoder(), [], 0
    text = strip_fence(text)
    while (start := text.find("{", position)) != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            position = start + 1
            continue
        if isinstance(value, dict):
            found.append(value)
        position = end
    return found


def parse_verdict(text: str) -> tuple[float, str]:
    """(score in 0..1, reason) from a judge's reply; raises VerdictError when there is none.

    Accepts a JSON object (bare, fenced or amid prose) with `score` (number, "8/10",
    "80%", "PASS") and `reason`; else prose with "Score: 8/10", "80%", "7/10", or the
    words PASS/FAIL. Scores above 1 are read as a 1-10 scale, above 10 as 0-100.
    """
    for obj in _json_objects(text):
        folded = {str(k).casefold(): v for k, v in obj.items()}
        for key in _SCORE_KEYS:
            if key in folded and (score := _score_from_value(folded[key])) is not None:
                reason = next((str(folded[k]) for k in _REASON_KEYS if k in folded), "")
                return score, reason.strip()
    score = _score_from_text(text)
    return score, " ".join(text.split())[:300]
