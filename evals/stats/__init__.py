"""Pure statistics over plain sequences: intervals, paired tests, power, repeats.

No I/O and no state, and nothing heavy imported: `import evals.stats` loads
neither scipy nor numpy (resampling imports numpy when it runs; the tests
check every figure against scipy or a published value).

- descriptive: percentile, percentile_of_sorted, mean
- intervals: wilson_interval, clustered_interval, clustered_rate_interval,
  t_interval, t_interval_from_moments, bootstrap_interval, clustered_mean_interval
- repeats: pass_at_k, repeat_metrics, variance_components, projected_se
- paired: mcnemar_exact, paired_comparison and paired_from_counts (-> Paired), holm
- power: mde_paired, mde_unpaired, cases_needed, power_paired
- calibration: brier_score, mean_brier (multiple-choice probabilities)
"""

from evals.stats.descriptive import mean, percentile, percentile_of_sorted
from evals.stats.intervals import (
    bootstrap_interval,
    clustered_interval,
    clustered_mean_interval,
    clustered_rate_interval,
    t_interval,
    t_interval_from_moments,
    wilson_interval,
)
from evals.stats.paired import (
    Paired,
    holm,
    mcnemar_exact,
    paired_comparison,
    paired_from_counts,
)
from evals.stats.power import cases_needed, mde_paired, mde_unpaired, power_paired
from evals.stats.repeats import (
    VarianceComponents,
    pass_at_k,
    projected_se,
    repeat_metrics,
    variance_components,
)

__all__ = [
    "Paired",
    "VarianceComponents",
    "bootstrap_interval",
    "cases_needed",
    "clustered_interval",
    "clustered_mean_interval",
    "clustered_rate_interval",
    "holm",
    "mcnemar_exact",
    "mde_paired",
    "mde_unpaired",
    "mean",
    "paired_comparison",
    "paired_from_counts",
    "pass_at_k",
    "percentile",
    "percentile_of_sorted",
    "power_paired",
    "projected_se",
    "repeat_metrics",
    "t_interval",
    "t_interval_from_moments",
    "variance_components",
    "wilson_interval",
]
