"""The steps every answering endpoint of the sim shares (chat completions, responses):
validation, admission (faults, rate limits), the answer, its log record and timing.

Each endpoint then only shapes the reply its API defines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from evals.sim.admission import Admission
from evals.sim.behaviour import latency_s
from evals.sim.chat import answer_chat
from evals.sim.config import FaultConfig, ModelConfig
from evals.sim.logprobs import token_logprobs
from evals.sim.reply import Reply, error_reply
from evals.sim.usage import Answer, last_user_text, message_text
from evals.sim.validate import check_chat


@dataclass
class Answered:
    """An admitted request's answer, ready to be shaped into a reply."""

    ans: Answer
    usage: dict[str, Any] | None
    headers: list[tuple[str, str]]
    fault: FaultConfig | None
    stream: bool
    number: int  # for the reply's ids
    delay_s: float  # before the first byte: latency, plus decoding when not streamed
    gap_s: float  # between paced stream events (tokens_per_s)
    logprobs: list[dict[str, Any]] | None = None  # asked for with `logprobs: true`


def answer_request(
    admission: Admission,
    ids: Iterator[int],
    model: ModelConfig,
    chat: dict[str, Any],
    sha: str,
    attempt: int,
    rec: dict | None,
    usage_of: Callable[[Answer], dict[str, Any] | None],
) -> Reply | Answered:
    """A chat-shaped request answered, or the error reply that stops it (a bad request,
    a fault or a rate limit); `usage_of` writes usage the way the endpoint's API does."""
    problem = check_chat(model, chat)
    if problem is not None:
        return error_reply(*problem)
    stream = bool(chat.get("stream"))
    if rec is not None:
        rec["stream"] = stream
        rec["images"] = sum(message_text(m)[1] for m in chat["messages"])
    gated, fault = admission.gate(model, sha, attempt, rec)
    if gated is not None:
        return gated
    if model.resample and attempt > 1:  # a fresh sample for each sending of this request
        model = replace(model, seed=model.seed + attempt - 1)
    ans = answer_chat(model, chat)
    headers: list[tuple[str, str]] = []
    if fault is None:
        headers, limited = admission.limit(model, ans.prompt_tokens + ans.completion_tokens)
        if limited is not None:
            return limited
    usage = usage_of(ans)
    logprobs = None
    if chat.get("logprobs") and not ans.tool_calls:
        logprobs = token_logprobs(model, chat, ans, last_user_text(chat["messages"]))
    if rec is not None and fault is None:
        rec.update(
            response_text=None if ans.tool_calls else ans.text,
            usage=usage,
            correct=ans.correct,
            tool_calls=ans.tool_calls,
        )
        if logprobs is not None:
            rec["logprobs"] = logprobs
    number = next(ids)
    headers.append(("x-request-id", f"req_sim{number:012x}"))
    delay = 0.0
    if model.latency_ms or model.latency_jitter_ms:
        delay = latency_s(model, last_user_text(chat["messages"]))
    gap = 0.0
    if model.tokens_per_s:
        gap = 1.0 / model.tokens_per_s
        delay += ans.reasoning_tokens * gap if stream else ans.completion_tokens * gap
    return Answered(ans, usage, headers, fault, stream, number, delay, gap, logprobs)
