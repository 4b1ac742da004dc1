"""Confidence intervals: a pass rate (Wilson, clustered Wilson), a mean score
(t, bootstrap, cluster-robust t)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from evals.stats.clusters import cluster_totals, cr1_standard_error
from evals.stats.distributions import check_confidence, t_two_sided, z_two_sided
from evals.stats.resampling import bootstrap_mean_interval

Interval = tuple[float, float] | tuple[None, None]


def wilson_interval(passed: float, n: float, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a pass rate; (None, None) when n == 0.

    Wilson rather than the normal approximation because it stays inside [0, 1]
    and is honest at 0/n and n/n, which small eval suites hit often. `passed`
    and `n` may be fractional (an effective sample size, see `clustered_interval`).
    """
    if n < 0 or passed < 0 or passed > n:
        raise ValueError(f"need 0 <= passed <= n, got passed={passed}, n={n}")
    if n == 0:
        return (None, None)
    z = z_two_sided(confidence)
    p = passed / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    # Clamp float noise so that 0/n gives exactly 0 and n/n exactly 1.
    low = 0.0 if passed == 0 else max(0.0, centre - half)
    high = 1.0 if passed == n else min(1.0, centre + half)
    return (low, high)


def clustered_interval(per_case: Iterable[tuple[int, int]], confidence: float = 0.95) -> Interval:
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


def clustered_rate_interval(
    passed: Sequence[bool], clusters: Sequence[str | None], confidence: float = 0.95
) -> Interval:
    """Pass-rate interval when samples share clusters (`cluster:` on cases).

    Per-cluster (samples, passes) go to `clustered_interval` (Wilson at the
    effective sample size). When no cluster holds more than one sample there is
    no clustering to account for, and the result is the plain Wilson interval.
    """
    sums, sizes = cluster_totals([1.0 if p else 0.0 for p in passed], clusters)
    if all(size == 1 for size in sizes):
        return wilson_interval(sum(bool(p) for p in passed), len(passed), confidence)
    return clustered_interval(zip(sizes, (round(s) for s in sums), strict=True), confidence)


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Student t interval of a mean: mean +- t_{n-1} * s / sqrt(n).

    (None, None) below two values: one value says nothing about the spread.
    """
    check_confidence(confidence)
    n = len(values)
    if n < 2:
        return (None, None)
    centre = math.fsum(values) / n
    spread = math.sqrt(math.fsum((x - centre) ** 2 for x in values) / (n - 1))
    half = t_two_sided(confidence, n - 1) * spread / math.sqrt(n)
    return (centre - half, centre + half)


def t_interval_from_moments(
    n: int, mean: float, sum_squares: float, confidence: float = 0.95
) -> Interval:
    """The same t interval from n, the mean and the sum of squares (what SQL can sum),
    so a million scores need not be loaded to get it."""
    check_confidence(confidence)
    if n < 2:
        return (None, None)
    spread = math.sqrt(max((sum_squares - n * mean * mean) / (n - 1), 0.0))
    half = t_two_sided(confidence, n - 1) * spread / math.sqrt(n)
    return (mean - half, mean + half)


def bootstrap_interval(
    values: Sequence[float], confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Interval:
    """Percentile bootstrap interval of a mean, seeded and reproducible.

    (None, None) below two values. Prefer `t_interval` for a mean of many
    cases; the bootstrap is the option for small, skewed samples.
    """
    check_confidence(confidence)
    if len(values) < 2:
        return (None, None)
    return bootstrap_mean_interval(values, [1] * len(values), confidence, resamples, seed)


def clustered_mean_interval(
    values: Sequence[float], clusters: Sequence[str | None], confidence: float = 0.95
) -> Interval:
    """Interval of a mean score when samples share clusters.

    mean +- t_{C-1} * SE, SE the cluster-robust CR1 standard error over C
    clusters (a None cluster is a cluster of one). With every cluster a
    singleton it is exactly `t_interval`. (None, None) below two clusters.
    """
    check_confidence(confidence)
    sums, sizes = cluster_totals(values, clusters)
    se = cr1_standard_error(sums, sizes)
    if se is None:
        return (None, None)
    centre = math.fsum(values) / len(values)
    half = t_two_sided(confidence, len(sums) - 1) * se
    return (centre - half, centre + half)
