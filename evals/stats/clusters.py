"""Samples grouped into clusters, and the cluster-robust (CR1) standard error of a mean.

A cluster is what makes samples dependent: repeats of one case, several
questions on one passage, several turns of one conversation. A sample whose
cluster is None is a cluster of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def cluster_totals(
    values: Sequence[float], clusters: Sequence[str | None] | None
) -> tuple[list[float], list[int]]:
    """Per-cluster sums and sizes, clusters in order of first appearance.

    `clusters=None` makes every sample its own cluster.
    """
    if clusters is None:
        return [float(v) for v in values], [1] * len(values)
    if len(clusters) != len(values):
        raise ValueError(f"{len(values)} values but {len(clusters)} cluster labels")
    index: dict[str, int] = {}
    sums: list[float] = []
    sizes: list[int] = []
    for value, cluster in zip(values, clusters, strict=True):
        slot = index.setdefault(cluster, len(sums)) if cluster is not None else len(sums)
        if slot == len(sums):
            sums.append(0.0)
            sizes.append(0)
        sums[slot] += value
        sizes[slot] += 1
    return sums, sizes


def cr1_standard_error(sums: Sequence[float], sizes: Sequence[int]) -> float | None:
    """Cluster-robust standard error of the pooled mean sum(sums) / sum(sizes).

    CR1 (Liang & Zeger 1986 with the C / (C - 1) small-sample factor, Stata's
    `vce(cluster)` for a regression on a constant):
    var = C / (C - 1) * sum_c (sum_{i in c} (x_i - mean))^2 / N^2.
    With every cluster a singleton this is exactly s^2 / N. None below 2 clusters.
    """
    count = len(sums)
    total = sum(sizes)
    if count < 2 or total == 0:
        return None
    centre = math.fsum(sums) / total
    residuals = math.fsum((s - n * centre) ** 2 for s, n in zip(sums, sizes, strict=True))
    return math.sqrt(count / (count - 1) * residuals) / total
