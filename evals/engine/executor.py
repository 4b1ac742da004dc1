"""Send one chat request to one endpoint, retrying per the policy, and time it."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from evals.endpoints.client import Endpoint
from evals.endpoints.usage import normalize_usage
from evals.engine.retry import Failure, backoff_s, classify
from evals.records import Usage


@dataclass(slots=True)
class Outcome:
    """What came back for one request, success or final failure."""

    output: str | None
    tool_calls: list[dict[str, Any]] | None
    finish_reason: str | None
    usage: Usage
    latency_s: float | None
    attempts: int
    failure: Failure | None = None
    backoff_s: float = 0.0

    @property
    def error(self) -> str | None:
        return self.failure.message if self.failure else None


def _outcome_from(completion: Any, latency_s: float, attempts: int, waited: float) -> Outcome:
    if not getattr(completion, "choices", None):
        raise ValueError("response has no choices")
    choice = completion.choices[0]
    message = choice.message
    tool_calls = [call.model_dump() for call in message.tool_calls] if message.tool_calls else None
    usage = completion.usage.model_dump() if completion.usage is not None else None
    return Outcome(
        output=message.content,
        tool_calls=tool_calls,
        finish_reason=choice.finish_reason,
        usage=normalize_usage(usage),
        latency_s=latency_s,
        attempts=attempts,
        backoff_s=waited,
    )


async def send_chat(endpoint: Endpoint, body: dict[str, Any]) -> Outcome:
    """POST /chat/completions with retries; never raises for endpoint faults."""
    completions = endpoint.client.chat.completions
    max_attempts = endpoint.spec.max_attempts
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        started = time.perf_counter()
        try:
            completion = await completions.create(**body)
            return _outcome_from(completion, time.perf_counter() - started, attempt, waited)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # classified below; nothing escapes the engine
            failure = classify(exc)
        if not failure.retryable or attempt >= max_attempts:
            return Outcome(None, None, None, Usage(), None, attempt, failure, waited)
        delay = backoff_s(attempt, failure)
        waited += delay
        await asyncio.sleep(delay)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
