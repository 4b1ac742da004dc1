"""One batch line each way: a planned request out, an answer (or failure) back.

A `custom_id` names its sample (suite, case, prompt, model, repeat) and the first hex
digits of its request hash: an answer is only taken for the request it was asked for,
so a suite edited between submitting and ingesting is not paired with stale answers.
"""

from __future__ import annotations

import json
from typing import Any

from evals.endpoints.responses_wire import answer_of
from evals.endpoints.wire import chat_answer
from evals.engine.response import Response
from evals.engine.retry import RETRYABLE_STATUS, Failure
from evals.redact import redact
from evals.run.plan import Job

URLS = {"chat": "/v1/chat/completions", "responses": "/v1/responses"}
"""The request kinds a batch carries, and the path each posts to."""


def batchable(job: Job) -> bool:
    """Whether a job can go in a batch: one-turn chat or Responses requests. (Canned tool
    results need a reply before the next turn, so those conversations go online.)"""
    request = job.request
    return request.kind in URLS and request.tool_results is None


def custom_id(job: Job) -> str:
    key = [job.suite.name, job.case.id, job.prompt, job.model.id, job.repeat]
    return json.dumps([*key, job.request_hash[:12]], ensure_ascii=False, separators=(",", ":"))


def request_line(job: Job) -> bytes:
    """The JSONL line of one job (OpenAI's batch input format, which vLLM reads too)."""
    line = {
        "custom_id": custom_id(job),
        "method": "POST",
        "url": URLS[job.request.kind],
        "body": job.body,
    }
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def judge_line(cache_key: str, kind: str, body: dict[str, Any]) -> bytes:
    """A grader's judge call as a batch line; its custom_id is its response-cache key."""
    line = {"custom_id": cache_key, "method": "POST", "url": URLS[kind], "body": body}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def read_line(
    text: str | bytes, kind: str, endpoint_kind: str | None = None
) -> tuple[str, Response]:
    """(custom_id, the Response it carries) of one output or error file line.

    A line whose response is not a 200 becomes a failed Response classified as an
    online answer with that status would be; a request the batch never ran (expired,
    cancelled) is a retryable failure of kind `batch`. ValueError for a line that is
    not a batch result at all.
    """
    try:
        data = json.loads(text)
        cid = data["custom_id"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("not a batch output line (no custom_id)") from None
    if not isinstance(cid, str):
        raise ValueError("not a batch output line (custom_id is not a string)")
    response = data.get("response")
    if isinstance(response, dict) and response.get("status_code") == 200:
        return cid, _answer(response.get("body"), kind, endpoint_kind)
    return cid, Response.failed(_failure(response, data.get("error")), 1, 0.0, 0)


def _answer(body: Any, kind: str, endpoint_kind: str | None) -> Response:
    try:
        answer = answer_of(body) if kind == "responses" else chat_answer(body, endpoint_kind)
    except ValueError as exc:
        failure = Failure("malformed", True, f"malformed batch response body: {exc}")
        return Response.failed(failure, 1, 0.0, 0)
    return Response(
        output=answer.output,
        tool_calls=answer.tool_calls,
        finish_reason=answer.finish_reason,
        usage=answer.usage,
        latency_s=None,  # a batch has no per-request latency
        attempts=1,
        logprobs=answer.logprobs,
    )


def _failure(response: Any, error: Any) -> Failure:
    """How a line failed, in the online retry policy's terms."""
    if isinstance(response, dict) and isinstance(response.get("status_code"), int):
        status = response["status_code"]
        body = response.get("body")
        detail = body.get("error") if isinstance(body, dict) else None
        message = _message(detail) or f"status {status}"
        code = detail.get("code") if isinstance(detail, dict) else None
        if status == 429 and code == "insufficient_quota":
            return Failure("quota", False, message, status, code=code)
        if status == 429:
            return Failure("rate_limit", True, message, status, code=code)
        if status >= 500 or status in RETRYABLE_STATUS:
            return Failure("server", True, message, status, code=code)
        return Failure("client", False, message, status, code=code)
    code = error.get("code") if isinstance(error, dict) else None
    message = _message(error) or "the batch returned no response for this request"
    return Failure("batch", True, f"{code}: {message}" if code else message, code=code)


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        return redact(str(detail.get("message") or ""))[:500]
    return redact(str(detail or ""))[:500]
