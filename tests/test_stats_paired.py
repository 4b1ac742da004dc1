"""Paired comparisons: McNemar's exact test, the paired interval, the sign-flip
permutation test, clustered pairs and Holm's adjustment, each against a published
example or a hand computation (scipy as a cross-check)."""

from __future__ import annotations

import itertools
import math

import pytest

from evals.stats import Paired, holm, mcnemar_exact, paired_comparison

Z95 = 1.959963984540054


def _pairs(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[float], list[float]]:
    a = [1.0] * both + [1.0] * only_a + [0.0] * only_b + [0.0] * neither
    b = [1.0] * both + [0.0] * only_a + [1.0] * only_b + [0.0] * neither
    return a, b


def test_mcnemar_exact_published_examples() -> None:
    # Fagerland, Lydersen & Laake (2013), BMC Med Res Methodol 13:91, Table 1 (Bentur
    # et al.: airway hyper-responsiveness before/after stem cell transplantation),
    # discordant 1 and 7: exact conditional p = 0.070. By hand 2 * (1 + 8) / 2^8.
    assert mcnemar_exact(1, 7) == 2 * 9 / 256
    assert round(mcnemar_exact(7, 1), 3) == 0.070
    # Armitage & Berry (1994, p. 127), two media for culturing M. tuberculosis,
    # discordant 12 and 2: exact two-sided P = 0.0129 (as printed by StatsDirect).
    # By hand 2 * (C(14,0) + C(14,1) + C(14,2)) / 2^14 = 2 * 106 / 16384.
    assert mcnemar_exact(12, 2) == 2 * 106 / 16384
    assert round(mcnemar_exact(12, 2), 4) == 0.0129


def test_mcnemar_exact_edges_by_hand() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(4, 4) == 1.0  # the doubled tail passes 1: capped
    assert mcnemar_exact(0, 5) == 2 / 32
    assert mcnemar_exact(0, 1) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


def test_mcnemar_exact_matches_scipy_binomtest() -> None:
    import numpy as np
    from scipy.stats import binomtest

    for b, c in [(0, 3), (2, 9), (10, 10), (11, 10), (40, 61), (150, 86), (900, 1010)]:
        expected = binomtest(min(b, c), b + c, 0.5).pvalue
        assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-10)
    # numpy integers (from a simulation) give the same exact sum, without overflow
    assert mcnemar_exact(np.int64(150), np.int64(86)) == mcnemar_exact(150, 86)


def test_paired_binary_matches_agresti_approval_example() -> None:
    # Agresti, "An Introduction to Categorical Data Analysis" (2nd ed., 2007), 8.1,
    # Table 8.1: approval of the Prime Minister in two surveys of the same 1,600 people,
    # 794 approve both times, 150 first only, 86 second only, 570 neither. Agresti:
    # difference 0.59 - 0.55 = 0.04, SE 0.0095, 95% CI (0.021, 0.059).
    a, b = _pairs(794, 150, 86, 570)
    result = paired_comparison(a, b, binary=True)
    assert result.n == 1600 and result.discordant == 236
    assert result.diff == pytest.approx(0.04)
    # sd(d) / sqrt(n) by hand: sum d^2 = 236, so s^2 = (236 - 1600 * 0.04^2) / 1599;
    # Agresti's MLE form sqrt(((b + c)/n - diff^2) / n) differs by sqrt(1600/1599).
    se = math.sqrt((236 - 1600 * 0.04**2) / 1599 / 1600)
    agresti_se = math.sqrt((236 / 1600 - 0.04**2) / 1600)
    assert round(agresti_se, 4) == 0.0095
    assert se == pytest.approx(agresti_se * math.sqrt(1600 / 1599))
    assert result.ci_low == pytest.approx(0.04 - Z95 * se)
    assert result.ci_high == pytest.approx(0.04 + Z95 * se)
    assert (round(result.ci_low, 3), round(result.ci_high, 3)) == (0.021, 0.059)
    assert result.test == "mcnemar-exact" and result.clustered is False
    assert result.p_value == mcnemar_exact(150, 86)


