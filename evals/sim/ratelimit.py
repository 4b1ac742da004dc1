"""Per-model request and token limits over a sliding 60-second window, with OpenAI headers.

``x-ratelimit-reset-*`` here means the time until the oldest entry leaves the window, i.e.
until ``remaining`` next grows (0s when the window is empty); OpenAI's own limiter is a
refilling bucket, so its values are smaller, but the header names and formats are the same.
Rejected requests do not count. A request's token cost is prompt + completion tokens.
"""

from __future__ import annotations

import math
from collections import deque

WINDOW_S = 60.0


def go_duration(seconds: float) -> str:
    """Format like Go's time.Duration.String(), as OpenAI does: ``12ms``, ``1s``, ``6m0s``."""
    ms = max(0, round(seconds * 1000))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rem = divmod(ms, 3_600_000)
    minutes, rem = divmod(rem, 60_000)
    secs = f"{rem / 1000:.3f}".rstrip("0").rstrip(".")
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + secs + "s"


class Window:
    """Costs admitted in the last 60 s against one limit."""

    __slots__ = ("limit", "used", "_entries")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._entries: deque[tuple[float, int]] = deque()

    def prune(self, now: float) -> None:
        """Forget entries older than the window."""
        entries = self._entries
        cutoff = now - WINDOW_S
        while entries and entries[0][0] <= cutoff:
            self.used -= entries.popleft()[1]

    def wait_s(self, cost: int, now: float) -> float:
        """Seconds until ``cost`` fits (0 when it fits now; a full window when it never can)."""
        if self.used + cost <= self.limit:
            return 0.0
        if cost > self.limit:
            return WINDOW_S
        freed = self.used + cost - self.limit
        for t, c in self._entries:
            freed -= c
            if freed <= 0:
                return max(0.001, t + WINDOW_S - now)
        return WINDOW_S

    def add(self, cost: int, now: float) -> None:
        self._entries.append((now, cost))
        self.used += cost

    def reset_s(self, now: float) -> float:
        return self._entries[0][0] + WINDOW_S - now if self._entries else 0.0


class Limiter:
    """The rpm/tpm limits of one model."""

    __slots__ = ("requests", "tokens")

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self.requests = Window(rpm) if rpm else None
        self.tokens = Window(tpm) if tpm else None

    def admit(self, tokens: int, now: float) -> tuple[str, float] | None:
        """Record the request and return None, or return (which limit, seconds to wait)."""
        req, tok = self.requests, self.tokens
        if req is not None:
            req.prune(now)
            wait = req.wait_s(1, now)
            if wait > 0:
                return "requests", wait
        if tok is not None:
            tok.prune(now)
            wait = tok.wait_s(tokens, now)
            if wait > 0:
                return "tokens", wait
        if req is not None:
            req.add(1, now)
        if tok is not None:
            tok.add(tokens, now)
        return None

    def headers(self, now: float) -> list[tuple[str, str]]:
        """x-ratelimit-* headers describing the state after this request."""
        out: list[tuple[str, str]] = []
        for name, win in (("requests", self.requests), ("tokens", self.tokens)):
            if win is not None:
                out.append((f"x-ratelimit-limit-{name}", str(win.limit)))
                out.append((f"x-ratelimit-remaining-{name}", str(max(0, win.limit - win.used))))
                out.append((f"x-ratelimit-reset-{name}", go_duration(win.reset_s(now))))
        return out


def retry_headers(wait_s: float) -> list[tuple[str, str]]:
    """Retry-After (whole seconds, rounded up) and retry-after-ms, as the SDK reads them."""
    return [
        ("retry-after", str(max(1, math.ceil(wait_s)))),
        ("retry-after-ms", str(math.ceil(wait_s * 1000))),
    ]
