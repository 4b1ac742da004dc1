"""Percentiles and means: None for no data, never 0."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """q-th percentile (0..100) with linear interpolation, like numpy's default.

    None for an empty sequence, so a report shows "no data" rather than 0.
    """
    ordered = sorted(values)
    return percentile_of_sorted(ordered.__getitem__, len(ordered), q)


def percentile_of_sorted(nth: Callable[[int], float], n: int, q: float) -> float | None:
    """The same percentile, reading only the two order statistics it needs.

    `nth(i)` returns the i-th smallest value; a store can answer that from an
    index without loading a million latencies into memory.
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    if n == 0:
        return None
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    low = nth(lo)
    return float(low + (nth(hi) - low) * frac) if frac else float(low)


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean; None for no values (never 0)."""
    items = list(values)
    return math.fsum(items) / len(items) if items else None
