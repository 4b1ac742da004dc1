"""Model selection within one run: paired comparisons, the Pareto frontier, a recommendation.

Rows of one suite are compared over the samples they share (same case id and
repeat index): McNemar's exact test on the discordant pairs, the accuracy
difference with a 95% interval from the paired differences (cluster-robust when
cases share a `cluster:` or rows have repeats), Holm-adjusted within the suite.
The recommendation is the cheapest row not significantly worse than the most
accurate one, and only when the comparison could have seen a difference that
matters; otherwise it says how many cases it would take to tell.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from evals.stats import cases_needed, holm, mde_paired, mde_unpaired, paired_from_counts
from evals.store.rows import PairedCounts

ALPHA = 0.05
MEANINGFUL_DROP = 0.05  # a recommendation must be able to see a 5-point drop (80% power)


@dataclass(frozen=True, slots=True)
class Candidate:
    """What selection reads of a summary row."""

    prompt: str
    model: str
    accuracy: float | None
    cost_per_1k: float | None  # USD per 1,000 samples; None when unknown
    latency_p95_s: float | None
    graded: int  # error-free samples

    @property
    def label(self) -> str:
        return f"{self.model} ({self.prompt})"

    @property
    def key(self) -> tuple[str, str]:
        return (self.prompt, self.model)


def paired_difference(counts: PairedCounts, confidence: float = 0.95) -> dict[str, Any]:
    """Accuracy of a minus b over the shared samples, with its interval and test
    (evals.stats.paired_from_counts: McNemar, or clustered-z over `counts.clusters`)."""
    result = paired_from_counts(counts.n, counts.a_only, counts.b_only, counts.clusters, confidence)
    return {
        "n_paired": result.n,
        "diff": result.diff,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "p_value": result.p_value,
        "test": result.test if result.n else None,
        "discordant": result.discordant or 0,
    }


def pareto(rows: Sequence[Candidate]) -> list[Candidate]:
    """Rows no other row beats on accuracy, cost per 1,000 and p95 latency at once.

    An unknown cost or latency counts as the worst (it cannot be shown to be better).
    """
    scored = [r for r in rows if r.accuracy is not None]

    def values(r: Candidate) -> tuple[float, float, float]:
        cost = math.inf if r.cost_per_1k is None else r.cost_per_1k
        latency = math.inf if r.latency_p95_s is None else r.latency_p95_s
        return (-(r.accuracy or 0.0), cost, latency)

    def dominates(x: Candidate, y: Candidate) -> bool:
        vx, vy = values(x), values(y)
        return all(a <= b for a, b in zip(vx, vy, strict=True)) and vx != vy

    return [r for r in scored if not any(dominates(o, r) for o in scored if o is not r)]


@dataclass
class SuiteDecision:
    comparisons: list[dict[str, Any]]
    pareto: list[dict[str, str]]
    recommendation: str
    recommended: dict[str, str] | None
    power: dict[tuple[str, str], dict[str, Any]]  # per row: smallest detectable difference


def _ci(c: dict[str, Any]) -> str:
    if c["ci_low"] is None or c["ci_high"] is None:
        return "95% CI unknown"
    return f"95% CI [{c['ci_low'] * 100:.1f}, {c['ci_high'] * 100:.1f}]"


def _p(x: float | None) -> str:
    return "unknown" if x is None else f"{x:.2f}"


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _points(x: float) -> str:
    return f"{abs(x) * 100:.1f} points"


def decide(
    rows: Sequence[Candidate],
    counts: Callable[[tuple[str, str], tuple[str, str]], PairedCounts],
    alpha: float = ALPHA,
) -> SuiteDecision:
    """Comparisons, frontier and recommendation for the rows of one suite."""
    scored = sorted(
        (r for r in rows if r.accuracy is not None), key=lambda r: (-(r.accuracy or 0), r.key)
    )
    comparisons: list[dict[str, Any]] = []
    for first, second in combinations(scored, 2):  # a is the more accurate of the two
        pair = counts(first.key, second.key)
        if pair.n == 0:
            continue
        comparisons.append(
            {
                "a": {"prompt": first.prompt, "model": first.model},
                "b": {"prompt": second.prompt, "model": second.model},
                **paired_difference(pair),
            }
        )
    # Power at alpha / m, the strictest level Holm may hold a comparison to: a case
    # count that would only suffice for one test alone would promise too much.
    family_alpha = alpha / max(len(comparisons), 1)
    for c in comparisons:
        share = c["discordant"] / c["n_paired"]
        c["cases_needed"] = (
            cases_needed(c["diff"], share, family_alpha) if c["diff"] and share > 0 else None
        )
        c["mde"] = mde_paired(c["n_paired"], share, family_alpha)
    for comparison, adjusted in zip(
        comparisons, holm([c["p_value"] for c in comparisons]), strict=True
    ):
        comparison["p_adjusted"] = adjusted
        comparison["significant"] = adjusted is not None and adjusted < alpha
    frontier = [{"prompt": r.prompt, "model": r.model} for r in pareto(scored)]
    power = _row_power(scored, comparisons)
    text, chosen = _recommend(scored, comparisons, alpha)
    return SuiteDecision(comparisons, frontier, text, chosen, power)


def _between(comparisons: list[dict[str, Any]], a: Candidate, b: Candidate) -> dict | None:
    for c in comparisons:
        if _keys(c) in ((a.key, b.key), (b.key, a.key)):
            return c
    return None


def _row_power(scored: list[Candidate], comparisons: list[dict]) -> dict:
    """Per row, the smallest accuracy difference its cases can detect (alpha 0.05, 80%)."""
    power: dict[tuple[str, str], dict[str, Any]] = {}
    for row in scored:
        others = [c for c in comparisons if row.key in _keys(c) and c["mde"] is not None]
        if others:  # the comparison with the most accurate other row
            c = others[0]
            power[row.key] = {"mde": c["mde"], "mde_basis": "paired, observed discordance"}
        else:
            mde = mde_unpaired(row.graded, row.accuracy if row.accuracy else 0.5)
            basis = "unpaired, assumes independent answers at this row's accuracy"
            power[row.key] = {"mde": mde, "mde_basis": basis}
    return power


def _keys(c: dict) -> tuple[tuple[str, str], tuple[str, str]]:
    return ((c["a"]["prompt"], c["a"]["model"]), (c["b"]["prompt"], c["b"]["model"]))


def _recommend(
    scored: list[Candidate], comparisons: list[dict], alpha: float
) -> tuple[str, dict[str, str] | None]:
    if not scored:
        return "no row has a graded sample: nothing to recommend", None
    best = scored[0]
    if best.accuracy == 0:
        return "no row passed any case: nothing to recommend", None
    pick = {"prompt": best.prompt, "model": best.model}
    if len(scored) == 1:
        return f"{best.label} is the only row: nothing to compare it with", None
    close = [best]  # rows not significantly worse than the most accurate
    for row in scored[1:]:
        c = _between(comparisons, best, row)
        if c is not None and not c["significant"]:
            close.append(row)
    priced = [r for r in close if r.cost_per_1k is not None]
    cheapest = min(priced, key=lambda r: (r.cost_per_1k, -(r.accuracy or 0))) if priced else best
    if cheapest is best:
        others = [_between(comparisons, best, r) for r in scored[1:]]
        worse = [c for c in others if c is not None and c["significant"]]
        evidence = (
            f"every other row is significantly less accurate (Holm-adjusted p < {alpha})"
            if len(worse) == len(scored) - 1
            else "no row that is as accurate costs less"
        )
        return f"{best.label}: the most accurate ({_pct(best.accuracy)}); {evidence}", pick
    c = _between(comparisons, best, cheapest)
    assert c is not None
    if c["mde"] is None or c["mde"] > MEANINGFUL_DROP:
        need = c["cases_needed"]
        more = f" (would need about {need:,} cases)" if need else ""
        reach = (
            f"can only detect a difference of {_points(c['mde'])} or more"
            if c["mde"]
            else "are too few to detect a difference at 80% power"
        )
        return (
            f"not enough cases to tell {best.label} from {cheapest.label}{more}: "
            f"{c['n_paired']} shared samples {reach}; observed {_points(c['diff'])}, "
            f"{_ci(c)}, Holm-adjusted p {_p(c['p_adjusted'])}",
            None,
        )
    saving = ""
    if best.cost_per_1k:
        saving = f", {1 - cheapest.cost_per_1k / best.cost_per_1k:.0%} cheaper per case"
    return (
        f"{cheapest.label}: not significantly less accurate than {best.label} "
        f"({_pct(cheapest.accuracy or 0)} vs {_pct(best.accuracy)}, difference "
        f"{_points(c['diff'])}, {_ci(c)}, adjusted p {_p(c['p_adjusted'])}){saving}",
        {"prompt": cheapest.prompt, "model": cheapest.model},
    )
