"""EndpointLimiter: pacing, TPM correction, concurrency, AIMD, header learning.

Most tests run on a virtual-time event loop: its clock only moves when every task
is blocked, and then jumps straight to the next timer. `asyncio.sleep` (the
limiter's default sleep) becomes instant and exact, so times can be hand-computed.
"""

from __future__ import annotations

import asyncio
import math
import random
import selectors
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from evals.engine.limiter import EndpointLimiter, LimitConfig, parse_duration


class _VirtualSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Never blocks: a wait for `timeout` seconds advances the loop's clock instead."""

    loop: VirtualTimeLoop

    def select(self, timeout: float | None = None) -> list[Any]:
        events = super().select(0)
        if events:
            return events
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is pending")
        self.loop.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 0.0
        selector = _VirtualSelector()
        selector.loop = self
        super().__init__(selector)

    def time(self) -> float:
        return self.now


def vrun(main: Callable[[], Awaitable[Any]]) -> Any:
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())  # type: ignore[arg-type]


def make(config: LimitConfig) -> EndpointLimiter:
    return EndpointLimiter(config, clock=asyncio.get_running_loop().time)


def now() -> float:
    return asyncio.get_running_loop().time()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("12ms", 0.012),
        ("1m30.5s", 90.5),
        ("1h2m", 3720.0),
        ("0s", 0.0),
        ("0.5", 0.5),
        (" 2s ", 2.0),
        ("soon", None),
        ("1x", None),
        ("s", None),
        ("", None),
        ("-1", None),
        ("nan", None),
        (None, None),
    ],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    got = parse_duration(text)
    assert got == seconds if seconds is None else got == pytest.approx(seconds)


def test_rpm_paces_evenly_from_a_cold_start() -> None:
    # rpm=600 is 10/s. The bucket starts empty and admits at level >= 0, so request
    # k goes at 0.1*k s: 100 requests take 9.9 s (the limit allows 100/10 = 10 s),
    # and any 1 s window holds at most 10 intervals + 1 = 11 requests.
    async def main() -> tuple[list[float], float]:
        limiter = make(LimitConfig(max_concurrency=1000, rpm=600))
        times: list[float] = []

        async def one() -> None:
            await limiter.acquire(0)
            times.append(now())

        await asyncio.gather(*(one() for _ in range(100)))
        return times, limiter.stats.throttled_s

    times, throttled = vrun(main)
    assert times == sorted(times)
    assert times[-1] == pytest.approx(9.9)
    assert 9.0 <= times[-1] <= 11.0
    assert max(sum(t <= s < t + 1.0 for s in times) for t in times) <= 11
    assert throttled == pytest.approx(9.9)


def test_rpm_burst_after_idle_is_two_seconds_worth() -> None:
    # Idle for 10 s: the bucket fills to its capacity of 2 s * 10/s = 20, so 21
    # requests go at once (level 20 -> -1) and the 22nd waits 0.1 s.
    async def main() -> list[float]:
        limiter = make(LimitConfig(max_concurrency=1000, rpm=600))
        await asyncio.sleep(10)
        times = []
        for _ in range(22):
            await limiter.acquire(0)
            times.append(now())
        return times

    times = vrun(main)
    assert times[:21] == [10.0] * 21
    assert times[21] == pytest.approx(10.1)


@pytest.mark.parametrize(
    ("used", "b_admitted_at"),
    [
        # tpm=6000 is 100 tokens/s. A (estimate 500) goes at t=0: level 0 -> -500.
        # B (estimate 100) waits for level >= 0. A finishes at t=1 (level -400).
        (None, 5.0),  # no correction: -400 + 100/s -> 0 at t=5
        (100, 1.0),  # refund 400: level 0 at t=1, B goes at once
        (900, 9.0),  # 400 more charged: level -800 at t=1 -> 0 at t=9
    ],
)
def test_tpm_estimates_are_charged_then_corrected(used: int | None, b_admitted_at: float) -> None:
    async def main() -> float:
        limiter = make(LimitConfig(max_concurrency=10, tpm=6000))
        a = await limiter.acquire(500)
        b = asyncio.create_task(limiter.acquire(100))
        await asyncio.sleep(1)
        limiter.release(a, used_tokens=used, headers=None, rate_limited=False)
        await b
        return now()

    assert vrun(main) == pytest.approx(b_admitted_at)


