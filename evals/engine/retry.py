"""The one retry policy: classify every failure, decide whether and how long to wait.

Retry: 408, 409, 429 (not `insufficient_quota`), 498, every 5xx (529 included),
timeouts, connection resets and malformed bodies. Never retry other 4xx: a bad
request stays bad, and retrying it only spends money and time.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from evals.redact import redact

FailureKind = Literal[
    "rate_limit",
    "server",
    "timeout",
    "connection",
    "malformed",
    "stream_cut",
    "quota",
    "client",
    "deadline",
    "batch",  # a batch ended (expired, cancelled) without running the request
    "other",
]
RETRYABLE_STATUS = frozenset({408, 409, 429, 498})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    retryable: bool
    message: str
    status: int | None = None
    retry_after_s: float | None = None
    code: str | None = None
    headers: Mapping[str, str] | None = None  # the error response's, for the limiter

    @property
    def error_class(self) -> str:
        return f"{self.kind}:{self.status}" if self.status else self.kind


def retry_after_s(headers: object) -> float | None:
    """Read `retry-after-ms`, then `retry-after` (seconds or an HTTP date). No upper cap."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    millis = get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


def classify(exc: BaseException) -> Failure:
    """Map an exception from the SDK (or from parsing its result) to a Failure."""
    import openai

    from evals.endpoints.wire import StreamCut

    message = redact(str(exc))[:500]
    if isinstance(exc, StreamCut):
        return Failure("stream_cut", True, message)
    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", True, message or "request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return Failure("connection", True, message or "connection error")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = getattr(exc, "code", None)
        headers = exc.response.headers
        retry_after = retry_after_s(headers)
        if status == 429 and code == "insufficient_quota":
            return Failure("quota", False, message, status, None, code, headers)
        if status == 429:
            return Failure("rate_limit", True, message, status, retry_after, code, headers)
        if status >= 500 or status in RETRYABLE_STATUS:
            return Failure("server", True, message, status, retry_after, code, headers)
        return Failure("client", False, message, status, None, code, headers)
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError | ValueError):
        return Failure("malformed", True, f"malformed response body: {message}")
    if isinstance(exc, openai.APIError):
        # errors inside a stream, or bodies the SDK could not read: transient
        return Failure("malformed", True, message)
    return Failure("other", False, f"{type(exc).__name__}: {message}")


def backoff_s(attempt: int, failure: Failure, rng: random.Random | None = None) -> float:
    """Delay before attempt `attempt + 1` (attempt counts from 1).

    Full jitter over an exponential window; a server's Retry-After is a floor,
    honoured however long it is (the SDK gives up above 120 s; we wait).
    """
    window = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    jitter = (rng or random).uniform(0.0, window)
    if failure.retry_after_s is not None:
        return failure.retry_after_s + jitter * 0.1
    return jitter
