"""Acceptance by simulation (issue 7): simulated outcomes of models whose true accuracy
is known, no HTTP. Over hundreds of simulated suites the 95% intervals cover the truth
93-97% of the time, an A/A comparison is flagged at most alpha of the time (plus
binomial slack), and a designed 10-point drop on 400 cases is detected at least at the
power the tool predicts (minus binomial slack). Seeded, so deterministic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.stats import (
    bootstrap_interval,
    cases_needed,
    clustered_interval,
    clustered_mean_interval,
    clustered_rate_interval,
    holm,
    mde_paired,
    paired_comparison,
    power_paired,
    t_interval,
    wilson_interval,
)

ALPHA = 0.05


def _slack(rate: float, trials: int) -> float:
    """Three binomial standard errors of a rate estimated from `trials` simulations."""
    return 3 * math.sqrt(rate * (1 - rate) / trials)


def _covered(interval: tuple, truth: float) -> bool:
    low, high = interval
    return low is not None and low <= truth <= high


# --- (1) coverage ---


@pytest.mark.parametrize("accuracy", [0.5, 0.6, 0.75, 0.87])
def test_wilson_covers_the_true_accuracy(accuracy: float) -> None:
    rng = np.random.default_rng(11)
    suites = 4000
    passed = rng.binomial(100, accuracy, size=suites)
    coverage = np.mean([_covered(wilson_interval(int(k), 100), accuracy) for k in passed])
    assert 0.93 <= coverage <= 0.97


def test_wilson_exact_coverage_stays_in_band() -> None:
    """Wilson's coverage oscillates with the true rate (Brown, Cai & DasGupta 2001,
    Statistical Science 16:101): computed exactly, not simulated, for 100 cases and
    every true accuracy from 0.10 to 0.90 it stays within 93-97%."""
    from scipy.stats import binom

    intervals = [wilson_interval(k, 100) for k in range(101)]
    for percent in range(10, 91):
        truth = percent / 100
        coverage = sum(
            binom.pmf(k, 100, truth) for k, iv in enumerate(intervals) if _covered(iv, truth)
        )
        assert 0.93 <= coverage <= 0.97, (truth, coverage)


@pytest.mark.parametrize(("a", "b"), [(2.0, 1.0), (0.5, 0.5)])
def test_clustered_interval_covers_with_repeats_and_varying_difficulty(a: float, b: float) -> None:
    # 100 cases x 5 repeats; each case's pass probability drawn from Beta(a, b), so the
    # truth is the population pass rate a / (a + b) and repeats of a case are correlated.
    rng = np.random.default_rng(12)
    suites, cases, repeats = 3000, 100, 5
    truth = a / (a + b)
    covered = pooled = 0
    for _ in range(suites):
        passes = rng.binomial(repeats, rng.beta(a, b, size=cases))
        covered += _covered(clustered_interval([(repeats, int(y)) for y in passes]), truth)
        pooled += _covered(wilson_interval(int(passes.sum()), cases * repeats), truth)
    assert 0.93 <= covered / suites <= 0.97
    assert pooled / suites < 0.90  # treating repeats as independent under-covers


def test_clustered_rate_interval_covers_questions_sharing_a_passage() -> None:
    # 25 passages x 4 questions, one sample each; a passage's difficulty is shared by
    # its questions (logit-normal, sd 1.5), so the truth is the mean over passages.
    rng = np.random.default_rng(13)
    suites, passages = 3000, 25
    clusters = [f"passage-{i // 4}" for i in range(passages * 4)]
    population = 1 / (1 + np.exp(-(0.8 + 1.5 * rng.standard_normal(1_000_000))))
    truth = float(population.mean())
    covered = 0
    for _ in range(suites):
        q = 1 / (1 + np.exp(-(0.8 + 1.5 * rng.standard_normal(passages))))
        outcomes = rng.random(passages * 4) < np.repeat(q, 4)
        covered += _covered(clustered_rate_interval(outcomes.tolist(), clusters), truth)
    assert 0.93 <= covered / suites <= 0.97


def test_t_interval_covers_a_mean_score() -> None:
    # partial-credit scores on 100 cases from Beta(2, 5): skewed, true mean 2/7
    rng = np.random.default_rng(14)
    suites = 2000
    covered = sum(
        _covered(t_interval(rng.beta(2, 5, size=100).tolist()), 2 / 7) for _ in range(suites)
    )
    assert 0.93 <= covered / suites <= 0.97


def test_clustered_mean_interval_covers_with_shared_passages() -> None:
    # 20 passages x 5 questions: score = 0.6 + passage effect (sd 0.15) + noise (sd 0.2)
    rng = np.random.default_rng(15)
    suites = 3000
    clusters = [f"p{i // 5}" for i in range(100)]
    covered = naive = 0
    for _ in range(suites):
        scores = 0.6 + np.repeat(rng.normal(0, 0.15, 20), 5) + rng.normal(0, 0.2, 100)
        covered += _covered(clustered_mean_interval(scores.tolist(), clusters), 0.6)
        naive += _covered(t_interval(scores.tolist()), 0.6)
    assert 0.93 <= covered / suites <= 0.97
    assert naive / suites < 0.90  # ignoring the passages under-covers


def test_bootstrap_interval_covers_a_mean_score() -> None:
    rng = np.random.default_rng(16)
    suites = 300
    covered = sum(
        _covered(bootstrap_interval(rng.beta(2, 5, size=100).tolist(), seed=i), 2 / 7)
        for i in range(suites)
    )
    # the percentile bootstrap runs a little short at n = 100; 300 suites, so wider slack
    assert 0.95 - _slack(0.95, suites) <= covered / suites <= 0.97


# --- (2) A/A: equal accuracy is flagged at most alpha of the time ---


def _independent(rng: np.random.Generator) -> np.ndarray:
    """Two models of accuracy 0.7 answering the same 100 cases independently."""
    return (rng.random((2, 100)) < 0.7).astype(float)


def _shared_difficulty(rng: np.random.Generator) -> np.ndarray:
    """Equal models whose answers correlate through case difficulty, Beta(2, 1)."""
    return (rng.random((2, 100)) < rng.beta(2, 1, size=100)).astype(float)


def _repeated(rng: np.random.Generator) -> np.ndarray:
    """100 cases x 3 repeats, case difficulty Beta(2, 1)."""
    return (rng.random((2, 300)) < np.repeat(rng.beta(2, 1, size=100), 3)).astype(float)


def _scores(rng: np.random.Generator) -> np.ndarray:
    """Partial-credit scores: a case's quality Beta(2, 2) plus each model's noise."""
    return np.clip(rng.beta(2, 2, size=100) + rng.normal(0, 0.2, (2, 100)), 0, 1)


@pytest.mark.parametrize(
    ("draw", "binary", "clustered", "test", "suites", "seed"),
    [
        (_independent, True, False, "mcnemar-exact", 1000, 21),
        (_shared_difficulty, True, False, "mcnemar-exact", 1000, 22),
        (_repeated, True, True, "clustered-z", 2000, 23),
        (_scores, False, False, "paired-permutation", 400, 24),
    ],
)
def test_aa_is_flagged_at_most_alpha_of_the_time(
    draw, binary: bool, clustered: bool, test: str, suites: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    clusters = [f"case-{i // 3}" for i in range(300)] if clustered else None
    flagged = 0
    for _ in range(suites):
        a, b = draw(rng)
        result = paired_comparison(a.tolist(), b.tolist(), binary=binary, clusters=clusters)
        assert result.test == test
        flagged += result.p_value < ALPHA
    assert flagged / suites <= ALPHA + _slack(ALPHA, suites)


def test_aa_many_comparisons_holm_controls_the_family() -> None:
    # four equal models, all six pairs compared at once: with Holm, the chance that
    # any pair is flagged stays at alpha; unadjusted, it is well above
    rng = np.random.default_rng(25)
    suites = 500
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    family = unadjusted = 0
    for _ in range(suites):
        answers = (rng.random((4, 100)) < 0.7).astype(float).tolist()
        p_values = [
            paired_comparison(answers[i], answers[j], binary=True).p_value for i, j in pairs
        ]
        family += any(p < ALPHA for p in holm(p_values))
        unadjusted += any(p < ALPHA for p in p_values)
    assert family / suites <= ALPHA + _slack(ALPHA, suites)
    assert unadjusted / suites > family / suites


# --- (3) power: a designed 10-point drop on 400 cases ---


@pytest.mark.parametrize(
    # joint pass/fail shares (both, base only, new only, neither): base 0.80, new 0.70;
    # discordance 0.30 (phi 0.22) and 0.20 (phi 0.49): answers correlated, as real
    # models' are through case difficulty
    ("cells", "discordance"),
    [((0.60, 0.20, 0.10, 0.10), 0.30), ((0.65, 0.15, 0.05, 0.15), 0.20)],
)
def test_a_ten_point_drop_is_detected_at_the_predicted_power(
    cells: tuple[float, float, float, float], discordance: float
) -> None:
    rng = np.random.default_rng(31)
    suites, cases = 1000, 400
    predicted = power_paired(cases, 0.10, discordance)
    # the tool says 400 cases suffice for 80% power at this discordance
    assert cases_needed(0.10, discordance) <= cases
    assert mde_paired(cases, discordance) <= 0.10
    detected = covered = 0
    for _ in range(suites):
        kind = rng.choice(4, size=cases, p=cells)
        base = np.isin(kind, (0, 1)).astype(float).tolist()
        new = np.isin(kind, (0, 2)).astype(float).tolist()
        result = paired_comparison(new, base, binary=True)
        detected += result.p_value < ALPHA and result.diff < 0
        covered += _covered((result.ci_low, result.ci_high), -0.10)
    assert detected / suites >= predicted - _slack(predicted, suites)
    assert 0.95 - _slack(0.95, suites) <= covered / suites <= 0.95 + _slack(0.95, suites)