def test_one_request_larger_than_the_burst_still_passes() -> None:
    # tpm=600 (10/s, capacity 20): a 5000-token request goes at t=0 and leaves
    # 5000 tokens of debt, so the next (1 token) goes at 500 s.
    async def main() -> list[float]:
        limiter = make(LimitConfig(max_concurrency=10, tpm=600))
        await limiter.acquire(5000)
        first = now()
        await limiter.acquire(1)
        return [first, now()]

    assert vrun(main) == pytest.approx([0.0, 500.0])


def test_concurrency_ceiling_and_fifo_order_with_real_time() -> None:
    async def main() -> tuple[int, list[int]]:
        limiter = EndpointLimiter(LimitConfig(max_concurrency=4))
        in_flight = peak = 0
        order: list[int] = []

        async def one(i: int) -> None:
            nonlocal in_flight, peak
            ticket = await limiter.acquire(10)
            order.append(i)
            in_flight += 1
            peak = max(peak, in_flight)
            assert limiter.stats.in_flight == in_flight <= 4
            await asyncio.sleep(random.uniform(0, 0.004))
            in_flight -= 1
            limiter.release(ticket, used_tokens=None, headers=None, rate_limited=False)

        await asyncio.gather(*(one(i) for i in range(40)))
        return peak, order

    started = time.monotonic()
    peak, order = asyncio.run(main())
    assert peak == 4
    assert order == list(range(40))
    assert time.monotonic() - started < 1.0


def test_aimd_cuts_once_per_cooldown_and_grows_per_clean_round() -> None:
    async def main() -> list[float]:
        limiter = make(LimitConfig(max_concurrency=10))
        tickets = [await limiter.acquire(0) for _ in range(10)]
        seen = [limiter.stats.concurrency_limit]  # 10
        limiter.release(tickets[0], rate_limited=True)
        seen.append(limiter.stats.concurrency_limit)  # 10 * 0.8 = 8
        limiter.release(tickets[1], rate_limited=True)  # same overload: no second cut
        seen.append(limiter.stats.concurrency_limit)  # 8
        for ticket in tickets[2:9]:
            limiter.release(ticket)  # 7 clean: not yet a round of 8
        seen.append(limiter.stats.concurrency_limit)  # 8
        limiter.release(tickets[9])  # the 8th: +1
        seen.append(limiter.stats.concurrency_limit)  # 9
        await asyncio.sleep(2.0)  # cooldown over
        limiter.release(await limiter.acquire(0), rate_limited=True)
        seen.append(limiter.stats.concurrency_limit)  # 9 * 0.8 = 7.2
        seen.append(limiter.stats.rate_limited)  # 3
        return seen

    assert vrun(main) == pytest.approx([10, 8, 8, 8, 9, 7.2, 3])


def test_lowered_limit_holds_new_acquires_without_touching_in_flight() -> None:
    # 10 in flight, one 429: limit 8, 9 still in flight. A new acquire waits
    # until in_flight < 8, i.e. two more releases.
    async def main() -> list[bool]:
        limiter = make(LimitConfig(max_concurrency=10))
        tickets = [await limiter.acquire(0) for _ in range(10)]
        limiter.release(tickets[0], rate_limited=True)
        waiter = asyncio.create_task(limiter.acquire(0))
        done = []
        for ticket in tickets[1:3]:
            await asyncio.sleep(0.01)
            done.append(waiter.done())
            limiter.release(ticket)
        await asyncio.sleep(0.01)
        done.append(waiter.done())
        return done

    assert vrun(main) == [False, False, True]


def test_not_adaptive_counts_429s_but_keeps_the_limit() -> None:
    async def main() -> tuple[float, int]:
        limiter = make(LimitConfig(max_concurrency=10, adaptive=False))
        limiter.release(await limiter.acquire(0), rate_limited=True)
        return limiter.stats.concurrency_limit, limiter.stats.rate_limited

    assert vrun(main) == (10.0, 1)


def _after_headers(
    config: LimitConfig, headers: dict[str, str], n: int = 1, **release: Any
) -> tuple[list[float], EndpointLimiter]:
    """Release one request with `headers` at t=0, then time `n` more acquires."""

    async def main() -> tuple[list[float], EndpointLimiter]:
        limiter = make(config)
        limiter.release(await limiter.acquire(1000), headers=headers, **release)
        times = []
        for _ in range(n):
            await limiter.acquire(0)
            times.append(now())
        return times, limiter

    return vrun(main)


def test_remaining_zero_pauses_until_reset() -> None:
    times, limiter = _after_headers(
        LimitConfig(8),
        {"X-RateLimit-Remaining-Requests": "0", "X-RateLimit-Reset-Requests": "2s"},
    )
    assert times == pytest.approx([2.0])
    assert limiter.stats.throttled_s == pytest.approx(2.0)


