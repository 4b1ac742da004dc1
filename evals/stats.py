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
    passed: float, n: float, confidence: float = 0.95
) -> tuple[float, float] | tuple[None, None]:
    """Wilson score interval for a pass rate; (None, None) when n == 0.

    Wilson rather than the normal approximation because it stays inside [0, 1]
    and is honest at 0/n and n/n, which small eval suites hit often. `passed`
    and `n` may be fractional (an effective sample size, see `clustered_interval`).
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


def clustered_interval(
    per_case: Iterable[tuple[int, int]], confidence: float = 0.95
) -> tuple[float, float] | tuple[None, None]:
    """Interval for a pass rate whose samples come in clusters (repeats of one case).

    Repeats of one case are not independent draws: a hard case fails every
    time. The cluster-robust variance of the pooled rate p = sum(y) / sum(n),
    C / (C - 1) * sum((y_i - p * n_i)^2) / N^2 (the sandwich estimator, as in
    Miller 2024, "Adding Error Bars to Evals"), gives a design effect
    deff = var_clustered / var_iid; the Wilson interval is then taken at the
    effective sample size N / deff, which keeps it inside [0, 1]. When every
    sample agrees (p = 0 or 1) the design effect is undefined and each case
    counts as one sample. Never narrower than the independent-samples interval.
    """
    pairs = [(n, y) for n, y in per_case if n > 0]
    cases = len(pairs)
    total = sum(n for n, _ in pairs)
    passed = sum(y for _, y in pairs)
    if total == 0:
        return (None, None)
    p = passed / total
    if cases < 2:
        return wilson_interval(p, 1.0, confidence)  # one case: one sample
    iid = p * (1.0 - p) / total
    if iid == 0.0:
        n_eff = float(cases)
    else:
        residuals = math.fsum((y - p * n) ** 2 for n, y in pairs)
        clustered = cases / (cases - 1) * residuals / (total * total)
        n_eff = total if clustered <= iid else total * iid / clustered
    return wilson_interval(p * n_eff, n_eff, confidence)


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


def repeat_metrics(per_case: Iterable[tuple[int, int]], k: int) -> dict[str, float | int | None]:
    """pass@1, pass@k and consistency, all over one set of cases.

    The set is the cases with at least k error-free samples (the unbiased pass@k
    needs k of them); pass@1 over a larger set than pass@k could come out above
    it. `pass_at_k_cases` says how many cases that set holds, `cases_short` how
    many were left out for having fewer than k samples.
    """
    counted = 0
    short = 0
    at_1 = 0.0
    at_k = 0.0
    consistent = 0
    for samples, passed in per_case:
        value = pass_at_k(samples, passed, k)
        if value is None:
            short += samples > 0
            continue
        counted += 1
        at_1 += passed / samples
        at_k += value
        consistent += passed in (0, samples)
    if counted == 0:
        return {
            "pass_at_1": None,
            "pass_at_k": None,
            "consistency": None,
            "pass_at_k_cases": 0,
            "cases_short": short,
        }
    return {
        "pass_at_1": at_1 / counted,
        "pass_at_k": at_k / counted,
        "consistency": consistent / counted,
        "pass_at_k_cases": counted,
        "cases_short": short,
    }
