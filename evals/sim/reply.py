"""What a handler asks the HTTP layer to do: a plain response, an SSE stream, or a fault."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evals.sim.faults import error_body

if TYPE_CHECKING:
    from evals.sim.loadmodel import LoadPlan

# A request problem as OpenAI reports it: (status, message, type, param, code).
Problem = tuple[int, str, str, str | None, str | None]


def bad(message: str, param: str | None, code: str | None = None) -> Problem:
    """A 400 invalid_request_error."""
    return 400, message, "invalid_request_error", param, code


@dataclass(slots=True)
class Reply:
    """One response plan; handlers stay synchronous and the server does all the waiting."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    events: list[bytes] | None = None  # SSE frames ("data: ...\n\n"), sent chunked
    content_type: str = "application/json"
    delay_s: float = 0.0  # before the first byte
    event_gap_s: float = 0.0  # pause before each paced SSE frame
    paced_events: int = 0  # frames after the first that are paced (the content deltas)
    action: str | None = None  # None | "disconnect" | "stall" | "cut"
    stall_s: float = 0.0
    load: LoadPlan | None = None  # a slot-queued model's timing (evals.sim.loadmodel)


def json_reply(
    payload: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Reply:
    """A JSON response."""
    return Reply(status=status, body=json.dumps(payload).encode(), headers=headers or [])


def error_reply(
    status: int,
    message: str,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Reply:
    """An OpenAI-format error response."""
    return Reply(status=status, body=error_body(message, type_, param, code), headers=headers or [])