def test_remaining_zero_with_a_known_limit_waits_for_one_requests_share() -> None:
    # 100 requests refill in 2m0s (not adopted as RPM: > 60 s); one is back
    # after 120 s / 100 = 1.2 s.
    headers = {
        "x-ratelimit-limit-requests": "100",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "2m0s",
    }
    times, limiter = _after_headers(LimitConfig(8), headers)
    assert times == pytest.approx([1.2])
    assert limiter.stats.rpm is None


def test_remaining_tokens_below_what_is_in_flight_pauses() -> None:
    # 1000 estimated tokens still in flight + 1000 for the next > 500 remaining:
    # no limit header, so wait the whole reset.
    async def main() -> float:
        limiter = make(LimitConfig(8))
        first, _ = await limiter.acquire(1000), await limiter.acquire(1000)
        headers = {"x-ratelimit-remaining-tokens": "500", "x-ratelimit-reset-tokens": "10s"}
        limiter.release(first, used_tokens=900, headers=headers)
        await limiter.acquire(1000)
        return now()

    assert vrun(main) == pytest.approx(10.0)


def test_learned_rpm_is_adopted_when_it_resets_within_a_minute() -> None:
    headers = {
        "x-ratelimit-limit-requests": "600",
        "x-ratelimit-remaining-requests": "599",
        "x-ratelimit-reset-requests": "100ms",
    }
    times, limiter = _after_headers(LimitConfig(8), headers, n=3)
    assert limiter.stats.rpm == 600
    assert times == pytest.approx([0.0, 0.0, 0.0])  # the server has room for 599: no wait


def test_server_room_is_spent_then_the_learned_rpm_paces() -> None:
    headers = {
        "x-ratelimit-limit-requests": "600",
        "x-ratelimit-remaining-requests": "2",
        "x-ratelimit-reset-requests": "100ms",
    }
    times, limiter = _after_headers(LimitConfig(8), headers, n=4)
    assert limiter.stats.rpm == 600
    # room for 2 goes at once and runs up no debt in the (empty, 10/s) bucket; then the
    # bucket's own rule: a request passes at level >= 0 (the third, into debt), the
    # fourth waits for 0.1 s of refill
    assert times == pytest.approx([0.0, 0.0, 0.0, 0.1])


def test_daily_limit_is_not_adopted_as_rpm() -> None:
    # Groq's limit-requests is per day; its reset is far beyond a minute.
    headers = {
        "x-ratelimit-limit-requests": "14400",
        "x-ratelimit-remaining-requests": "14399",
        "x-ratelimit-reset-requests": "86400s",
    }
    times, limiter = _after_headers(LimitConfig(8), headers, n=3)
    assert limiter.stats.rpm is None
    assert times == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("server", "effective"), [(30, 30), (600, 60)])
def test_learned_limit_only_ever_lowers_a_configured_one(server: int, effective: int) -> None:
    headers = {"x-ratelimit-limit-tokens": str(server), "x-ratelimit-reset-tokens": "1s"}
    _, limiter = _after_headers(LimitConfig(8, tpm=60), headers, n=0)
    assert limiter.stats.tpm == effective


def test_retry_after_on_a_429_pauses_the_endpoint() -> None:
    times, limiter = _after_headers(LimitConfig(8), {"retry-after": "3"}, rate_limited=True)
    assert times == pytest.approx([3.0])
    assert limiter.stats.rate_limited == 1


def test_pause_until_holds_everyone_in_order_and_only_extends() -> None:
    async def main() -> list[tuple[int, float]]:
        limiter = make(LimitConfig(8))
        limiter.pause_until(5.0)
        limiter.pause_until(2.0)  # shorter: ignored
        admitted: list[tuple[int, float]] = []

        async def one(i: int) -> None:
            await limiter.acquire(0)
            admitted.append((i, now()))

        await asyncio.gather(*(one(i) for i in range(3)))
        return admitted

    assert vrun(main) == [(0, 5.0), (1, 5.0), (2, 5.0)]


def test_release_twice_is_harmless() -> None:
    async def main() -> int:
        limiter = make(LimitConfig(2))
        ticket = await limiter.acquire(0)
        await limiter.acquire(0)
        limiter.release(ticket)
        limiter.release(ticket)
        return limiter.stats.in_flight

    assert vrun(main) == 1


