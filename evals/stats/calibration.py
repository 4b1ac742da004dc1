"""Calibration of probabilistic answers: the Brier score of multiple-choice probabilities.

A model scored from its answer token's logprobs gives a probability per option, not
just a pick; the Brier score says how well those probabilities match what was right
(0 is perfect, 2 the worst for one question; always answering uniformly over k
options scores 1 - 1/k).
"""

from __future__ import annotations

from collections.abc import Sequence


def brier_score(probabilities: Sequence[float], correct: int) -> float:
    """Sum over the options of (p - outcome)^2, outcome 1 for the correct option else 0."""
    if not 0 <= correct < len(probabilities):
        raise ValueError(f"correct option {correct} outside {len(probabilities)} options")
    return sum((p - (1.0 if i == correct else 0.0)) ** 2 for i, p in enumerate(probabilities))


def mean_brier(scores: Sequence[float]) -> float | None:
    """The mean Brier score of several questions; None for none."""
    return sum(scores) / len(scores) if scores else None
