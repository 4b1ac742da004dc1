"""Cross-run comparison: did NEW get worse than BASE, row by row, beyond noise?

Rows are matched by (suite, prompt, model id) and samples by (case_id, repeat).
For each matched row the paired difference diff = new - base (accuracy over the
paired samples: McNemar's exact test, clustered when cases share a `cluster:`),
its interval, the p-value and the Holm-adjusted p-value across the rows compared.
A row is `worse` when its accuracy fell and p_adjusted < alpha, or when it fell
by more than `max_drop`; `better` when it rose and p_adjusted < alpha; else `same`.
Rows and samples present on one side only are listed, never dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from evals.decide.sources import CaseKey, RowKey, RowSamples, RunSamples
from evals.errors import InputError
from evals.stats.paired import holm, paired_comparison
from evals.stats.power import cases_needed


@dataclass
class RowComparison:
    base: RowSamples
    new: RowSamples
    paired: list[CaseKey]
    only_in_base: list[CaseKey]
    only_in_new: list[CaseKey]
    n_paired: int = 0
    diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    test: str | None = None
    clustered: bool = False
    discordant: int | None = None
    verdict: str = "same"
    reason: str = ""
    flips: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> RowKey:
        return self.new.key

    @property
    def label(self) -> str:
        return " / ".join(self.key)

    def to_json(self) -> dict[str, Any]:
        base, new = self.base, self.new
        suite, prompt, model = self.key
        return {
            "suite": suite,
            "prompt": prompt,
            "model": model,
            "n_paired": self.n_paired,
            "base_accuracy": base.accuracy,
            "new_accuracy": new.accuracy,
            "diff": self.diff,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "verdict": self.verdict,
            "reason": self.reason,
            "test": self.test,
            "clustered": self.clustered,
            "discordant": self.discordant,
            "cases_needed": self._cases_needed(),
            "base_samples": base.samples,
            "new_samples": new.samples,
            "base_errors": base.errors,
            "new_errors": new.errors,
            **_change("cost_per_case_usd", base.cost_per_case, new.cost_per_case),
            **_change("latency_p50_s", base.latency(50), new.latency(50)),
            **_change("latency_p95_s", base.latency(95), new.latency(95)),
            "pass_to_fail": sum(1 for f in self.flips if f["base_passed"]),
            "fail_to_pass": sum(1 for f in self.flips if not f["base_passed"]),
            "flips": self.flips,
            "cases_only_in_base": [_case(key) for key in self.only_in_base],
            "cases_only_in_new": [_case(key) for key in self.only_in_new],
        }

    def _cases_needed(self) -> int | None:
        """Paired samples needed to detect the observed diff (None: none would, or no diff)."""
        if self.verdict != "same" or not self.diff or not self.n_paired or not self.discordant:
            return None
        return cases_needed(abs(self.diff), self.discordant / self.n_paired)


def _change(name: str, base: float | None, new: float | None) -> dict[str, float | None]:
    change = None if base is None or new is None else new - base
    return {f"base_{name}": base, f"new_{name}": new, f"{name}_change": change}


def _case(key: CaseKey) -> dict[str, Any]:
    return {"case_id": key[0], "repeat": key[1]}


def _row_key(key: RowKey) -> dict[str, str]:
    return {"suite": key[0], "prompt": key[1], "model": key[2]}


@dataclass
class Comparison:
    base: RunSamples
    new: RunSamples
    alpha: float
    max_drop: float | None
    confidence: float
    rows: list[RowComparison]
    only_in_base: list[RowKey]
    only_in_new: list[RowKey]

    @property
    def worse(self) -> list[RowComparison]:
        return [row for row in self.rows if row.verdict == "worse"]

    @property
    def regressions(self) -> int:
        return len(self.worse)

    def to_json(self) -> dict[str, Any]:
        return {
            "base_run": self.base.run_id,
            "new_run": self.new.run_id,
            "base_source": self.base.source,
            "new_source": self.new.source,
            "alpha": self.alpha,
            "max_drop": self.max_drop,
            "confidence": self.confidence,
            "regressions": self.regressions,
            "improvements": sum(1 for row in self.rows if row.verdict == "better"),
            "rows": [row.to_json() for row in self.rows],
            "only_in_base": [_row_key(key) for key in self.only_in_base],
            "only_in_new": [_row_key(key) for key in self.only_in_new],
        }


def compare_runs(
    base: RunSamples,
    new: RunSamples,
    *,
    alpha: float = 0.05,
    max_drop: float | None = None,
    confidence: float = 0.95,
) -> Comparison:
    """Compare every row the two runs share; InputError when they share none."""
    if not 0 < alpha < 1:
        raise InputError("--alpha must be between 0 and 1 (for example 0.05)")
    if max_drop is not None and not 0 <= max_drop <= 1:
        raise InputError("--max-drop is a drop in accuracy between 0 and 1 (0.05 = 5 points)")
    common = [key for key in new.rows if key in base.rows]
    if not common:
        raise InputError(
            f"runs {base.run_id} and {new.run_id} have no row (suite / prompt / model) in "
            f"common: {base.run_id} has {_listing(base)}; {new.run_id} has {_listing(new)}"
        )
    rows = [_compare_row(base.rows[key], new.rows[key], confidence) for key in common]
    adjusted = holm([row.p_value for row in rows])
    for row, p_adjusted in zip(rows, adjusted, strict=True):
        row.p_adjusted = p_adjusted
        row.verdict, row.reason = _verdict(row, alpha, max_drop)
    return Comparison(
        base=base,
        new=new,
        alpha=alpha,
        max_drop=max_drop,
        confidence=confidence,
        rows=rows,
        only_in_base=[key for key in base.rows if key not in new.rows],
        only_in_new=[key for key in new.rows if key not in base.rows],
    )


def _listing(side: RunSamples) -> str:
    return ", ".join(" / ".join(key) for key in side.rows) or "no rows"


def _compare_row(base: RowSamples, new: RowSamples, confidence: float) -> RowComparison:
    paired = sorted((key for key in new.outcomes if key in base.outcomes), key=_natural)
    row = RowComparison(
        base=base,
        new=new,
        paired=paired,
        only_in_base=sorted((k for k in base.outcomes if k not in new.outcomes), key=_natural),
        only_in_new=sorted((k for k in new.outcomes if k not in base.outcomes), key=_natural),
        n_paired=len(paired),
    )
    if not paired:
        return row
    a = [float(new.outcomes[key].passed) for key in paired]
    b = [float(base.outcomes[key].passed) for key in paired]
    named = [new.outcomes[key].cluster or base.outcomes[key].cluster for key in paired]
    clusters = None  # samples are independent, unless cases share a cluster or repeat
    if any(named) or any(repeat for _, repeat in paired):
        clusters = [c or f"case:{case_id}" for c, (case_id, _) in zip(named, paired, strict=True)]
    result = paired_comparison(a, b, binary=True, clusters=clusters, confidence=confidence)
    row.diff, row.ci_low, row.ci_high = result.diff, result.ci_low, result.ci_high
    row.p_value, row.test, row.clustered = result.p_value, result.test, result.clustered
    row.discordant = result.discordant
    row.flips = [
        {
            "case_id": key[0],
            "repeat": key[1],
            "base_passed": base.outcomes[key].passed,
            "new_passed": new.outcomes[key].passed,
        }
        for key in paired
        if base.outcomes[key].passed != new.outcomes[key].passed
    ]
    row.flips.sort(key=lambda flip: not flip["base_passed"])  # pass -> fail first
    return row


def _natural(key: CaseKey) -> tuple[tuple[tuple[int, int | str], ...], int]:
    """Case ids in human order (add-2 before add-10), then the repeat."""
    parts = re.split(r"(\d+)", key[0])
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p), key[1]


def _verdict(row: RowComparison, alpha: float, max_drop: float | None) -> tuple[str, str]:
    if row.diff is None:
        return "same", "no sample in common: not compared"
    p = row.p_adjusted
    significant = p is not None and p < alpha
    if row.diff < 0 and significant:
        return "worse", f"accuracy fell {-row.diff:.3f} (p_adjusted {p:.3g} < alpha {alpha})"
    if row.diff < 0 and max_drop is not None and -row.diff > max_drop:
        return "worse", f"accuracy fell {-row.diff:.3f}, more than --max-drop {max_drop}"
    if row.diff > 0 and significant:
        return "better", f"accuracy rose {row.diff:.3f} (p_adjusted {p:.3g} < alpha {alpha})"
    if row.diff == 0:
        return "same", "no change in accuracy on the paired samples"
    p_text = "n/a" if p is None else f"{p:.3g}"
    return "same", f"a change of {row.diff:+.3f} is within noise (p_adjusted {p_text})"
