"""Power of a paired pass/fail comparison: the smallest difference a number of
cases can detect, and the cases a difference needs.

Connor (1987), "Sample size for testing differences in proportions for the
paired-sample design", Biometrics 43:207-211: McNemar's test by the normal
approximation needs

    n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2

pairs, where psi = p10 + p01 is the discordant share and delta = p10 - p01 the
difference in pass rates. Always |delta| <= psi. All functions are two-sided.
"""

from __future__ import annotations

import math

from evals.stats.distributions import normal_cdf, normal_quantile

_TOLERANCE = 1e-12  # float noise allowed in |diff| <= discordance


def _quantiles(alpha: float, power: float) -> tuple[float, float]:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not 0.5 <= power < 1.0:
        raise ValueError(f"power must be in [0.5, 1), got {power}")
    return normal_quantile(1.0 - alpha / 2.0), normal_quantile(power)


def _check_discordance(discordance: float, diff: float = 0.0) -> None:
    if not 0.0 <= discordance <= 1.0:
        raise ValueError(f"discordance must be in [0, 1], got {discordance}")
    if abs(diff) > discordance + _TOLERANCE:
        raise ValueError(
            f"|diff| = {abs(diff)} exceeds the discordant share {discordance}: "
            "a difference in pass rates cannot exceed the share of pairs that disagree"
        )


def mde_paired(n: int, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Smallest |p10 - p01| that n pairs with discordant share `discordance`
    detect (two-sided McNemar at `alpha`, with `power`): Connor's formula solved
    for delta.

    With u = sqrt(psi - delta^2), the formula is a quadratic in u whose root in
    [0, sqrt(psi)] is u = (-A B + sqrt(n psi (n + B^2 - z^2))) / (n + B^2), A = z sqrt(psi),
    z = z_{1-alpha/2}, B = z_{power}. None when n == 0, discordance == 0, or no
    difference possible at that discordance (|delta| <= psi) is detectable.
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    _check_discordance(discordance)
    z_alpha, z_power = _quantiles(alpha, power)
    psi = discordance
    if n == 0 or psi == 0.0 or n <= z_alpha * z_alpha:
        return None
    root = math.sqrt(n * psi * (n + z_power * z_power - z_alpha * z_alpha))
    u = (root - z_alpha * math.sqrt(psi) * z_power) / (n + z_power * z_power)
    delta = math.sqrt(max(0.0, psi - u * u))
    return delta if delta <= psi else None


def power_paired(n: int, diff: float, discordance: float, alpha: float = 0.05) -> float | None:
    """Power of the two-sided McNemar test with n pairs to detect `diff` at the
    discordant share `discordance`: Connor's formula solved for the power,
    Phi((sqrt(n) |diff| - z_{1-alpha/2} sqrt(psi)) / sqrt(psi - diff^2)).
    None when n == 0 or discordance == 0.
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    _check_discordance(discordance, diff)
    z_alpha, _ = _quantiles(alpha, 0.5)
    psi, delta = discordance, min(abs(diff), discordance)
    if n == 0 or psi == 0.0:
        return None
    signal = math.sqrt(n) * delta - z_alpha * math.sqrt(psi)
    spread = math.sqrt(max(0.0, psi - delta * delta))
    if spread == 0.0:  # every pair discordant, all one way: no sampling variance left
        return 1.0 if signal > 0.0 else 0.0
    return normal_cdf(signal / spread)


def cases_needed(
    diff: float, discordance: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Pairs needed to detect `diff` (its sign does not matter) at discordant
    share `discordance`: Connor's n, rounded up.

    None when diff == 0 (no difference to detect, however many cases) or
    discordance == 0 (no pair disagrees). ValueError when |diff| > discordance,
    which no paired data can show.
    """
    _check_discordance(discordance, diff)
    z_alpha, z_power = _quantiles(alpha, power)
    psi, delta = discordance, min(abs(diff), discordance)
    if delta == 0.0 or psi == 0.0:
        return None
    root_n = (z_alpha * math.sqrt(psi) + z_power * math.sqrt(max(0.0, psi - delta * delta))) / delta
    return math.ceil(root_n * root_n - 1e-9)  # 400.0000000001 is 400 cases


def mde_unpaired(n: int, p: float = 0.5, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """Smallest difference in pass rate detectable when no comparison exists,
    under a stated assumption: two independent samples of n cases each at pass
    rate p, (z_{1-alpha/2} + z_{power}) * sqrt(2 p (1 - p) / n).

    None when n == 0, or p is 0 or 1 (no variance at all: the normal
    approximation says nothing there).
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    z_alpha, z_power = _quantiles(alpha, power)
    if n == 0 or p in (0.0, 1.0):
        return None
    return (z_alpha + z_power) * math.sqrt(2.0 * p * (1.0 - p) / n)
