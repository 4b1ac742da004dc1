"""Power: Connor's (1987) sample size for McNemar's test, solved for the detectable
difference, the power and the cases needed; and the unpaired assumption. Each
against a published value or the formula written out by hand."""

from __future__ import annotations

import math

import pytest

from evals.stats import cases_needed, mde_paired, mde_unpaired, power_paired

Z_ALPHA = 1.959963984540054  # z_{0.975}
Z_POWER = 0.8416212335729143  # z_{0.80}


def _connor_n(delta: float, psi: float) -> float:
    """Connor (1987), Biometrics 43:207-211, eq. (3), written out here independently."""
    return (Z_ALPHA * math.sqrt(psi) + Z_POWER * math.sqrt(psi - delta**2)) ** 2 / delta**2


def test_cases_needed_matches_published_example() -> None:
    # powerandsamplesize.com, "Compare Paired Proportions: McNemar's Z-test, 2-Sided"
    # (after Connor 1987, p. 209): p01 = 0.45, p10 = 0.05, alpha 0.05, power 0.80 -> 23.
    assert cases_needed(0.05 - 0.45, 0.05 + 0.45) == 23
    # by hand: (1.959964 * sqrt(0.5) + 0.841621 * sqrt(0.5 - 0.16))^2 / 0.16 = 22.01
    assert _connor_n(0.4, 0.5) == pytest.approx(22.01, abs=0.005)


def test_cases_needed_by_hand() -> None:
    # (1.959964 * sqrt(0.3) + 0.841621 * sqrt(0.29))^2 / 0.01 = 1.526742^2 / 0.01 = 233.09
    assert cases_needed(0.10, 0.30) == 234
    assert cases_needed(-0.10, 0.30) == 234  # the sign of the difference does not matter
    # every discordant pair one way (|diff| = psi = 0.2):
    # (1.959964 * 0.447214 + 0.841621 * 0.4)^2 / 0.04 = 36.8
    assert cases_needed(0.2, 0.2) == 37
    # at 90% power, z_{0.9} = 1.281552
    n90 = (Z_ALPHA * math.sqrt(0.3) + 1.2815515655446004 * math.sqrt(0.29)) ** 2 / 0.01
    assert cases_needed(0.10, 0.30, power=0.9) == math.ceil(n90)


def test_cases_needed_edges() -> None:
    assert cases_needed(0.0, 0.3) is None  # nothing to detect
    assert cases_needed(0.0, 0.0) is None  # no pair disagrees
    with pytest.raises(ValueError):
        cases_needed(0.3, 0.2)  # |diff| > discordance: no paired data shows that
    with pytest.raises(ValueError):
        cases_needed(0.1, 0.3, alpha=0.0)
    with pytest.raises(ValueError):
        cases_needed(0.1, 0.3, power=1.0)


def test_mde_paired_inverts_connor() -> None:
    for n, psi in [(400, 0.3), (100, 0.2), (23, 0.5), (2000, 0.05)]:
        delta = mde_paired(n, psi)
        assert delta is not None and 0 < delta <= psi
        assert _connor_n(delta, psi) == pytest.approx(n, rel=1e-9)
    # 400 cases at 30% discordance: 7.6 points (by the formula: n(0.0765) = 400)
    assert mde_paired(400, 0.3) == pytest.approx(0.07650, abs=5e-5)
    # the published example backwards: 22.01 pairs at psi 0.5 detect 0.40
    assert mde_paired(23, 0.5) < 0.4 < mde_paired(22, 0.5)
    # more discordance needs a larger difference; more cases a smaller one
    assert mde_paired(400, 0.2) < mde_paired(400, 0.3) < mde_paired(400, 0.4)
    assert mde_paired(1600, 0.3) < mde_paired(400, 0.3)


def test_mde_paired_edges() -> None:
    assert mde_paired(0, 0.3) is None
    assert mde_paired(100, 0.0) is None
    assert mde_paired(3, 0.5) is None  # n <= z^2: not even delta -> 0 pays off
    # 10 pairs at 10% discordance would need |diff| = 0.25 > 0.10: impossible
    assert mde_paired(10, 0.1) is None
    with pytest.raises(ValueError):
        mde_paired(100, 1.5)
    with pytest.raises(ValueError):
        mde_paired(-1, 0.3)


def test_power_paired_by_hand() -> None:
    from scipy.stats import norm

    # Phi((sqrt(400) * 0.1 - 1.959964 * sqrt(0.3)) / sqrt(0.29)) = Phi(1.720437) = 0.9573
    expected = norm.cdf((20 * 0.1 - Z_ALPHA * math.sqrt(0.3)) / math.sqrt(0.29))
    assert power_paired(400, 0.1, 0.3) == pytest.approx(expected, rel=1e-12)
    assert round(power_paired(400, 0.1, 0.3), 4) == 0.9573
    assert power_paired(400, -0.1, 0.3) == power_paired(400, 0.1, 0.3)
    # at the minimum detectable difference the power is the one asked for
    assert power_paired(400, mde_paired(400, 0.3), 0.3) == pytest.approx(0.8, abs=1e-9)
    assert power_paired(0, 0.1, 0.3) is None and power_paired(50, 0.0, 0.0) is None
    assert power_paired(10, 1.0, 1.0) == 1.0  # every pair flips one way: no variance
    with pytest.raises(ValueError):
        power_paired(100, 0.4, 0.3)


def test_connor_approximation_against_the_exact_tests_power() -> None:
    """What the normal approximation costs: the exact power of the exact McNemar test
    (summed over the binomial number of discordant pairs) is a little below Connor's
    figure, since the exact conditional test is conservative."""
    import numpy as np
    from scipy.stats import binom

    def exact_power(n: int, delta: float, psi: float) -> float:
        share = (psi + delta) / 2 / psi  # P(a discordant pair goes the way of delta)
        total = 0.0
        for m in range(1, n + 1):
            k = np.arange(m + 1)
            p_values = np.minimum(1.0, 2 * binom.cdf(np.minimum(k, m - k), m, 0.5))
            reject = binom.pmf(k, m, share)[p_values < 0.05].sum()
            total += binom.pmf(m, n, psi) * reject
        return float(total)

    assert exact_power(400, 0.10, 0.30) == pytest.approx(power_paired(400, 0.10, 0.30), abs=0.02)
    at_mde = exact_power(400, mde_paired(400, 0.30), 0.30)
    assert 0.75 < at_mde < 0.80  # Connor's 0.80 is 2-4 points optimistic here


def test_mde_unpaired_by_hand() -> None:
    # (1.959964 + 0.841621) * sqrt(2 * 0.25 / 100) = 2.801585 * 0.070711 = 0.19810
    assert mde_unpaired(100) == pytest.approx((Z_ALPHA + Z_POWER) * math.sqrt(0.005), rel=1e-12)
    assert round(mde_unpaired(100), 4) == 0.1981
    # the classic per-group n for 50% vs 60%: (z_a + z_b)^2 * 2 p q / delta^2 = 392.4
    assert mde_unpaired(393) < 0.10 < mde_unpaired(392)
    assert mde_unpaired(100, p=0.9) == pytest.approx(
        (Z_ALPHA + Z_POWER) * math.sqrt(2 * 0.09 / 100), rel=1e-12
    )
    assert mde_unpaired(0) is None
    assert mde_unpaired(100, p=1.0) is None and mde_unpaired(100, p=0.0) is None
    with pytest.raises(ValueError):
        mde_unpaired(100, p=1.2)
