"""Repeated samples of one case (`--repeat K`): pass@k, and how the variance
splits between repeats and cases."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


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


@dataclass(frozen=True)
class VarianceComponents:
    """How a repeated row's variance splits: within a case (between repeats) and
    between cases.

    `within_var`: sigma^2_w, None when no case has two samples.
    `between_var`: sigma^2_b, clipped at 0; None below two cases or without `within_var`.
    `cases`: cases with at least one sample; `mean_repeats`: samples per case (None: no case).
    `se_of_mean`: standard error of the mean of per-case means, s(case means) / sqrt(cases)
    (None below two cases).
    """

    within_var: float | None
    between_var: float | None
    cases: int
    mean_repeats: float | None
    se_of_mean: float | None


def variance_components(groups: Sequence[Sequence[float]]) -> VarianceComponents:
    """One-way random-effects ANOVA by the method of moments, one group per case.

    within = MSW = SSW / (N - k); between = (MSB - MSW) / n0, clipped at 0, with
    MSB = SSB / (k - 1) and, for unbalanced groups, n0 = (N - sum n_i^2 / N) / (k - 1)
    (Searle, Casella & McCulloch 1992, "Variance Components", ch. 3, unbalanced data;
    n0 = n for balanced groups). Empty groups are left out.
    """
    kept = [list(group) for group in groups if len(group) > 0]
    cases = len(kept)
    if cases == 0:
        return VarianceComponents(None, None, 0, None, None)
    sizes = [len(group) for group in kept]
    total = sum(sizes)
    case_means = [math.fsum(group) / len(group) for group in kept]
    grand = math.fsum(math.fsum(group) for group in kept) / total
    ssw = math.fsum((x - m) ** 2 for group, m in zip(kept, case_means, strict=True) for x in group)
    within = ssw / (total - cases) if total > cases else None
    se_of_mean = None
    between = None
    if cases >= 2:
        centre = math.fsum(case_means) / cases
        spread = math.fsum((m - centre) ** 2 for m in case_means) / (cases - 1)
        se_of_mean = math.sqrt(spread / cases)
        if within is not None:
            ssb = math.fsum(n * (m - grand) ** 2 for n, m in zip(sizes, case_means, strict=True))
            n0 = (total - sum(n * n for n in sizes) / total) / (cases - 1)
            between = max(0.0, (ssb / (cases - 1) - within) / n0)
    return VarianceComponents(within, between, cases, total / cases, se_of_mean)


def projected_se(components: VarianceComponents, cases: int, repeats: int) -> float:
    """Standard error of the mean of case means at `cases` cases x `repeats` repeats:
    sqrt(between / cases + within / (cases * repeats)).

    Compare projected_se(c, 2 * n, k) with projected_se(c, n, 2 * k) to see
    whether more cases or more repeats narrows the interval (more cases always
    helps at least as much). Raises ValueError when the components are unknown
    (None) or cases or repeats is below 1.
    """
    if cases < 1 or repeats < 1:
        raise ValueError(f"need cases >= 1 and repeats >= 1, got {cases} and {repeats}")
    if components.within_var is None or components.between_var is None:
        raise ValueError("variance components unknown: need two cases and a repeated case")
    return math.sqrt(components.between_var / cases + components.within_var / (cases * repeats))
