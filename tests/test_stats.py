"""Stats: Wilson interval against the closed formula, percentiles, means."""

from __future__ import annotations

import math
import random

import pytest

from evals.stats import clustered_interval, mean, percentile, repeat_metrics, wilson_interval

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

    from evals.stats import _z

    for confidence in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        assert _z(confidence) == pytest.approx(norm.ppf(0.5 + confidence / 2), rel=1e-12)


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
