"""What the engine is asked to send: a request and how to price and cache it.

The engine sees nothing else: no suite, case or grader. A planned sample, a
judge call and an embeddings batch all reach it as one `Request`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from evals.pricing import Price

RequestKind = Literal["chat", "responses", "transcription", "embeddings"]
"""`responses`: a chat sample sent to /v1/responses (body already translated)."""


@dataclass(slots=True)
class Request:
    endpoint: str  # the runner profile's endpoint name
    body: dict[str, Any]  # chat / responses: the JSON body; transcription: {model, file, ...};
    # embeddings: {model, input: [texts], dimensions?}
    kind: RequestKind = "chat"
    price: Price | None = None
    cache_key: str | None = None  # replay from the response cache under this key
    cache_write: bool = False  # store a fresh answer under `cache_key` at once
    # (a planned sample is cached with its stored result instead, in one commit)
    stream: bool = False
    tool_results: dict[str, Any] | None = None  # canned results: follow tool calls
    model_id: str = ""  # whose progress counters this request moves
