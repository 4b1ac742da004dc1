"""The retry policy, case by case: which failures are retried and how long to wait."""

from __future__ import annotations

import json
import random

import httpx2
import openai
import pytest

from evals.endpoints.wire import StreamCut
from evals.engine.retry import Failure, backoff_s, classify

REQUEST = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")


def status_error(status: int, code: str | None = None, headers: dict | None = None):
    body = {"error": {"message": f"status {status}", "type": "x", "param": None, "code": code}}
    response = httpx2.Response(
        status, headers=headers or {}, content=json.dumps(body).encode(), request=REQUEST
    )
    client = openai.OpenAI(api_key="x", base_url="http://127.0.0.1:1/v1", max_retries=0)
    return client._make_status_error_from_response(response)


@pytest.mark.parametrize(
    ("status", "retryable", "kind"),
    [
        (408, True, "server"),
        (409, True, "server"),
        (429, True, "rate_limit"),
        (498, True, "server"),
        (500, True, "server"),
        (503, True, "server"),
        (529, True, "server"),
        (400, False, "client"),
        (401, False, "client"),
        (403, False, "client"),
        (404, False, "client"),
        (422, False, "client"),
    ],
)
def test_status_codes(status: int, retryable: bool, kind: str) -> None:
    failure = classify(status_error(status))
    assert (failure.retryable, failure.kind, failure.status) == (retryable, kind, status)
    assert failure.error_class == f"{kind}:{status}"


def test_insufficient_quota_is_not_retried() -> None:
    failure = classify(status_error(429, code="insufficient_quota"))
    assert failure.kind == "quota" and not failure.retryable


def test_transport_faults_are_retried() -> None:
    assert classify(openai.APITimeoutError(request=REQUEST)).kind == "timeout"
    assert classify(openai.APIConnectionError(request=REQUEST)).kind == "connection"
    assert classify(json.JSONDecodeError("x", "doc", 0)).kind == "malformed"
    assert classify(StreamCut("cut")).kind == "stream_cut"
    for exc in (openai.APITimeoutError(request=REQUEST), StreamCut("cut")):
        assert classify(exc).retryable


def test_unknown_exceptions_are_not_retried() -> None:
    failure = classify(RuntimeError("boom"))
    assert not failure.retryable and "RuntimeError" in failure.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # the ms header wins
        ({"retry-after": "600"}, 600.0),  # longer than the SDK's 120 s cap: still honoured
    ],
)
def test_retry_after_is_read(headers: dict, expected: float) -> None:
    failure = classify(status_error(429, headers=headers))
    assert failure.retry_after_s == pytest.approx(expected)
    delay = backoff_s(1, failure, random.Random(1))
    # the server's wait is a floor; jitter adds at most a tenth of the 0.5 s window
    assert expected <= delay <= expected + 0.05


def test_full_jitter_backoff_grows_and_is_capped() -> None:
    failure = Failure("server", True, "x", 500)
    rng = random.Random(7)
    for attempt, window in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 30.0)]:
        delays = [backoff_s(attempt, failure, rng) for _ in range(400)]
        assert all(0 <= d <= window for d in delays)
        # full jitter: spread over the whole window, not clustered at its top
        assert min(delays) < window * 0.1 and max(delays) > window * 0.9


def test_api_keys_never_reach_messages() -> None:
    from evals.redact import redact, register_secret

    register_secret("my-very-secret-key-123")
    failure = classify(RuntimeError("bad key my-very-secret-key-123 and sk-abcdef1234567890"))
    assert "my-very-secret-key-123" not in failure.message
    assert "sk-abcdef1234567890" not in failure.message
    assert redact("nothing secret") == "nothing secret"
