"""Deterministic fault injection and the OpenAI-style error bodies the simulator sends.

Selection rule: fault number ``i`` of a model (in config order) hits a request when
``unit_hash("fault", i, sha256(canonical body)) < rate`` AND the request's attempt number
(1-based count of requests with that identical canonical body seen by this server,
including this one) is ``<= times`` (``times: null`` = every attempt). The first matching
fault wins. So a client that retries an identical body eventually succeeds, and which
bodies fail does not depend on arrival order or concurrency.

Kinds: ``429 500 502 503 529 498`` answer that status with an error body (429 carries
``Retry-After``/``retry-after-ms`` from ``retry_after_s``); ``disconnect`` closes the socket
without a response; ``malformed`` answers 200 with a body that is not JSON (for streams:
an SSE frame that is not JSON); ``stall`` sends nothing for ``stall_s`` seconds, then closes;
``stream_cut`` sends part of the response (half the SSE chunks, or half the JSON body with
the full Content-Length) and closes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from evals.sim.config import FaultConfig, ModelConfig
from evals.sim.textutil import unit_hash

STATUS_FAULTS: dict[str, tuple[int, str, str, str | None]] = {
    # kind: (status, message, type, code)
    "429": (
        429,
        "Rate limit reached (simulated fault). Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    "500": (
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    "502": (502, "Bad gateway.", "server_error", None),
    "503": (
        503,
        "The engine is currently overloaded, please try again later.",
        "server_error",
        None,
    ),
    "529": (529, "Overloaded.", "overloaded_error", None),
    "498": (
        498,
        "Flex tier capacity exceeded. This is a temporary error, please try again later.",
        "capacity_exceeded",
        "flex_tier_capacity_exceeded",
    ),
}


def error_body(
    message: str, type_: str, param: str | None = None, code: str | None = None
) -> bytes:
    """The OpenAI error envelope; the SDK reads ``.code``/``.param`` from it."""
    err = {"message": message, "type": type_, "param": param, "code": code}
    return json.dumps({"error": err}).encode()


def canonical_sha256(body: Any) -> str:
    """sha256 of the body as canonical JSON (sorted keys, compact), so key order is irrelevant."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class AttemptCounter:
    """Counts requests per identical body, which is what lets retries get past a fault."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def next(self, body_sha: str) -> int:
        """Record one more request with this body; return its 1-based attempt number."""
        n = self._seen.get(body_sha, 0) + 1
        self._seen[body_sha] = n
        return n


def select_fault(model: ModelConfig, body_sha: str, attempt: int) -> FaultConfig | None:
    """The fault this attempt of this body hits, or None."""
    for i, fault in enumerate(model.faults):
        if fault.times is not None and attempt > fault.times:
            continue
        if fault.rate >= 1.0 or unit_hash("fault", i, body_sha) < fault.rate:
            return fault
    return None
