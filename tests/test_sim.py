"""`evals sim` over real HTTP on 127.0.0.1: wire formats, determinism, limits, faults, log.

Expected figures are computed here from the documented rules (arithmetic done in the
test, token formulas re-implemented), never read back from the server's own helpers.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import struct
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from evals.sim.config import ConfigError, load_config
from evals.sim.ratelimit import go_duration
from evals.sim.server import SimHandle, start_in_thread
from tests.helpers import read_jsonl

FAULT_KINDS = ["500", "502", "503", "529", "498", "429", "disconnect", "malformed", "stall"]

CONFIG = """\
models:
  sim-good: {accuracy: 0.8}
  sim-perfect: {accuracy: 1.0}
  sim-reasoning: {accuracy: 1.0, reasoning: true, reasoning_tokens: 64}
  sim-cached: {accuracy: 1.0, cache: true}
  sim-nodetails: {accuracy: 1.0, usage_details: false}
  sim-limited: {accuracy: 1.0, rpm: 3, tpm: 100000}
  sim-broke: {accuracy: 1.0, insufficient_quota: true}
  sim-resample: {accuracy: 0.5, resample: true}
  sim-flaky: {accuracy: 1.0, faults: [{kind: "500", rate: 0.5, times: 2}]}
  fault-stream_cut: {accuracy: 1.0, faults: [{kind: stream_cut}]}
