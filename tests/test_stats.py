"""Stats: intervals, repeats and the distributions under them, each against a hand
computation or a published value (scipy as a cross-check)."""

from __future__ import annotations

import math
import random
import subprocess
import sys

import pytest

from evals.stats import (
    bootstrap_interval,
    clustered_interval,
    clustered_mean_interval,
    clustered_rate_interval,
    mean,
    percentile,
    projected_se,
    repeat_metrics,
    t_interval,
    variance_components,
    wilson_interval,
)
from evals.stats.distributions import binomial_half_cdf, t_two_sided, t_upper_tail, z_two_sided
from tests.helpers import REPO

Z95 = 1.959963984540054


def test_wilson_87_of_100_matches_closed_formula() -> None:
    n, k, z = 100, 87, Z95
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    low, high = wilson_interval(87, 100)
    assert low == pytest.approx(centre - half, abs=1e-12)
    assert high == pytest.approx(centre + half, abs=1e-12)
    # The summary-JSON example in DESIGN.md shows 87/100 as [0.79, 0.92].
    assert (round(low, 2), round(high, 2)) == (0.79, 0.92)


def test_wilson_zero_passed() -> None:
    low, high = wilson_interval(0, 20)
    # Upper bound for 0/n: z^2 / (n + z^2)
    assert low == 0.0
    assert high == pytest.approx(Z95**2 / (20 + Z95**2), abs=1e-12)


def test_wilson_all_passed() -> None:
    low, high = wilson_interval(20, 20)
    # Lower bound for n/n: n / (n + z^2)
    assert high == 1.0
    assert low == pytest.approx(20 / (20 + Z95**2), abs=1e-12)


def test_wilson_n_zero() -> None:
    assert wilson_interval(0, 0) == (None, None)


def test_wilson_other_confidence_is_narrower() -> None:
    low90, high90 = wilson_interval(87, 100, confidence=0.90)
    low95, high95 = wilson_interval(87, 100)
    assert low95 < low90 < 0.87 < high90 < high95


