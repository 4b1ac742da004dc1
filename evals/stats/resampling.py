"""Seeded resampling over cluster totals: the percentile bootstrap and the
sign-flip permutation test. numpy is imported inside each function, never
when `evals.stats` is imported.

Both work on clusters: a sample that shares no cluster is a cluster of one, so
the ordinary bootstrap and permutation test are the special case of all
singletons. Draws are made in blocks of about a million numbers, so memory
stays flat however many cases and resamples there are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

_BLOCK = 1_000_000


def _blocks(resamples: int, width: int) -> Iterator[int]:
    rows = max(1, _BLOCK // max(width, 1))
    for start in range(0, resamples, rows):
        yield min(rows, resamples - start)


def _check_resamples(resamples: int) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")


def bootstrap_mean_interval(
    sums: Sequence[float], sizes: Sequence[int], confidence: float, resamples: int, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap interval of the pooled mean sum(sums) / sum(sizes),
    drawing whole clusters with replacement (Efron & Tibshirani 1993, ch. 13;
    the cluster bootstrap of Field & Welsh 2007). numpy's PCG64 seeded with
    `seed`: the same inputs give the same interval."""
    import numpy as np

    _check_resamples(resamples)
    rng = np.random.default_rng(seed)
    totals = np.asarray(sums, dtype=float)
    counts = np.asarray(sizes, dtype=float)
    width = len(totals)
    means = np.empty(resamples)
    done = 0
    for rows in _blocks(resamples, width):
        picks = rng.integers(0, width, size=(rows, width))
        means[done : done + rows] = totals[picks].sum(axis=1) / counts[picks].sum(axis=1)
        done += rows
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def sign_flip_p_value(sums: Sequence[float], resamples: int, seed: int) -> float:
    """Two-sided p of the paired sign-flip permutation test on cluster sums of
    paired differences: under H0 (no difference) each cluster's sum is as likely
    negated, so flip signs at random and count |sum| at least the observed one.
    Monte Carlo with add-one smoothing, (1 + hits) / (1 + resamples) (Phipson &
    Smyth 2010), which is never 0 and keeps the test valid."""
    import numpy as np

    _check_resamples(resamples)
    rng = np.random.default_rng(seed)
    totals = np.asarray(sums, dtype=float)
    observed = abs(float(totals.sum()))
    # flipped sums equal to the observed one must count despite float rounding
    slack = 1e-9 * float(np.abs(totals).sum())
    hits = 0
    for rows in _blocks(resamples, len(totals)):
        signs = rng.integers(0, 2, size=(rows, len(totals))) * 2.0 - 1.0
        hits += int(np.count_nonzero(np.abs(signs @ totals) >= observed - slack))
    return (1 + hits) / (1 + resamples)
