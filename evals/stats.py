"""Pure statistics over plain sequences: intervals, percentiles, means.

No I/O and no state, and nothing heavy imported: a run's summary must not pay
for scipy's import (the tests check these against scipy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence


def _z(confidence: float) -> float:
    """Two-sided normal quantile for `confidence` (0.95 -> 1.95996...)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    # The stdlib's inverse normal CDF (Wichura's AS241, accurate to ~1e-16) matches
    # scipy.stats.norm.ppf (checked in the tests) without scipy's ~0.8 s import,
    # which is a fifth of a 2,000-case run.
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(
    passed: int, n: int, confidence: float = 0.95
) -> tuple[float, float] | tuple[None, None]:
    """Wilson score interval for a pass rate; (None, None) when n == 0.

    Wilson rather than the normal approximation because it stays inside [0, 1]
    and is honest at 0/n and n/n, which small eval suites hit often.
    """
    if n < 0 or passed < 0 or passed > n:
        raise ValueError(f"need 0 <= passed <= n, got passed={passed}, n={n}")
    if n == 0:
        return (None, None)
    z = _z(confidence)
    p = passed / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    # Clamp float noise so that 0/n gives exactly 0 and n/n exactly 1.
    low = 0.0 if passed == 0 else max(0.0, centre - half)
    high = 1.0 if passed == n else min(1.0, centre + half)
    return (low, high)


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


def pass_at_k(samples: int, passed: int, k: int) -> float | None:
    """Unbiased pass@k for one case: P(at least one of k draws from n samples passes).

    1 - C(n - c, k) / C(n, k) (Chen et al., 2021); None when fewer than k samples.
    """
    if samples < k or k < 1:
        return None
    if samples - passed < k:
        return 1.0
    return 1.0 - math.comb(samples - passed, k) / math.comb(samples, k)


def repeat_metrics(per_case: Iterable[tuple[int, int]], k: int) -> dict[str, float | None]:
    """Mean pass@1 and pass@k over cases, and the share of cases whose samples all agree."""
    cases = 0
    at_1 = 0.0
    at_k = 0.0
    counted_k = 0
    consistent = 0
    for samples, passed in per_case:
        if samples == 0:
            continue
        cases += 1
        at_1 += passed / samples
        value = pass_at_k(samples, passed, k)
        if value is not None:
            at_k += value
            counted_k += 1
        consistent += passed in (0, samples)
    if cases == 0:
        return {"pass_at_1": None, "pass_at_k": None, "consistency": None}
    return {
        "pass_at_1": at_1 / cases,
        "pass_at_k": at_k / counted_k if counted_k else None,
        "consistency": consistent / cases,
    }