""" + "".join(
    f"  fault-{k}: {{accuracy: 1.0, faults: [{{kind: '{k}', retry_after_s: 2, stall_s: 3}}]}}\n"
    for k in FAULT_KINDS
)

LOG_KEYS = {
    "ts",
    "model",
    "path",
    "body_sha256",
    "attempt",
    "status",
    "fault",
    "stream",
    "request",
    "response_text",
    "usage",
    "correct",
    "tool_calls",
    "images",
}


def ask(client: OpenAI, model: str, text: str, **kw: Any) -> Any:
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}], **kw
    )


def raw(
    sim: SimHandle, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request(method, path, body=body, headers={"content-type": "application/json"})
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


def expected_prompt_tokens(messages: list[dict[str, str]]) -> int:
    """The documented rule: 4 per message + ceil(chars / 4)."""
    return sum(4 + math.ceil(len(m["content"]) / 4) for m in messages)


def test_models_list(client: OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[:3] == ["sim-good", "sim-perfect", "sim-reasoning"]
    assert "fault-stall" in ids
    assert client.models.retrieve("sim-good").id == "sim-good"


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("What is 12 + 7?", "19"),
        ("Compute 20 - 25.", "-5"),
        ("3 * 4 = ?", "12"),
        ("What is 9 / 3?", "3"),
        ("What is 7 / 2?", "3.5"),
        ("Please add 12 and 7.", "19"),
        ("Repeat: hello world", "hello world"),
        ("Say exactly: The cat sat.", "The cat sat."),
    ],
)
def test_perfect_model_answers(client: OpenAI, prompt: str, answer: str) -> None:
    resp = ask(client, "sim-perfect", prompt)
    assert resp.choices[0].message.content == answer
    assert resp.choices[0].finish_reason == "stop"


def test_answer_format_and_canned(client: OpenAI) -> None:
    resp = ask(client, "sim-perfect", "Please add 12 and 7. End with 'Answer: N'.")
    assert resp.choices[0].message.content.endswith("\nAnswer: 19")
    one = ask(client, "sim-perfect", "Tell me about the weather.").choices[0].message.content
    assert (
        one
        and one
        == ask(client, "sim-perfect", "Tell me about the weather.").choices[0].message.content
    )


def test_determinism_across_servers(client: OpenAI, paths: dict[str, Path]) -> None:
    prompts = [f"What is {a} * {a + 3}?" for a in range(20)]
    first = [ask(client, "sim-good", p).choices[0].message.content for p in prompts]
    second = [ask(client, "sim-good", p).choices[0].message.content for p in prompts]
    with start_in_thread(config_path=str(paths["config"])) as other:
        c2 = OpenAI(base_url=other.base_url, api_key="x", max_retries=0)
        third = [ask(c2, "sim-good", p).choices[0].message.content for p in reversed(prompts)]
    assert first == second == list(reversed(third))


def test_accuracy_band_matches_log(client: OpenAI, paths: dict[str, Path]) -> None:
    cases = [(a, b) for a in range(20) for b in range(100, 110)]
    answers = {}
    for a, b in cases:
        answers[f"What is {a} + {b}?"] = ask(client, "sim-good", f"What is {a} + {b}?")
    right = 0
    for (a, b), resp in zip(cases, answers.values(), strict=True):
        got = int(resp.choices[0].message.content)
        assert abs(got - (a + b)) <= 1  # wrong answers are off by exactly one
        right += got == a + b
    assert 0.7 <= right / len(cases) <= 0.9
    flags = {}
    for line in read_jsonl(paths["log"]):
        if line["model"] == "sim-good" and line["request"]["messages"][0]["content"] in answers:
            flags[line["request"]["messages"][0]["content"]] = line["correct"]
            text = line["request"]["messages"][0]["content"]
            assert line["response_text"] == answers[text].choices[0].message.content
    assert len(flags) == len(cases) and sum(flags.values()) == right


def test_streaming_with_usage(client: OpenAI) -> None:
    text = "Say exactly: streaming works across several chunks"
    plain = ask(client, "sim-cached", text)
    chunks = list(
        ask(client, "sim-cached", text, stream=True, stream_options={"include_usage": True})
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
        == plain.choices[0].message.content
    )
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage == plain.usage
    no_usage = list(ask(client, "sim-cached", text, stream=True))
    assert all(c.usage is None and c.choices for c in no_usage)


def test_usage_rules(client: OpenAI) -> None:
    msgs = [
        {"role": "system", "content": "Reply with the number only."},
        {"role": "user", "content": "What is 2 + 2?"},
    ]
    resp = client.chat.completions.create(model="sim-cached", messages=msgs)
    usage = resp.usage
    assert usage.prompt_tokens == expected_prompt_tokens(msgs)
    assert usage.completion_tokens == math.ceil(len(resp.choices[0].message.content) / 4)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == usage.prompt_tokens // 2
    assert usage.completion_tokens_details.reasoning_tokens == 0
    plain = ask(client, "sim-perfect", "What is 2 + 2?").usage
    assert plain.prompt_tokens_details.cached_tokens == 0


def test_usage_details_false(sim: SimHandle, client: OpenAI) -> None:
    resp = ask(client, "sim-nodetails", "What is 1 + 1?")
    assert resp.usage.prompt_tokens_details is None and resp.usage.completion_tokens_details is None
    body = json.dumps({"model": "sim-nodetails", "messages": [{"role": "user", "content": "hi"}]})
    usage = json.loads(raw(sim, "POST", "/v1/chat/completions", body.encode())[2])["usage"]
    assert set(usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_max_tokens_truncates(client: OpenAI) -> None:
    resp = ask(client, "sim-perfect", "Say exactly: a fairly long sentence to cut", max_tokens=2)
    assert resp.choices[0].finish_reason == "length"
    assert resp.choices[0].message.content == "a fairly long sentence to cut"[:8]
    assert resp.usage.completion_tokens == 2


def test_reasoning_model_rules(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "sim-reasoning", "What is 1 + 1?", temperature=0)
    assert (err.value.code, err.value.param) == ("unsupported_value", "temperature")
    assert "'temperature' does not support 0 with this model" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "sim-reasoning", "What is 1 + 1?", top_p=0.5)
    assert (err.value.code, err.value.param) == ("unsupported_value", "top_p")
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "sim-reasoning", "What is 1 + 1?", max_tokens=100)
    assert (err.value.code, err.value.param) == ("unsupported_parameter", "max_tokens")
    assert "Use 'max_completion_tokens' instead." in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "sim-perfect", "What is 1 + 1?", reasoning_effort="high")
    assert (err.value.code, err.value.param) == ("unsupported_parameter", "reasoning_effort")

    msgs = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "What is 6 * 7?"},
    ]
    resp = client.chat.completions.create(
        model="sim-reasoning", messages=msgs, max_completion_tokens=500, temperature=1
    )
    assert resp.choices[0].message.content == "42"
    details = resp.usage.completion_tokens_details
    assert details.reasoning_tokens == 64 and resp.usage.completion_tokens == 64 + 1
    high = client.chat.completions.create(
        model="sim-reasoning", messages=msgs, reasoning_effort="high"
    )
    assert high.usage.completion_tokens_details.reasoning_tokens == 128
    cut = client.chat.completions.create(
        model="sim-reasoning", messages=msgs, max_completion_tokens=10
    )
    assert cut.choices[0].finish_reason == "length" and cut.choices[0].message.content == ""
    assert cut.usage.completion_tokens == 10


def test_rate_limit(client: OpenAI) -> None:
    for i in range(3):
        resp = client.chat.completions.with_raw_response.create(
            model="sim-limited", messages=[{"role": "user", "content": f"What is {i} + 1?"}]
        )
        assert resp.headers["x-ratelimit-limit-requests"] == "3"
        assert resp.headers["x-ratelimit-remaining-requests"] == str(2 - i)
        assert resp.headers["x-ratelimit-reset-requests"].endswith("s")
        assert resp.headers["x-ratelimit-limit-tokens"] == "100000"
    with pytest.raises(openai.RateLimitError) as err:
        ask(client, "sim-limited", "What is 9 + 1?")
    headers = err.value.response.headers
    assert err.value.code == "rate_limit_exceeded"
    assert 1 <= int(headers["retry-after"]) <= 60 and int(headers["retry-after-ms"]) > 0
    assert headers["x-ratelimit-remaining-requests"] == "0"
    with pytest.raises(openai.RateLimitError) as err:
        ask(client, "sim-broke", "What is 9 + 1?")
    assert err.value.code == "insufficient_quota"


FAULT_ERRORS: dict[str, type[Exception]] = {
    "500": openai.InternalServerError,
    "502": openai.InternalServerError,
    "503": openai.InternalServerError,
    "529": openai.InternalServerError,
    "498": openai.APIStatusError,
    "429": openai.RateLimitError,
    "disconnect": openai.APIConnectionError,
    "malformed": ValueError,  # the SDK lets json.JSONDecodeError through
    "stall": openai.APITimeoutError,
    "stream_cut": openai.APIConnectionError,
}


@pytest.mark.parametrize("kind", [*FAULT_KINDS, "stream_cut"])
@pytest.mark.parametrize("stream", [False, True])
def test_fault_hits_first_attempt_only(
    sim: SimHandle, paths: dict[str, Path], kind: str, stream: bool
) -> None:
    client = OpenAI(base_url=sim.base_url, api_key="x", max_retries=0, timeout=0.3)
    prompt = f"What is 40 + {int(stream)}?"

    def call() -> str:
        resp = ask(client, f"fault-{kind}", prompt, stream=stream)
        if stream:
            return "".join(c.choices[0].delta.content or "" for c in resp if c.choices)
        return resp.choices[0].message.content

    with pytest.raises(FAULT_ERRORS[kind]) as err:
        call()
    if kind == "429":
        assert err.value.response.headers["retry-after"] == "2"
    assert call() == str(40 + int(stream))
    mine = [
        x
        for x in read_jsonl(paths["log"])
        if x["model"] == f"fault-{kind}" and x["stream"] == stream
    ]
    assert [(x["attempt"], x["fault"]) for x in mine] == [(1, kind), (2, None)]
    assert mine[0]["response_text"] is None and mine[1]["correct"] is True


def test_fault_selection_is_by_body(sim: SimHandle, paths: dict[str, Path]) -> None:
    prompts = [f"What is {i} - 3?" for i in range(40)]

    def failures(base_url: str, order: list[str]) -> dict[str, list[bool]]:
        client = OpenAI(base_url=base_url, api_key="x", max_retries=0)
        out: dict[str, list[bool]] = {}
        for p in order:
            for _ in range(3):
                try:
                    ask(client, "sim-flaky", p)
                    out.setdefault(p, []).append(False)
                except openai.InternalServerError:
                    out.setdefault(p, []).append(True)
        return out

    first = failures(sim.base_url, prompts)
    assert set(map(tuple, first.values())) == {(True, True, False), (False, False, False)}
    assert 0.25 <= sum(v[0] for v in first.values()) / len(prompts) <= 0.75
    with start_in_thread(config_path=str(paths["config"])) as other:
        assert failures(other.base_url, list(reversed(prompts))) == first


def test_embeddings(client: OpenAI) -> None:
    one = client.embeddings.create(model="sim-good", input="hello")
    assert len(one.data[0].embedding) == 256
    # the SDK asks for base64 (float32) by default, so the norm is exact to ~1e-7
    assert math.isclose(sum(v * v for v in one.data[0].embedding), 1.0, rel_tol=1e-6)
    assert one.usage.prompt_tokens == one.usage.total_tokens == 2
    two = client.embeddings.create(model="sim-good", input=["hello", "world"], dimensions=8)
    assert [len(d.embedding) for d in two.data] == [8, 8]
    assert two.data[0].embedding != two.data[1].embedding
    again = client.embeddings.create(model="sim-good", input=["hello", "world"], dimensions=8)
    assert again.data[1].embedding == two.data[1].embedding
    b64 = client.embeddings.create(
        model="sim-good", input="hello", dimensions=8, encoding_format="base64"
    )
    packed = b64.data[0].embedding
    decoded = struct.unpack("<8f", base64.b64decode(packed)) if isinstance(packed, str) else packed
    assert all(
        math.isclose(a, b, rel_tol=1e-6)
        for a, b in zip(decoded, two.data[0].embedding, strict=True)
    )


def test_http_errors(sim: SimHandle, client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        ask(client, "no-such-model", "hi")
    assert err.value.code == "model_not_found"
    status, _, body = raw(sim, "POST", "/v1/chat/completions", b"{not json")
    assert status == 400 and set(json.loads(body)["error"]) == {"message", "type", "param", "code"}
    status, _, body = raw(sim, "POST", "/v1/chat/completions", b'{"model": "sim-good"}')
    assert status == 400 and json.loads(body)["error"]["param"] == "messages"
    assert raw(sim, "GET", "/v1/nope")[0] == 404


def test_keep_alive_and_chunked_body(sim: SimHandle) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    body = json.dumps({"model": "sim-perfect", "messages": [{"role": "user", "content": "1 + 2"}]})
    for _ in range(3):
        conn.request("POST", "/v1/chat/completions", body=body)
        assert json.loads(conn.getresponse().read())["choices"][0]["message"]["content"] == "3"
    conn.request("POST", "/v1/chat/completions", body=iter([body.encode()]), encode_chunked=True)
    assert json.loads(conn.getresponse().read())["choices"][0]["message"]["content"] == "3"
    conn.close()


def test_log_format(sim: SimHandle, paths: dict[str, Path], client: OpenAI) -> None:
    ask(client, "sim-perfect", "What is 100 + 1?")
    lines = read_jsonl(paths["log"])
    assert lines and all(set(x) == LOG_KEYS for x in lines)
    last = [x for x in lines if x["request"] and x["model"] == "sim-perfect"][-1]
    assert last["status"] == 200 and last["response_text"] == "101" and last["correct"] is True
    assert last["path"] == "/v1/chat/completions" and len(last["body_sha256"]) == 64
    assert last["usage"]["total_tokens"] > 0


def test_config_validation(tmp_path: Path) -> None:
    assert "sim-flaky" in load_config(None).models
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  m1:\n    accuracy: 0.5\n    acuracy: 0.9\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:4: models.m1: unknown key 'acuracy'"):
        load_config(bad)
    bad.write_text("models:\n  m1: {faults: [{kind: boom}]}\n")
    with pytest.raises(ConfigError, match="is not one of"):
        load_config(bad)
    bad.write_text("models:\n  m1: {accuracy: 2}\n")
    with pytest.raises(ConfigError, match="within 0..1"):
        load_config(bad)


def test_go_duration() -> None:
    assert [go_duration(s) for s in (0, 0.012, 1, 1.5, 360, 3725)] == [
        "0s",
        "12ms",
        "1s",
        "1.5s",
        "6m0s",
        "1h2m5s",
    ]


def test_logprobs_rules_and_a_lettered_answer(client: OpenAI) -> None:
    question = "What is 2 + 3?\nA. 4\nB. 5\nC. 6\nD. 7"
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "sim-perfect", question, logprobs=True, top_logprobs=21)
    assert err.value.param == "top_logprobs"
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "sim-perfect", question, top_logprobs=3)
    assert err.value.param == "logprobs"
    with pytest.raises(openai.PermissionDeniedError) as denied:
        ask(client, "sim-reasoning", question, logprobs=True)
    assert "not allowed to request logprobs" in denied.value.message
    resp = ask(client, "sim-perfect", question, logprobs=True, top_logprobs=4)
    assert resp.choices[0].message.content == "B"  # the right option's letter
    (token,) = resp.choices[0].logprobs.content
    top = [(alt.token, alt.logprob) for alt in token.top_logprobs]
    assert token.token == "B" and top[0] == ("B", token.logprob)  # written = likeliest
    assert sorted(t for t, _ in top) == ["A", "B", "C", "D"]
    assert sum(math.exp(lp) for _, lp in top) == pytest.approx(1.0)  # over the options
    plain = ask(client, "sim-perfect", question)
    assert plain.choices[0].logprobs is None  # not asked for, not sent


def test_resample_answers_each_sending_anew(client: OpenAI) -> None:
    """A `resample` model draws again for each sending of the same request; others do not."""
    prompt = "What is 17 + 25?"
    fixed = {ask(client, "sim-good", prompt).choices[0].message.content for _ in range(8)}
    fresh = [ask(client, "sim-resample", prompt).choices[0].message.content for _ in range(12)]
    assert len(fixed) == 1
    assert "42" in fresh and len(set(fresh)) > 1  # right on some sendings, wrong on others
