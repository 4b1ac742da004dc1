"""When an open-loop load test sends each request, and the flags that say so (pure).

Offsets are seconds from the start of one (model, rate) step. `constant` sends every
1/rate s; `poisson` draws exponential gaps (mean 1/rate) from a seeded random.Random,
so the same seed gives the same schedule.
"""

from __future__ import annotations

import math
import random
import re

from evals.errors import InputError

ARRIVALS = ("constant", "poisson")
SLO_KEYS = ("ttft", "e2e", "itl")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def arrivals(
    rate: float,
    *,
    duration_s: float | None = None,
    requests: int | None = None,
    arrival: str = "constant",
    seed: int = 0,
) -> list[float]:
    """Send offsets (s) for `rate` requests/s over `duration_s`, or `requests` of them.

    Constant: 0, 1/rate, 2/rate, ... (every offset < duration_s). Poisson: the first
    request at 0, then exponential gaps; over a duration, every offset < duration_s.
    """
    if not rate > 0 or not math.isfinite(rate):
        raise InputError(f"a rate is a number of requests per second above 0, got {rate}")
    if (duration_s is None) == (requests is None):
        raise InputError("give a duration or a number of requests, not both or neither")
    if duration_s is not None and not duration_s > 0:
        raise InputError(f"the duration must be above 0 s, got {duration_s}")
    if requests is not None and requests < 1:
        raise InputError(f"the number of requests must be at least 1, got {requests}")
    if arrival not in ARRIVALS:
        raise InputError(f"--arrival is one of {', '.join(ARRIVALS)}, got {arrival!r}")
    if arrival == "constant":
        # i / rate < duration, with a margin for rounding (5 req/s for 2 s is 10 requests)
        count = requests if requests is not None else max(1, math.ceil(rate * duration_s - 1e-9))
        return [i / rate for i in range(count)]
    rng = random.Random(seed)
    offsets = [0.0]
    while True:
        if requests is not None and len(offsets) >= requests:
            return offsets
        nxt = offsets[-1] + rng.expovariate(rate)
        if duration_s is not None and nxt >= duration_s:
            return offsets
        offsets.append(nxt)


def parse_duration(text: str, flag: str = "--duration") -> float:
    """`60s`, `2m`, `500ms`, `1h`, or a bare number of seconds; above 0."""
    match = _DURATION.match(text or "")
    if match is None:
        raise InputError(f"{flag} {text!r}: a duration is a number and a unit: 500ms, 60s, 2m, 1h")
    value = float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
    if not value > 0:
        raise InputError(f"{flag} {text!r}: the duration must be above 0")
    return value


def parse_rates(text: str) -> list[float]:
    """`1,2,5,10`: requests per second, each above 0, in the order given."""
    rates = []
    for part in (text or "").split(","):
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise InputError(
                f"--rate {text!r}: give requests per second above 0, comma-separated (1,2,5,10)"
            )
        rates.append(value)
    return rates


def parse_counts(text: str, flag: str = "--concurrency-sweep") -> list[int]:
    """`1,8,32`: whole numbers, each at least 1."""
    counts = []
    for part in (text or "").split(","):
        if not part.strip().isdigit() or int(part) < 1:
            raise InputError(f"{flag} {text!r}: give whole numbers of at least 1, comma-separated")
        counts.append(int(part))
    return counts


def parse_slo(text: str) -> dict[str, float]:
    """`ttft=0.5s,e2e=5s,itl=50ms`: the bounds (in seconds) a request must meet."""
    bounds: dict[str, float] = {}
    for part in (text or "").split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in SLO_KEYS:
            raise InputError(
                f"--slo {text!r}: give {'/'.join(SLO_KEYS)}=DURATION, comma-separated "
                "(ttft=0.5s,e2e=5s,itl=50ms)"
            )
        if key in bounds:
            raise InputError(f"--slo {text!r}: {key} is given twice")
        bounds[key] = parse_duration(value, f"--slo {key}")
    return bounds
