"""Per-endpoint admission control: concurrency, RPM/TPM pacing, header learning, AIMD.

One `EndpointLimiter` per endpoint and API key. The engine awaits `acquire()` before
each request and calls `release()` after it, so every request to that endpoint passes
one FIFO gate. The goal: a rate-limit-bound run finishes close to the time the limit
allows, with few 429s. Pacing does the work; headers and 429s are the correction.

The server's own word comes first: while its last `x-ratelimit-remaining-*` leaves
room beyond what is in flight, requests go without waiting for the buckets (a fresh
window is used at once, not trickled into). Without that word, buckets pace:
they refill continuously at limit/60 per second and hold at most `BURST_S` seconds
of refill (at least one unit), not a whole minute: a full minute's burst at t=0 is
what a sliding-window server later answers with 429s. They start empty and admit a
request whenever their level is >= 0, charging it in full, so the level may go
negative (debt): the first request never waits, one request larger than the burst
still passes, and a cold start is paced evenly from the first request (a previous
run on the same key may have just used up the server's window).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from evals.engine.retry import retry_after_s

BURST_S = 2.0  # bucket capacity, in seconds of refill
COOLDOWN_S = 2.0  # 429s closer together than this are one overload: one cut
DECREASE = 0.8  # multiplicative decrease of the concurrency limit per cut
LEARN_MAX_RESET_S = 60.0  # adopt a header limit as per-minute only if it resets this fast
_EPS = 1e-9

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|us|µs|ns|h|m|s)")
_DURATION = re.compile(rf"(?:{_PART.pattern})+")


def parse_duration(text: str | None) -> float | None:
    """Seconds in a Go-style duration (`6m0s`, `12ms`, `1m30.5s`) or plain seconds (`0.5`).

    Rate-limit reset headers come in both forms; anything else is None, not an error,
    because a provider's odd header must never break a run.
    """
    if text is None:
        return None
    text = text.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        if not _DURATION.fullmatch(text):
            return None
        return sum(float(num) * _UNITS[unit] for num, unit in _PART.findall(text))
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _number(text: str | None) -> float | None:
    """A non-negative header number, else None (Azure sends -1 for "not applicable")."""
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


@dataclass(frozen=True)
class LimitConfig:
    """The limits a user configured for one endpoint."""

    max_concurrency: int  # hard ceiling of requests in flight
    rpm: int | None = None  # requests per minute (None = unlimited unless learned)
    tpm: int | None = None  # tokens per minute (None = unlimited unless learned)
    adaptive: bool = True  # AIMD on the concurrency limit when 429s arrive

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None")


@dataclass
class LimiterStats:
    """A snapshot for the progress display."""

    in_flight: int
    concurrency_limit: float  # the AIMD limit; admission uses floor() of it
    rate_limited: int  # 429s seen
    throttled_s: float  # time the queue head waited on buckets or a pause
    waiting: int = 0  # acquires not yet admitted
    rpm: float | None = None  # effective (configured or learned)
    tpm: float | None = None


@dataclass(eq=False)
class Ticket:
    """One admitted request; hand it back to `release()` exactly once."""

    estimated_tokens: int
    tpm_charged: bool = False  # a TPM bucket was charged, so a correction applies
    released: bool = False


class _Bucket:
    """Continuous-refill token bucket with debt; see the module docstring."""

    def __init__(self, per_minute: float, now: float) -> None:
        self.level = 0.0
        self.updated = now
        self.set_rate(per_minute, now)

    def set_rate(self, per_minute: float, now: float) -> None:
        """Change the limit, keeping the level (and any debt) earned so far."""
        self._refill(now)  # a no-op from __init__: nothing has elapsed yet
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * BURST_S)
        self.level = min(self.level, self.capacity)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now

    def wait_s(self, now: float) -> float:
        self._refill(now)
        return max(0.0, -self.level / self.rate)

    def charge(self, amount: float, now: float, floor: float | None = None) -> None:
        """Take `amount` (negative = refund); the level may go below zero (debt),
        or no lower than `floor` when one is given."""
        self._refill(now)
        level = self.level - amount
        if floor is not None:
            level = max(level, min(self.level, floor))
        self.level = min(self.capacity, level)


class EndpointLimiter:
    """FIFO gate for one endpoint: concurrency slot, RPM token, TPM tokens, pauses."""

    def __init__(
        self,
        config: LimitConfig,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self._rpm = _Bucket(config.rpm, now) if config.rpm else None
        self._tpm = _Bucket(config.tpm, now) if config.tpm else None
        self._limit = float(config.max_concurrency)
        self._in_flight = 0
        self._tokens_in_flight = 0
        self._waiting = 0
        self._rate_limited = 0
        self._throttled = 0.0
        self._paused_until = -math.inf
        self._last_cut = -math.inf
        self._clean = 0  # consecutive successes since the last change of the limit
        # What the server last said it would still accept beyond what was in flight
        # (x-ratelimit-remaining-*): spent before the buckets are consulted.
        self._allowance = {"requests": 0.0, "tokens": 0.0}
        self._turn = asyncio.Lock()  # FIFO: only the head of the queue checks the gates
        self._changed = asyncio.Event()  # set by release/pause: the head re-checks

    @property
    def stats(self) -> LimiterStats:
        return LimiterStats(
            in_flight=self._in_flight,
            concurrency_limit=self._limit,
            rate_limited=self._rate_limited,
            throttled_s=self._throttled,
            waiting=self._waiting,
            rpm=self._rpm.per_minute if self._rpm else None,
            tpm=self._tpm.per_minute if self._tpm else None,
        )

    async def acquire(self, estimated_tokens: int) -> Ticket:
        """Wait (FIFO) for a concurrency slot, the end of any pause, and the buckets."""
        cost = max(0, int(estimated_tokens))
        self._waiting += 1
        try:
            async with self._turn:
                while True:
                    self._changed.clear()
                    if self._in_flight >= max(1, math.floor(self._limit)):
                        await self._changed.wait()  # a release frees a slot
                        continue
                    now = self._clock()
                    wait = max(
                        self._paused_until - now,
                        self._bucket_wait(self._rpm, "requests", 1, now),
                        self._bucket_wait(self._tpm, "tokens", cost, now),
                    )
                    if wait <= _EPS:
                        return self._admit(cost, now)
                    await self._nap(wait)
                    self._throttled += self._clock() - now
        finally:
            self._waiting -= 1

    def _bucket_wait(self, bucket: _Bucket | None, kind: str, amount: int, now: float) -> float:
        """The bucket's wait, unless the server has just said it has room for this one."""
        if bucket is None or self._allowance[kind] >= amount:
            return 0.0
        return bucket.wait_s(now)

    def _admit(self, cost: int, now: float) -> Ticket:
        for kind, bucket, amount in (("requests", self._rpm, 1), ("tokens", self._tpm, cost)):
            allowed = self._allowance[kind] >= amount
            self._allowance[kind] = max(0.0, self._allowance[kind] - amount)
            if bucket is not None:
                # What the server said it had room for runs no debt in our own guess:
                # debt would hold back requests later, when the server has room again.
                bucket.charge(amount, now, floor=0.0 if allowed else None)
        self._in_flight += 1
        self._tokens_in_flight += cost
        return Ticket(cost, tpm_charged=self._tpm is not None)

    async def _nap(self, seconds: float) -> None:
        """Sleep until the next token is due, or until a release/pause changes the sums."""
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        woken = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait((sleeper, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()

    def pause_until(self, when: float) -> None:
        """Hold every acquire until clock time `when` (only ever extends a pause)."""
        if when > self._paused_until:
            self._paused_until = when
            self._changed.set()

    def release(
        self,
        ticket: Ticket,
        *,
        used_tokens: int | None = None,
        headers: Mapping[str, str] | None = None,
        rate_limited: bool = False,
    ) -> None:
        """Free the slot, correct the TPM charge, learn from headers, adapt. Idempotent."""
        if ticket.released:
            return
        ticket.released = True
        now = self._clock()
        self._in_flight -= 1
        self._tokens_in_flight -= ticket.estimated_tokens
        if used_tokens is not None and ticket.tpm_charged and self._tpm:
            self._tpm.charge(used_tokens - ticket.estimated_tokens, now)  # refund or debt
        if rate_limited:
            self._on_rate_limited(now)
        elif self.config.adaptive:
            self._on_success()
        if headers:
            self._learn({k.lower(): v for k, v in headers.items()}, ticket, now, rate_limited)
        self._changed.set()

    def _on_rate_limited(self, now: float) -> None:
        """Multiplicative decrease, once per cooldown: a burst of 429s is one overload."""
        self._rate_limited += 1
        self._clean = 0
        if self.config.adaptive and now - self._last_cut >= COOLDOWN_S:
            self._limit = max(1.0, self._limit * DECREASE)
            self._last_cut = now

    def _on_success(self) -> None:
        """Additive increase: +1 after one clean round (as many successes as the limit)."""
        if self._limit >= self.config.max_concurrency:
            return
        self._clean += 1
        if self._clean >= self._limit:
            self._limit = min(float(self.config.max_concurrency), self._limit + 1.0)
            self._clean = 0

    def _learn(self, h: Mapping[str, str], ticket: Ticket, now: float, limited: bool) -> None:
        """Apply Retry-After (on a 429) and the x-ratelimit-* headers (OpenAI names)."""
        if limited:
            retry = retry_after_s(h)
            if retry is not None:
                self.pause_until(now + retry)
        for kind, outstanding, unit in (
            ("requests", self._in_flight, 1),
            ("tokens", self._tokens_in_flight, max(1, ticket.estimated_tokens)),
        ):
            limit = _number(h.get(f"x-ratelimit-limit-{kind}"))
            remaining = _number(h.get(f"x-ratelimit-remaining-{kind}"))
            reset = parse_duration(h.get(f"x-ratelimit-reset-{kind}"))
            if limit and reset is not None and reset <= LEARN_MAX_RESET_S:
                self._adopt(kind, limit, now)
            if remaining is not None:
                self._allowance[kind] = max(0.0, remaining - outstanding)
            if remaining is None or reset is None or remaining >= outstanding + unit:
                continue
            # Too little left for what is in flight plus one more. `reset` is the time to
            # refill (limit - remaining); wait for the share we need, or all of it.
            share = 1.0
            if limit is not None and limit > remaining:
                share = min(1.0, (outstanding + unit - remaining) / (limit - remaining))
            self.pause_until(now + reset * share)

    def _adopt(self, kind: str, limit: float, now: float) -> None:
        """Pace at the server's per-minute limit, or the configured one if lower."""
        configured = self.config.rpm if kind == "requests" else self.config.tpm
        per_minute = min(limit, configured) if configured else limit
        bucket = self._rpm if kind == "requests" else self._tpm
        if bucket is None:
            bucket = _Bucket(per_minute, now)
            if kind == "requests":
                self._rpm = bucket
            else:
                self._tpm = bucket
        elif bucket.per_minute != per_minute:
            bucket.set_rate(per_minute, now)