class SlidingWindowServer:
    """At most `rpm` accepted requests in any 60 s; the rest get 429 + Retry-After.

    Rejected requests are not counted. Retry-After is the time until the oldest
    accepted request leaves the window, rounded up to the millisecond as servers do.
    With `headers`, answers also carry OpenAI's x-ratelimit-*-requests, whose reset
    is the time until the window is empty again ("back to its initial state").
    """

    def __init__(self, rpm: int, headers: bool) -> None:
        self.rpm, self.headers = rpm, headers
        self.log: deque[float] = deque()
        self.accepted = self.rejected = 0

    def handle(self, t: float) -> tuple[int, dict[str, str]]:
        while self.log and self.log[0] <= t - 60.0:
            self.log.popleft()
        if len(self.log) >= self.rpm:
            self.rejected += 1
            retry = math.ceil((self.log[0] + 60.0 - t) * 1000) / 1000
            return 429, {"retry-after": f"{retry:.3f}"}
        self.log.append(t)
        self.accepted += 1
        if not self.headers:
            return 200, {}
        return 200, {
            "x-ratelimit-limit-requests": str(self.rpm),
            "x-ratelimit-remaining-requests": str(self.rpm - len(self.log)),
            "x-ratelimit-reset-requests": f"{self.log[-1] + 60.0 - t:.3f}s",
        }


@pytest.mark.parametrize("configured", [True, False], ids=["rpm-configured", "rpm-learned"])
def test_simulated_sliding_window_run(configured: bool) -> None:
    # 1500 requests against 600 per sliding minute, concurrency 50, instant answers;
    # every 429 is retried (it counts as one more request through the limiter).
    # The sustained rate the limit allows is 10/s, so 1500 requests need 150 s;
    # bound: 1.1 * 150 = 165 s, and at most 2% of 1500 = 30 answers may be 429s.
    # (A greedy client could finish at 120 s by spending the window's first 600 at
    # t=0, 60 and 120, but only if the window starts empty, which no client knows.)
    # Expected: paced at 0.1 s from t=0, request k goes at 0.1*k, so the 1500th at
    # 149.9 s; a request that lands a rounding error early at a window edge gets a
    # 429 and its retry pushes the schedule back by 0.1 s, a few times per run.
    # Learned: the first answer's headers teach rpm=600 (its reset is <= 60 s).
    requests, rpm = 1500, 600

    async def main() -> tuple[float, SlidingWindowServer, EndpointLimiter]:
        server = SlidingWindowServer(rpm, headers=not configured)
        limiter = make(LimitConfig(max_concurrency=50, rpm=rpm if configured else None))
        todo = iter(range(requests))

        async def worker() -> None:
            for _ in todo:
                while True:
                    ticket = await limiter.acquire(100)
                    await asyncio.sleep(0)  # the response
                    status, headers = server.handle(now())
                    limiter.release(
                        ticket, used_tokens=None, headers=headers, rate_limited=status == 429
                    )
                    if status == 200:
                        break

        await asyncio.gather(*(worker() for _ in range(50)))
        return now(), server, limiter

    started = time.monotonic()
    elapsed, server, limiter = vrun(main)
    assert server.accepted == requests
    assert elapsed <= 1.1 * requests / rpm * 60.0
    assert server.rejected <= 0.02 * requests
    assert limiter.stats.rate_limited == server.rejected
    assert limiter.stats.in_flight == 0
    assert time.monotonic() - started < 2.0


def test_injected_clock_and_sleep_are_used() -> None:
    # A plain fake clock that jumps forward on sleep, on a normal event loop.
    fake = [100.0]

    async def sleep(seconds: float) -> None:
        fake[0] += seconds
        await asyncio.sleep(0)

    async def main() -> list[float]:
        limiter = EndpointLimiter(LimitConfig(4, rpm=600), clock=lambda: fake[0], sleep=sleep)
        times = []
        for _ in range(5):
            limiter.release(await limiter.acquire(0))
            times.append(fake[0])
        return times

    started = time.monotonic()
    assert asyncio.run(main()) == pytest.approx([100.0, 100.1, 100.2, 100.3, 100.4])
    assert time.monotonic() - started < 0.5


def test_a_cancelled_waiter_leaves_no_trace() -> None:
    async def main() -> tuple[float, int, int]:
        limiter = make(LimitConfig(1))
        held = await limiter.acquire(0)
        queued = asyncio.create_task(limiter.acquire(0))  # head, waiting for the slot
        behind = asyncio.create_task(limiter.acquire(0))  # waiting for its turn
        await asyncio.sleep(1)
        queued.cancel()
        await asyncio.sleep(1)
        limiter.release(held)
        await behind
        return now(), limiter.stats.in_flight, limiter.stats.waiting

    assert vrun(main) == (2.0, 1, 0)