def test_paired_binary_small_by_hand() -> None:
    # d = [1, 0, 0, 1]: diff 0.5, s^2 = (2 - 4 * 0.25) / 3 = 1/3, SE = sqrt(1/12);
    # the upper limit 0.5 + 1.96 * 0.2887 = 1.066 is clipped to 1.
    result = paired_comparison([1, 1, 0, 1], [0, 1, 0, 0], binary=True)
    assert result.diff == 0.5 and result.discordant == 2
    assert result.ci_low == pytest.approx(0.5 - Z95 * math.sqrt(1 / 12))
    assert result.ci_high == 1.0
    assert result.p_value == 0.5  # McNemar 2 vs 0: 2 * 1/4
    # one pair: no spread, no interval; McNemar on one discordant pair is 1
    single = paired_comparison([1.0], [0.0], binary=True)
    assert (single.ci_low, single.ci_high, single.p_value) == (None, None, 1.0)


def test_paired_binary_clustered_by_hand() -> None:
    # Four clusters (cases) of two repeats with d = [1, 1], [0, 1], [0, 0], [-1, 0]:
    # N = 8, diff = 2/8; residual sums 2 - 0.5, 1 - 0.5, 0 - 0.5, -1 - 0.5;
    # CR1 var = 4/3 * (2.25 + 0.25 + 0.25 + 2.25) / 64; z = diff / SE.
    a = [1, 1, 1, 1, 0, 0, 0, 1]
    b = [0, 0, 1, 0, 0, 0, 1, 1]
    clusters = ["c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4"]
    result = paired_comparison(a, b, binary=True, clusters=clusters)
    se = math.sqrt(4 / 3 * 5 / 64)
    assert result.diff == 0.25 and result.discordant == 4
    assert (result.ci_low, result.ci_high) == pytest.approx((0.25 - Z95 * se, 0.25 + Z95 * se))
    assert result.p_value == pytest.approx(math.erfc(0.25 / se / math.sqrt(2)))
    from scipy.stats import norm

    assert result.p_value == pytest.approx(2 * norm.sf(0.25 / se), rel=1e-12)
    assert result.test == "clustered-z" and result.clustered is True
    # labels all None: nothing is clustered
    plain = paired_comparison(a, b, binary=True, clusters=[None] * 8)
    assert plain == paired_comparison(a, b, binary=True)
    assert plain.test == "mcnemar-exact" and plain.clustered is False


def test_paired_binary_clustered_degenerate() -> None:
    # every cluster has the same mean difference: CR1 SE 0, so the z test says
    # nothing; McNemar's exact p (2 vs 0: 0.5) stands in
    result = paired_comparison([1, 0, 1, 0], [0, 0, 0, 0], binary=True, clusters="aabb")
    assert result.ci_low == result.ci_high == 0.5
    assert (result.p_value, result.test, result.clustered) == (0.5, "mcnemar-exact", True)
    # one cluster: no cluster-robust SE at all
    one = paired_comparison([1, 0, 1], [0, 0, 1], binary=True, clusters=["x"] * 3)
    assert (one.ci_low, one.p_value, one.test) == (None, None, "clustered-z")


def _exact_sign_flip_p(diffs: list[float]) -> float:
    observed = abs(sum(diffs))
    flips = list(itertools.product((1, -1), repeat=len(diffs)))
    hits = sum(
        abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-9
        for signs in flips
    )
    return hits / len(flips)


