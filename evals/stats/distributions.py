"""The few distribution functions the intervals and tests need, without scipy.

scipy's import (~0.8 s) would be a large share of a small run's summary, so the
normal quantile comes from the standard library, Student's t from the
regularized incomplete beta function (a continued fraction), and the binomial
tail of McNemar's test from exact integer arithmetic. The tests check each
against scipy.
"""

from __future__ import annotations

import math


def check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def normal_quantile(prob: float) -> float:
    """Inverse standard normal CDF (the stdlib's AS241, accurate to ~1e-16)."""
    from statistics import NormalDist  # ~5 ms; only when a figure needs it

    return NormalDist().inv_cdf(prob)


def z_two_sided(confidence: float) -> float:
    """Two-sided normal quantile for `confidence` (0.95 -> 1.95996...)."""
    check_confidence(confidence)
    return normal_quantile(0.5 + confidence / 2.0)


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z, accurate far into the tail."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) by the modified Lentz method
    (Numerical Recipes, 2nd ed., section 6.4, `betacf`)."""
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _regularized_beta(a: float, b: float, x: float, y: float, log_x: float, log_y: float) -> float:
    """I_x(a, b), given y = 1 - x and both logarithms, so that none loses digits."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * log_x + b * log_y
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


def t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom, t >= 0:
    I_x(df/2, 1/2) / 2 at x = df / (df + t^2) (Abramowitz & Stegun 26.7.1 via 26.5.27)."""
    ratio = t * t / df
    x, y = 1.0 / (1.0 + ratio), ratio / (1.0 + ratio)
    log_x = -math.log1p(ratio)
    log_y = math.log(y) if y > 0.0 else -math.inf
    return 0.5 * _regularized_beta(df / 2.0, 0.5, x, y, log_x, log_y)


def _t_density(t: float, df: float) -> float:
    log_norm = math.lgamma((df + 1.0) / 2.0) - math.lgamma(df / 2.0) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1.0) / 2.0 * math.log1p(t * t / df))


def _t_cornish_fisher(z: float, df: float) -> float:
    """The t quantile from the normal one, Abramowitz & Stegun 26.7.5 (error O(df^-5):
    below 1e-12 relative from df = 1000 on, where lgamma differences lose digits)."""
    z2 = z * z
    g1 = z * (z2 + 1.0) / 4.0
    g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0
    g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0
    g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0
    return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df


def t_two_sided(confidence: float, df: float) -> float:
    """Two-sided Student t quantile: t with P(|T| <= t) = confidence.

    Below 1000 degrees of freedom, Newton's method on the upper tail from the
    normal quantile: the tail is convex for t > 0 and the normal quantile lies
    below the t quantile, so the iterates rise monotonically to the root.
    """
    check_confidence(confidence)
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    tail = (1.0 - confidence) / 2.0
    t = normal_quantile(1.0 - tail)
    if df >= 1000:
        return _t_cornish_fisher(t, df)
    for _ in range(500):
        step = (t_upper_tail(t, df) - tail) / _t_density(t, df)
        t += step
        if abs(step) <= 1e-13 * t:  # quadratic convergence: the error is now far smaller
            break
    return t


def binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly (integer sums), then rounded once."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    total = 0
    term = 1  # C(n, 0)
    for i in range(k + 1):
        total += term
        term = term * (n - i) // (i + 1)
    return total / (1 << n)
