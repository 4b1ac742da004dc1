"""Admission of a validated request: quota and faults first, then rpm/tpm rate limits.

Every endpoint (chat in ``evals.sim.api``, embeddings and transcription in
``evals.sim.media``) follows the same order: validate -> ``Admission.gate`` (quota, injected
faults) -> ``Admission.limit`` (rpm/tpm, only when no fault was injected; chat works out the
answer first, since its tokens count) -> answer -> ``apply_fault`` (a ``malformed`` or
``stream_cut`` fault on a non-streaming reply). Kept apart from the router (``api``) so the
endpoint modules need not import it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from evals.sim import payloads
from evals.sim.config import FaultConfig, ModelConfig
from evals.sim.faults import STATUS_FAULTS, select_fault
from evals.sim.ratelimit import Limiter, retry_headers
from evals.sim.reply import Reply, error_reply


class Admission:
    """Quota, fault and rate-limit checks, with the rate windows of every limited model."""

    def __init__(self, models: Mapping[str, ModelConfig]) -> None:
        self.limiters = {n: Limiter(m.rpm, m.tpm) for n, m in models.items() if m.rpm or m.tpm}

    def gate(
        self, model: ModelConfig, sha: str, attempt: int, rec: dict | None
    ) -> tuple[Reply | None, FaultConfig | None]:
        """Quota and fault checks that come before any answer is computed.

        The fault chosen (if any) is recorded in the log record ``rec``."""
        if model.insufficient_quota:
            return error_reply(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                type_="insufficient_quota",
                code="insufficient_quota",
            ), None
        fault = select_fault(model, sha, attempt) if model.faults else None
        if rec is not None and fault is not None:
            rec["fault"] = fault.kind
        if fault is None or fault.kind in ("malformed", "stream_cut"):
            return None, fault
        if fault.kind == "disconnect":
            return Reply(action="disconnect"), fault
        if fault.kind == "stall":
            return Reply(action="stall", stall_s=fault.stall_s), fault
        status, message, type_, code = STATUS_FAULTS[fault.kind]
        headers = retry_headers(fault.retry_after_s) if status == 429 else []
        return error_reply(status, message, type_, None, code, headers), fault

    def limit(self, model: ModelConfig, tokens: int) -> tuple[list[tuple[str, str]], Reply | None]:
        """Rate-limit headers for a success, or a 429 reply when over rpm/tpm."""
        limiter = self.limiters.get(model.name)
        if limiter is None:
            return [], None
        now = time.monotonic()
        over = limiter.admit(tokens, now)
        headers = limiter.headers(now)
        if over is None:
            return headers, None
        kind, wait = over
        label = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
        win = limiter.requests if kind == "requests" else limiter.tokens
        assert win is not None
        message = (
            f"Rate limit reached for {model.name} on {label}: Limit {win.limit}, Used {win.used}, "
            f"Requested {1 if kind == 'requests' else tokens}. Please try again in {wait:.3f}s."
        )
        return [], error_reply(
            429, message, kind, None, "rate_limit_exceeded", headers + retry_headers(wait)
        )


def apply_fault(reply: Reply, fault: FaultConfig | None) -> Reply:
    """Apply a ``malformed`` or ``stream_cut`` fault to a non-streaming reply."""
    if fault is not None and fault.kind == "malformed":
        reply.body = payloads.MALFORMED_BODY
    elif fault is not None:
        reply.action = "cut"
    return reply
