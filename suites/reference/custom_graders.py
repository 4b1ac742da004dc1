"""Example custom graders for suites/reference/custom.yaml (`type: python`).

A function takes the output and the grading context and returns a bool, a score
in [0, 1], or a dict with pass/score/reason.
"""

from __future__ import annotations

from typing import Any


def is_even_answer(output: str, ctx: Any) -> dict[str, Any]:
    digits = "".join(ch for ch in output.split("Answer:")[-1] if ch.isdigit())
    if not digits:
        return {"pass": False, "score": 0.0, "reason": "no number in the answer"}
    even = int(digits) % 2 == 0
    return {
        "pass": even,
        "score": 1.0 if even else 0.0,
        "reason": f"{digits} is {'even' if even else 'odd'}",
    }


def short_enough(output: str, ctx: Any) -> float:
    """1.0 for answers up to 60 characters, falling to 0 at 240."""
    return max(0.0, min(1.0, (240 - len(output)) / 180))
