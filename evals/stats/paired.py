"""Two rows compared on the cases they share: McNemar's exact test for
pass/fail, a sign-flip permutation test and paired bootstrap for scores, and
Holm's adjustment when several comparisons are made at once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evals.stats.clusters import cluster_totals, cr1_standard_error
from evals.stats.distributions import (
    binomial_half_cdf,
    check_confidence,
    normal_two_sided_p,
    z_two_sided,
)
from evals.stats.resampling import bootstrap_mean_interval, sign_flip_p_value


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p: min(1, 2 * P(X <= min(b, c))), X ~ Binomial(b + c, 1/2).

    b and c are the discordant pairs (passed in one row only, each way); the
    concordant pairs carry no information about the difference. 1.0 when b + c == 0.
    """
    b, c = int(b), int(c)  # numpy integers would overflow in the exact sum
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be non-negative, got b={b}, c={c}")
    if b + c == 0:
        return 1.0
    return min(1.0, 2.0 * binomial_half_cdf(min(b, c), b + c))


@dataclass(frozen=True)
class Paired:
    """A paired comparison of row a against row b.

    `diff` = mean(a) - mean(b) (an accuracy difference for pass/fail), with its
    interval `ci_low`..`ci_high` and the two-sided `p_value` of `test`
    ("mcnemar-exact", "clustered-z" or "paired-permutation"). `discordant`:
    pairs that passed in exactly one row (pass/fail only, else None).
    `clustered`: the standard error, test and resampling respect clusters.
    """

    n: int
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: str
    discordant: int | None
    clustered: bool


def paired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    *,
    binary: bool,
    clusters: Sequence[str | None] | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    resamples: int = 2000,
) -> Paired:
    """Compare two rows on matched samples: a[i] and b[i] are the same case (and repeat).

    Pass/fail (`binary`, values 1.0/0.0): McNemar's exact test, and
    diff +- z * SE with SE = sd(d) / sqrt(n) over the paired differences d_i
    (the paired Wald interval, Agresti 2013, "Categorical Data Analysis", 11.1),
    clipped to [-1, 1]. With clusters (repeats of a case, questions on one
    passage), the SE is the cluster-robust CR1 one and the p value that of the
    z test diff / SE ("clustered-z"; when that SE is 0, McNemar's exact p).

    Scores: a sign-flip permutation test of the mean difference (two-sided,
    `resamples` flips, add-one smoothing) and a percentile bootstrap interval
    of it, both seeded; with clusters, signs flip and the bootstrap draws per
    cluster.

    With clusters given but all None, nothing is clustered. n == 0: every
    figure None (`test` still names the test that would have run).
    """
    check_confidence(confidence)
    if len(a) != len(b):
        raise ValueError(f"paired rows differ in length: {len(a)} and {len(b)}")
    if clusters is not None and len(clusters) != len(a):
        raise ValueError(f"{len(a)} pairs but {len(clusters)} cluster labels")
    if binary and any(x not in (0, 1) for x in (*a, *b)):
        raise ValueError("binary outcomes must be 0 or 1")
    clustered = clusters is not None and any(c is not None for c in clusters)
    test = _binary_test(clustered) if binary else "paired-permutation"
    n = len(a)
    if n == 0:
        return Paired(0, None, None, None, None, test, None, False)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    sums, sizes = cluster_totals(diffs, clusters if clustered else None)
    if binary:
        return _binary(diffs, sums, sizes, clustered, confidence)
    diff = math.fsum(diffs) / n
    p = sign_flip_p_value(sums, resamples, seed)
    if len(sums) < 2:
        return Paired(n, diff, None, None, p, test, None, clustered)
    low, high = bootstrap_mean_interval(sums, sizes, confidence, resamples, seed)
    return Paired(n, diff, low, high, p, test, None, clustered)


def _binary(
    diffs: list[float], sums: list[float], sizes: list[int], clustered: bool, confidence: float
) -> Paired:
    only_a = sum(1 for d in diffs if d > 0)
    only_b = sum(1 for d in diffs if d < 0)
    clusters = list(zip(sizes, sums, strict=True)) if clustered else None
    return paired_from_counts(len(diffs), only_a, only_b, clusters, confidence)


def paired_from_counts(
    n: int,
    only_a: int,
    only_b: int,
    clusters: Sequence[tuple[int, float]] | None = None,
    confidence: float = 0.95,
) -> Paired:
    """The pass/fail comparison of `paired_comparison` from counts alone (what a
    database can sum without loading samples): n pairs, `only_a` passed in a only,
    `only_b` in b only; `clusters`, when samples are clustered, (pairs, sum of
    a - b) per cluster. Unclustered, the SE is sd(d)/sqrt(n), d_i in {-1, 0, 1}."""
    check_confidence(confidence)
    clustered = clusters is not None
    if n == 0:
        return Paired(0, None, None, None, None, _binary_test(clustered), None, False)
    diff = (only_a - only_b) / n
    if clustered:
        se = cr1_standard_error([s for _, s in clusters], [m for m, _ in clusters])
    elif n > 1:
        residuals = only_a * (1 - diff) ** 2 + only_b * (1 + diff) ** 2
        residuals += (n - only_a - only_b) * diff**2
        se = math.sqrt(residuals / (n - 1) / n)
    else:
        se = None
    low: float | None = None
    high: float | None = None
    if se is not None:
        half = z_two_sided(confidence) * se
        low, high = max(-1.0, diff - half), min(1.0, diff + half)
    test, p = "mcnemar-exact", mcnemar_exact(only_a, only_b)  # also when the CR1 SE is 0
    p_value: float | None = p
    if clustered and se is None:
        test, p_value = "clustered-z", None
    elif clustered and se > 0.0:
        test, p_value = "clustered-z", normal_two_sided_p(diff / se)
    return Paired(n, diff, low, high, p_value, test, only_a + only_b, clustered)


def _binary_test(clustered: bool) -> str:
    return "clustered-z" if clustered else "mcnemar-exact"


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni step-down adjusted p values (Holm 1979), in the input order.

    Sorted ascending, the i-th of m (from 0) becomes max over j <= i of
    min(1, (m - j) * p_(j)): monotone in p, capped at 1. None entries (no test
    made) pass through and do not count towards m.
    """
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    for p, _ in present:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p values must be in [0, 1], got {p}")
    adjusted: list[float | None] = [None] * len(p_values)
    m = len(present)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