@pytest.mark.parametrize(("passed", "n", "conf"), [(5, 4, 0.95), (-1, 4, 0.95), (1, 4, 1.0)])
def test_wilson_rejects_bad_input(passed: int, n: int, conf: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(passed, n, conf)


def test_percentile_linear_interpolation() -> None:
    values = [0.9, 0.1, 0.5, 0.3, 0.7]  # sorted: 0.1 0.3 0.5 0.7 0.9
    assert percentile(values, 50) == pytest.approx(0.5)
    assert percentile(values, 0) == pytest.approx(0.1)
    assert percentile(values, 100) == pytest.approx(0.9)
    # position (5 - 1) * 0.95 = 3.8 -> 0.7 + 0.8 * (0.9 - 0.7) = 0.86
    assert percentile(values, 95) == pytest.approx(0.86)
    # position (5 - 1) * 0.10 = 0.4 -> 0.1 + 0.4 * (0.3 - 0.1) = 0.18
    assert percentile(values, 10) == pytest.approx(0.18)


def test_percentile_even_count_and_single() -> None:
    # sorted 1 2 3 4: median position 1.5 -> 2 + 0.5 * (3 - 2) = 2.5
    assert percentile([4, 1, 3, 2], 50) == pytest.approx(2.5)
    assert percentile([7.0], 95) == 7.0


def test_percentile_empty_and_bad_q() -> None:
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_mean() -> None:
    assert mean([1.0, 2.0, 4.0]) == pytest.approx(7 / 3)
    assert mean(x for x in [0.1] * 10) == pytest.approx(0.1)
    assert mean([]) is None


def test_normal_quantile_matches_scipy() -> None:
    from scipy.stats import norm

    for confidence in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        assert z_two_sided(confidence) == pytest.approx(norm.ppf(0.5 + confidence / 2), rel=1e-12)


def test_pass_at_k_by_hand() -> None:
    from evals.stats import pass_at_k, repeat_metrics

    # n=5 samples, c=2 passed: pass@1 = 2/5; pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_at_k(5, 0, 3) == 0.0 and pass_at_k(5, 3, 3) == 1.0
    assert pass_at_k(2, 1, 3) is None  # fewer samples than k
    # three cases of 3 samples: [3/3, 0/3, 1/3]
    metrics = repeat_metrics([(3, 3), (3, 0), (3, 1)], k=3)
    assert metrics["pass_at_1"] == pytest.approx((1 + 0 + 1 / 3) / 3)
    assert metrics["pass_at_k"] == pytest.approx((1 + 0 + 1) / 3)
    assert metrics["consistency"] == pytest.approx(2 / 3)


def test_clustered_interval_by_hand() -> None:
    # 4 cases x 3 repeats, two always pass, two always fail: N = 12, p = 0.5.
    # residuals (3 - 1.5)^2 x 4 = 9; clustered var = 4/3 * 9 / 144 = 1/12;
    # iid var = 0.25 / 12 = 1/48; design effect 4, so n_eff = 12 / 4 = 3, and Wilson
    # at p = 0.5, n = 3:
    # centre 0.5, half = z * sqrt(0.25/3 + z^2/36) / (1 + z^2/3).
    z = 1.959963984540054
    half = z * (0.25 / 3 + z * z / 36) ** 0.5 / (1 + z * z / 3)
    low, high = clustered_interval([(3, 3), (3, 0), (3, 3), (3, 0)])
    assert low == pytest.approx(0.5 - half, abs=1e-12)
    assert high == pytest.approx(0.5 + half, abs=1e-12)
    # never narrower than treating the 12 samples as independent
    iid_low, iid_high = wilson_interval(6, 12)
    assert low < iid_low and high > iid_high


def test_clustered_interval_edges() -> None:
    assert clustered_interval([]) == (None, None)
    # all pass: each case counts once, Wilson 4/4 rather than 12/12
    assert clustered_interval([(3, 3)] * 4) == wilson_interval(4, 4)
    # no spread between cases: the interval of 20 independent samples
    low, high = clustered_interval([(2, 1)] * 10)  # every case half: no between-case spread
    assert (low, high) == pytest.approx(wilson_interval(10, 20))


def test_clustered_interval_covers_when_case_difficulty_varies() -> None:
    # Cases drawn from a population of difficulties (Beta(0.5, 0.5): many easy and
    # many hard cases), 5 repeats each. The target is the population pass rate, 0.5.
    rng = random.Random(7)
    trials, cases, repeats = 1000, 40, 5
    covered_clustered = covered_pooled = 0
    for _ in range(trials):
        per_case = []
        for _ in range(cases):
            q = rng.betavariate(0.5, 0.5)
            per_case.append((repeats, sum(rng.random() < q for _ in range(repeats))))
        low, high = clustered_interval(per_case)
        covered_clustered += low <= 0.5 <= high
        low, high = wilson_interval(sum(y for _, y in per_case), cases * repeats)
        covered_pooled += low <= 0.5 <= high
    assert 0.92 <= covered_clustered / trials <= 0.98
    assert covered_pooled / trials < 0.8  # pooling repeats as independent under-covers


def test_pass_at_k_and_pass_at_1_share_their_cases() -> None:
    # case A 0/3; case B 2/2 plus one error (so 2 error-free samples): only A has
    # the 3 samples pass@3 needs, so both are over A alone.
    metrics = repeat_metrics([(3, 0), (2, 2)], 3)
    assert metrics["pass_at_1"] == 0.0 and metrics["pass_at_k"] == 0.0
    assert metrics["pass_at_k_cases"] == 1 and metrics["cases_short"] == 1
    # with every case complete, pass@k >= pass@1
    metrics = repeat_metrics([(3, 1), (3, 0), (3, 3)], 3)
    assert metrics["pass_at_1"] == pytest.approx((1 / 3 + 0 + 1) / 3)
    assert metrics["pass_at_k"] == pytest.approx(2 / 3)
    assert metrics["consistency"] == pytest.approx(2 / 3)


# --- distributions (no scipy at run time; scipy here as the cross-check) ---


def test_t_quantile_matches_printed_tables_and_scipy() -> None:
    from scipy.stats import t

    # Printed two-sided t tables (e.g. Fisher & Yates, Table III; any statistics
    # textbook's appendix): t_{.975,1} = 12.706, t_{.975,9} = 2.262, t_{.975,30} = 2.042,
    # t_{.995,30} = 2.750, t_{.95,120} = 1.658.
    assert round(t_two_sided(0.95, 1), 3) == 12.706
    assert round(t_two_sided(0.95, 9), 3) == 2.262
    assert round(t_two_sided(0.95, 30), 3) == 2.042
    assert round(t_two_sided(0.99, 30), 3) == 2.750
    assert round(t_two_sided(0.90, 120), 3) == 1.658
    for df in (1, 2, 3, 5, 9, 10, 29, 30, 99, 500, 999, 1000, 5000, 10**6, 2.5):
        for confidence in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
            expected = t.ppf(0.5 + confidence / 2, df)
            assert t_two_sided(confidence, df) == pytest.approx(expected, rel=1e-11)


def test_t_tail_and_binomial_cdf_match_scipy() -> None:
    from scipy.stats import binom, t

    for df in (1, 4, 30, 500):
        for value in (0.0, 0.5, 2.0, 8.0):
            assert t_upper_tail(value, df) == pytest.approx(t.sf(value, df), rel=1e-11)
    for n in (1, 2, 7, 40, 333, 2000):
        for k in (-1, 0, 1, n // 3, n // 2, n):
            assert binomial_half_cdf(k, n) == pytest.approx(binom.cdf(k, n, 0.5), rel=1e-11)


def test_importing_stats_loads_neither_numpy_nor_scipy() -> None:
    code = (
        "import sys, evals.stats as s;"
        "s.t_interval([1.0, 2.0, 4.0]); s.mcnemar_exact(3, 9); s.mde_paired(100, 0.2);"
        "s.clustered_mean_interval([1.0, 2.0, 3.0], ['a', 'a', None]);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "[]", out


# --- intervals of a mean score ---

# Student's (1908) sleep data (Cushny & Peebles): extra hours of sleep, drug 2 minus
# drug 1, for ten patients. R's `t.test(extra ~ group, data = sleep, paired = TRUE)`
# prints mean difference 1.58 (as group 1 - 2: -1.58) and the 95% interval
# -2.4598858 -0.7001142.
SLEEP = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]


def test_t_interval_matches_student_sleep_data() -> None:
    low, high = t_interval(SLEEP)
    assert low == pytest.approx(0.7001142, abs=5e-8)
    assert high == pytest.approx(2.4598858, abs=5e-8)
    # by hand: s = 1.229995, t_{.975,9} = 2.262157, half = t * s / sqrt(10)
    half = 2.2621571627982 * 1.2299954832798 / math.sqrt(10)
    assert (low, high) == pytest.approx((1.58 - half, 1.58 + half), abs=1e-9)


def test_t_interval_edges() -> None:
    assert t_interval([]) == (None, None)
    assert t_interval([0.7]) == (None, None)
    assert t_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)
    low90, _ = t_interval(SLEEP, confidence=0.90)
    assert low90 > t_interval(SLEEP)[0]
    with pytest.raises(ValueError):
        t_interval(SLEEP, confidence=1.5)


def test_bootstrap_interval_by_hand_and_seeded() -> None:
    # Two values 0 and 1: a resample's mean is 0, 0.5 or 1 with chance 1/4, 1/2, 1/4,
    # so the 2.5% and 97.5% points of 2,000 resamples are 0 and 1.
    assert bootstrap_interval([0.0, 1.0]) == (0.0, 1.0)
    assert bootstrap_interval([0.3] * 5) == pytest.approx((0.3, 0.3))
    assert bootstrap_interval([]) == (None, None)
    assert bootstrap_interval([1.0]) == (None, None)
    assert bootstrap_interval(SLEEP, seed=3) == bootstrap_interval(SLEEP, seed=3)
    assert bootstrap_interval(SLEEP, seed=3) != bootstrap_interval(SLEEP, seed=4)
    with pytest.raises(ValueError):
        bootstrap_interval(SLEEP, resamples=0)


def test_bootstrap_interval_approaches_the_normal_one() -> None:
    # For a mean of many values the bootstrap distribution is about normal with
    # sd = sigma_hat / sqrt(n) (sigma_hat dividing by n; Efron & Tibshirani 1993, 5.2).
    values = [float((7 * i) % 11) for i in range(600)]
    centre = sum(values) / len(values)
    sd = math.sqrt(sum((x - centre) ** 2 for x in values) / len(values)) / math.sqrt(600)
    low, high = bootstrap_interval(values, resamples=20000, seed=1)
    assert low == pytest.approx(centre - Z95 * sd, abs=0.05 * Z95 * sd)
    assert high == pytest.approx(centre + Z95 * sd, abs=0.05 * Z95 * sd)


def test_clustered_mean_interval_by_hand() -> None:
    # N = 6, mean 4; cluster residual sums: p (1-4)+(3-4) = -4, q (2-4)+(4-4) = -2,
    # and the two unclustered values 9 -> 5 and 5 -> 1 as clusters of one: C = 4.
    # CR1 var = 4/3 * (16 + 4 + 25 + 1) / 36; t with C - 1 = 3 df (t_{.975,3} = 3.182).
    values = [1.0, 3.0, 2.0, 4.0, 9.0, 5.0]
    se = math.sqrt(4 / 3 * 46 / 36)
    low, high = clustered_mean_interval(values, ["p", "p", "q", "q", None, None])
    assert (low, high) == pytest.approx((4 - 3.182446305284 * se, 4 + 3.182446305284 * se))
    # every sample its own cluster: CR1 is s^2 / N exactly, so this is the t interval
    assert clustered_mean_interval(SLEEP, [None] * 10) == pytest.approx(t_interval(SLEEP))
    assert clustered_mean_interval([1.0, 2.0], ["a", "a"]) == (None, None)  # one cluster
    assert clustered_mean_interval([], []) == (None, None)
    with pytest.raises(ValueError):
        clustered_mean_interval([1.0, 2.0], ["a"])


def test_clustered_rate_interval_by_hand() -> None:
    # The clustered_interval example above as per-sample outcomes: 4 clusters of 3,
    # two always pass, two always fail -> Wilson at p = 0.5, n_eff = 3.
    passed = [True] * 3 + [False] * 3 + [True] * 3 + [False] * 3
    clusters = [name for name in "abcd" for _ in range(3)]
    half = Z95 * (0.25 / 3 + Z95 * Z95 / 36) ** 0.5 / (1 + Z95 * Z95 / 3)
    assert clustered_rate_interval(passed, clusters) == pytest.approx((0.5 - half, 0.5 + half))
    # no shared cluster: nothing to account for, the plain Wilson interval
    assert clustered_rate_interval(passed, [None] * 12) == wilson_interval(6, 12)
    assert clustered_rate_interval([], []) == (None, None)


# --- variance components of repeats ---


def test_variance_components_match_montgomery_looms() -> None:
    # Montgomery, "Design and Analysis of Experiments", the random-effects example
    # of four looms x four strength measurements: MS_treatments = 29.73, MS_E = 1.90,
    # sigma^2 = 1.90 and sigma^2_tau = (29.73 - 1.90) / 4 = 6.96.
    looms = [[98, 97, 99, 96], [91, 90, 93, 92], [96, 95, 97, 95], [95, 96, 99, 98]]
    parts = variance_components(looms)
    assert round(parts.within_var, 2) == 1.90 and round(parts.between_var, 2) == 6.96
    # exactly: SSE = 22.75 on 12 df; SS_treatments = 89.1875 on 3 df
    assert parts.within_var == pytest.approx(22.75 / 12)
    assert parts.between_var == pytest.approx((89.1875 / 3 - 22.75 / 12) / 4)
    assert (parts.cases, parts.mean_repeats) == (4, 4.0)
    # loom means 97.5, 91.5, 95.75, 97: their variance 22.296875 / 3, over 4 looms
    assert parts.se_of_mean == pytest.approx(math.sqrt(22.296875 / 3 / 4))
    # balanced design: projected_se at the observed design equals se_of_mean
    assert projected_se(parts, 4, 4) == pytest.approx(parts.se_of_mean)
    # twice the cases beats twice the repeats: 6.958/8 + 1.896/32 vs 6.958/4 + 1.896/32
    assert projected_se(parts, 8, 4) == pytest.approx(math.sqrt(6.958333 / 8 + 1.895833 / 32))
    assert projected_se(parts, 4, 8) == pytest.approx(math.sqrt(6.958333 / 4 + 1.895833 / 32))


def test_variance_components_unbalanced_by_hand() -> None:
    # sizes 3, 2, 1 (N = 6, k = 3); means 2, 5, 5; grand mean 21/6 = 3.5.
    # SSW = 2 + 2 + 0 = 4 on 3 df; SSB = 3*2.25 + 2*2.25 + 2.25 = 13.5 on 2 df;
    # n0 = (6 - 14/6) / 2 = 11/6; between = (6.75 - 4/3) / (11/6) = 65/22.
    parts = variance_components([[1, 2, 3], [4, 6], [5], []])
    assert parts.within_var == pytest.approx(4 / 3)
    assert parts.between_var == pytest.approx(65 / 22)
    assert (parts.cases, parts.mean_repeats) == (3, 2.0)
    assert parts.se_of_mean == pytest.approx(math.sqrt(3 / 3))  # means 2, 5, 5: var 3


def test_variance_components_edges() -> None:
    # no between-case spread: MSB = 0 < MSW, clipped at 0
    parts = variance_components([[0, 1], [1, 0], [0, 1]])
    assert parts.between_var == 0.0 and parts.within_var == pytest.approx(0.5)
    assert variance_components([]) == variance_components([[]])
    assert variance_components([]).cases == 0
    one_case = variance_components([[1.0, 2.0]])
    assert one_case.within_var == pytest.approx(0.5) and one_case.between_var is None
    assert one_case.se_of_mean is None
    no_repeats = variance_components([[1.0], [2.0], [3.0]])
    assert no_repeats.within_var is None and no_repeats.between_var is None
    assert no_repeats.se_of_mean == pytest.approx(math.sqrt(1 / 3))
    for parts in (one_case, no_repeats):
        with pytest.raises(ValueError):
            projected_se(parts, 10, 2)
    with pytest.raises(ValueError):
        projected_se(variance_components([[1, 2], [3, 5]]), 0, 2)


def test_t_interval_from_moments_matches_scipy() -> None:
    from scipy import stats as sp

    from evals.stats import t_interval_from_moments

    values = [0.2, 0.5, 0.75, 1.0, 0.0, 0.5, 0.25]
    n, m = len(values), sum(values) / len(values)
    low, high = t_interval_from_moments(n, m, sum(v * v for v in values))
    expected = sp.t.interval(0.95, n - 1, loc=m, scale=sp.sem(values))
    assert (low, high) == pytest.approx(expected, rel=1e-9)
    assert t_interval_from_moments(1, 0.5, 0.25) == (None, None)
