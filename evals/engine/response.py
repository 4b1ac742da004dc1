"""What came back for one request: the engine's only output type."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evals.endpoints.logprobs import Logprobs, from_json, to_json, to_rows
from evals.engine.retry import Failure
from evals.records import Usage


@dataclass(slots=True)
class Response:
    output: str | None
    tool_calls: list[dict[str, Any]] | None
    finish_reason: str | None
    usage: Usage
    latency_s: float | None
    attempts: int
    failure: Failure | None = None
    backoff_s: float = 0.0
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    rate_limited: int = 0  # 429s met on the way
    cost_usd: float | None = None  # what this response cost (when first received)
    cache_hit: bool = False
    audio_s: float | None = None  # transcription: the audio's duration (billed per minute)
    vectors: list[list[float]] | None = None  # embeddings: one per input text, in order
    logprobs: Logprobs | None = None  # the first output tokens' logprobs, when asked for
    via: str | None = None  # None: an online exchange; 'batch' / 'file': a batch's answer
    online_cost_usd: float | None = None  # a batch answer's cost at online rates

    @property
    def error(self) -> str | None:
        return self.failure.message if self.failure else None

    @property
    def spend_usd(self) -> float | None:
        """New money spent: nothing on a cache hit or a failure."""
        if self.cache_hit or self.failure is not None:
            return 0.0
        return self.cost_usd

    @classmethod
    def failed(cls, failure: Failure | None, attempts: int, waited_s: float, rate_limited: int):
        """The response of a request the retry policy gave up on."""
        return cls(
            None,
            None,
            None,
            Usage(),
            None,
            attempts,
            failure,
            waited_s,
            rate_limited=rate_limited,
        )

    def cache_entry(self) -> str:
        """What the response cache keeps: enough to replay the result exactly."""
        usage = self.usage
        entry: dict[str, Any] = {
            "output": self.output,
            "tool_calls": self.tool_calls,
            "finish_reason": self.finish_reason,
            "usage": [
                usage.prompt_tokens,
                usage.cached_tokens,
                usage.completion_tokens,
                usage.reasoning_tokens,
            ],
            "latency_s": self.latency_s,
            "ttft_s": self.ttft_s,
            "tokens_per_s": self.tokens_per_s,
            "cost_usd": self.cost_usd,
            "audio_s": self.audio_s,
        }
        if self.vectors is not None:
            entry["vectors"] = self.vectors
        if self.logprobs:
            entry["logprobs"] = to_rows(self.logprobs)
        return json.dumps(entry, separators=(",", ":"))

    @classmethod
    def from_cache(cls, entry: str) -> Response:
        data = json.loads(entry)
        return cls(
            output=data.get("output"),
            tool_calls=data.get("tool_calls"),
            finish_reason=data.get("finish_reason"),
            usage=Usage(*data["usage"]) if "usage" in data else Usage(),
            latency_s=data.get("latency_s"),
            attempts=0,
            ttft_s=data.get("ttft_s"),
            tokens_per_s=data.get("tokens_per_s"),
            cost_usd=data["cost_usd"],
            cache_hit=True,
            audio_s=data.get("audio_s"),
            vectors=data.get("vectors"),
            logprobs=from_json(data.get("logprobs")),
        )

    @property
    def logprobs_json(self) -> str | None:
        """The logprobs as the store and the cache keep them (evals.endpoints.logprobs)."""
        return to_json(self.logprobs)