def test_paired_scores_permutation_against_full_enumeration() -> None:
    # Student's sleep data (drug 2 minus drug 1): all 2^10 sign flips by brute force
    # give p = 4/1024 (the zero difference makes flips come in pairs).
    sleep = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]
    exact = _exact_sign_flip_p(sleep)
    assert exact == 4 / 1024
    result = paired_comparison(sleep, [0.0] * 10, binary=False, resamples=20000, seed=5)
    # Monte Carlo with add-one smoothing: within 4 standard errors of the exact p
    assert abs(result.p_value - exact) < 4 * math.sqrt(exact * (1 - exact) / 20000) + 1 / 20001
    assert result.test == "paired-permutation" and result.discordant is None
    assert result.diff == pytest.approx(1.58)
    assert result.ci_low < 1.58 < result.ci_high
    # seeded: the same call gives the same answer
    again = paired_comparison(sleep, [0.0] * 10, binary=False, resamples=20000, seed=5)
    assert again == result


def test_paired_scores_edges_by_hand() -> None:
    # no difference at all: every flip ties the observed 0, p = 1; interval (0, 0)
    same = paired_comparison([0.2, 0.9, 0.4], [0.2, 0.9, 0.4], binary=False)
    assert same.p_value == 1.0 and (same.ci_low, same.ci_high) == (0.0, 0.0)
    # ten equal differences: only the two all-same-sign flips reach |sum| = 5, p = 2/1024
    equal = paired_comparison([0.5] * 10, [0.0] * 10, binary=False, resamples=40000)
    assert equal.p_value == pytest.approx(2 / 1024, abs=4 * math.sqrt(2 / 1024 / 40000))
    assert (equal.ci_low, equal.ci_high) == pytest.approx((0.5, 0.5))


def test_paired_scores_clustered_flip_whole_clusters() -> None:
    # Two clusters with difference sums 3 and 1 (observed |sum| 4): flipping whole
    # clusters gives |+-3 +-1| = 4, 2, 2, 4, so the exact p is 1/2.
    a = [1.0, 1.0, 1.0, 1.0]
    b = [0.0, 0.0, 0.0, 0.0]
    clusters = ["x", "x", "x", "y"]
    result = paired_comparison(a, b, binary=False, clusters=clusters, resamples=20000)
    assert result.p_value == pytest.approx(0.5, abs=0.02)
    assert result.clustered is True and result.test == "paired-permutation"
    # unclustered, all four differences are 1: only 2 of 16 flips reach |sum| = 4
    plain = paired_comparison(a, b, binary=False, resamples=20000)
    assert plain.p_value == pytest.approx(2 / 16, abs=0.01) and plain.clustered is False


def test_paired_no_pairs_and_bad_input() -> None:
    empty = paired_comparison([], [], binary=True)
    assert empty == Paired(0, None, None, None, None, "mcnemar-exact", None, False)
    assert paired_comparison([], [], binary=False).test == "paired-permutation"
    with pytest.raises(ValueError):
        paired_comparison([1.0], [1.0, 0.0], binary=True)
    with pytest.raises(ValueError):
        paired_comparison([0.5], [1.0], binary=True)
    with pytest.raises(ValueError):
        paired_comparison([1.0], [1.0], binary=True, clusters=["a", "b"])


def test_holm_matches_the_textbook_example() -> None:
    # The Holm-Bonferroni example of four hypotheses with p = 0.01, 0.04, 0.03, 0.005
    # (Wikipedia, "Holm-Bonferroni method"): at alpha 0.05 only H4 and H1 are rejected.
    # By hand, sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04,
    # and the running maximum makes the last 0.06.
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert [p < 0.05 for p in adjusted] == [True, False, False, True]


def test_holm_nones_caps_and_ties() -> None:
    # None is no test: m = 2 here, so 0.01 * 2 and max(0.04, 0.02)
    assert holm([None, 0.01, None, 0.04]) == pytest.approx([None, 0.02, None, 0.04])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # 0.5 * 2 = 1, capped; monotone after
    assert holm([0.02, 0.02, 0.02]) == pytest.approx([0.06, 0.06, 0.06])
    assert holm([]) == [] and holm([None]) == [None]
    assert holm([0.3]) == [0.3]
    with pytest.raises(ValueError):
        holm([1.2])
