"""Streaming mode, rate limits and provider usage shapes, over real HTTP against `evals sim`
(plus unit tests of the stream reader on chunks typed by the SDK)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from evals.endpoints.wire import read_stream
from evals.records import Usage
from evals.sim.server import start_in_thread
from tests.helpers import REPO, chat_log, run_quickstart, stored_results, write

QUICKSTART = str(REPO / "suites/quickstart.yaml")


def test_streaming_measures_ttft_and_survives_cut_streams(tmp_path: Path) -> None:
    config = write(
        tmp_path / "sim.yaml",
        "models:\n"
        "  streamer: {accuracy: 0.8, latency_ms: 30, tokens_per_s: 400,\n"
        "             faults: [{kind: stream_cut, rate: 0.5, times: 1}]}\n",
    )
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: streamer, endpoint: sim, stream: true}\n",
        )
        result = run_quickstart(tmp_path, runner, "--summary-json", "s.json")
    assert result.returncode == 0, result.stderr
    log = chat_log(tmp_path / "sim.jsonl")
    assert all(e["stream"] for e in log)
    assert all(e["request"]["stream_options"] == {"include_usage": True} for e in log)
    cut = {e["body_sha256"] for e in log if e["fault"] == "stream_cut"}
    answered = [e for e in log if e["status"] == 200 and not e["fault"]]
    assert cut and len(answered) == 20  # every cut stream was retried to an answer
    stored = stored_results(tmp_path)
    assert all(r["error"] is None for r in stored)
    assert sorted(r["attempts"] for r in stored) == sorted(
        2 if e["body_sha256"] in cut else 1 for e in answered
    )
    # usage comes from the final chunk: sums match what the sim sent
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert sum(r["completion_tokens"] for r in rows) == sum(
        e["usage"]["completion_tokens"] for e in answered
    )
    assert sum(r["passed"] for r in rows) == sum(e["correct"] for e in answered)
    for row in rows:
        # the sim waits 30 ms before the first byte: the first token cannot come sooner
        assert 0.03 <= row["ttft_p50_s"] <= row["latency_p50_s"]
        assert row["tokens_per_s_p50"] is not None and row["tokens_per_s_p50"] > 0


def test_declared_rpm_spends_the_servers_room_without_429s(tmp_path: Path) -> None:
    # The runner declares 30 RPM (one request every 2 s if paced blindly); the sim
    # allows 30 per minute too and says so in x-ratelimit-remaining-requests. 20
    # requests fit in that room: they go at once, and none is answered 429.
    rpm = 30
    config = write(tmp_path / "sim.yaml", f"models:\n  limited: {{accuracy: 1.0, rpm: {rpm}}}\n")
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}", max_concurrency: 16, rpm: {rpm}}}\n'
            "models:\n  - {id: limited, endpoint: sim}\n",
        )
        result = run_quickstart(tmp_path, runner, "--limit", "10")
    assert result.returncode == 0, result.stderr
    log = chat_log(tmp_path / "sim.jsonl")
    assert len(log) == 20 and all(e["status"] == 200 for e in log)
    stamps = sorted(e["ts"] for e in log)
    # blind pacing at 30/min would need (20 - 1 burst) x 2 s = 38 s; the room takes ~0
    assert stamps[-1] - stamps[0] < 10


# --- provider usage flavours (issue 14) ----------------------------------------------------
# The sim sends each provider's usage shape (`usage_style`); the engine must store the
# cached count the server sent, streamed or not. Expected figures come from the sim's
# request log (what it sent) or, for llama.cpp whose `timings` the log does not hold, from
# the sim's documented rule for `cache: true` (cached = prompt_tokens // 2 when >= 8).

FLAVOURS_SIM = """\
models:
  ds: {accuracy: 0.8, cache: true, usage_style: deepseek}
  gq: {accuracy: 0.8, cache: true, usage_style: groq}
  lc: {accuracy: 0.8, cache: true, usage_style: llama.cpp}
  lc-other: {accuracy: 0.8, cache: true, usage_style: llama.cpp}
"""
# runner model id -> (sim model, streamed)
FLAVOUR_MODELS = {
    "ds": ("ds", False),
    "ds-stream": ("ds", True),
    "gq-stream": ("gq", True),
    "lc": ("lc", False),
    "lc-stream": ("lc", True),
    "lc-other": ("lc-other", False),
    "lc-other-stream": ("lc-other", True),
}


def test_sim_rejects_an_unknown_usage_style() -> None:
    from evals.sim.config import ConfigError, parse_config

    assert (
        parse_config({"models": {"m": {"usage_style": "groq"}}}).models["m"].usage_style == "groq"
    )
    try:
        parse_config({"models": {"m": {"usage_style": "grok"}}}, "sim.yaml")
    except ConfigError as exc:
        assert "models.m.usage_style: 'grok' is not one of openai, deepseek" in str(exc)
    else:
        raise AssertionError("an unknown usage_style was accepted")


def _flavours_runner(base_url: str) -> str:
    lines = [
        "endpoints:",
        f'  sim: {{base_url: "{base_url}"}}',  # kind unknown
        f'  llama: {{base_url: "{base_url}", kind: llama.cpp}}',
        "models:",
    ]
    for model_id, (sim_model, streamed) in FLAVOUR_MODELS.items():
        endpoint = "llama" if sim_model == "lc" else "sim"
        lines.append(
            f"  - {{id: {model_id}, endpoint: {endpoint}, model: {sim_model}, "
            f"stream: {str(streamed).lower()}}}"
        )
    return "\n".join(lines) + "\n"


def _request_key(model: str, streamed: bool, messages: list) -> tuple:
    return model, streamed, json.dumps(messages, sort_keys=True)


def test_provider_usage_flavours_reach_the_store(tmp_path: Path) -> None:
    config = write(tmp_path / "sim.yaml", FLAVOURS_SIM)
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(tmp_path / "r.yaml", _flavours_runner(sim.base_url))
        # no cache: a streamed and a plain request share a cache entry
        result = run_quickstart(tmp_path, runner, "--no-cache", "--summary-json", "s.json")
    assert result.returncode == 0, result.stderr
    sent = {
        _request_key(e["model"], e["stream"], e["request"]["messages"]): e["usage"]
        for e in chat_log(tmp_path / "sim.jsonl")
        if e["status"] == 200
    }
    stored = stored_results(tmp_path)
    assert {r["model"] for r in stored} == set(FLAVOUR_MODELS)
    assert len(stored) == len(sent) == 20 * len(FLAVOUR_MODELS)
    wrong = set()  # (model id, field) stored differently from what the sim sent
    for row in stored:
        sim_model, streamed = FLAVOUR_MODELS[row["model"]]
        usage = sent[_request_key(sim_model, streamed, json.loads(row["request"])["messages"])]
        assert row["error"] is None
        if sim_model == "ds":  # DeepSeek: top-level prompt_cache_hit_tokens
            assert "prompt_tokens_details" not in usage
            cached = usage["prompt_cache_hit_tokens"]
        elif sim_model == "gq":  # Groq: the whole usage object came in x_groq
            cached = usage["prompt_tokens_details"]["cached_tokens"]
        elif sim_model == "lc":  # llama.cpp endpoint: timings.cache_n
            assert "prompt_tokens_details" not in usage
            cached = usage["prompt_tokens"] // 2 if usage["prompt_tokens"] >= 8 else 0
        else:  # the same llama.cpp-shaped body from an endpoint of unknown kind
            cached = None
        want = {
            **{f: usage[f] for f in ("prompt_tokens", "completion_tokens")},
            "cached_tokens": cached,
        }
        wrong |= {(row["model"], f) for f, value in want.items() if row[f] != value}
    assert not wrong, sorted(wrong)
    assert all(r["cached_tokens"] > 0 for r in stored if not r["model"].startswith("lc-other"))
    assert all(r["ttft_s"] is not None for r in stored if FLAVOUR_MODELS[r["model"]][1])
    # ... and on to the summary: known counts summed, the unknown one left unknown
    for row in json.loads((tmp_path / "s.json").read_text())["rows"]:
        mine = [r for r in stored if (r["model"], r["prompt"]) == (row["model"], row["prompt"])]
        if row["model"].startswith("lc-other"):
            assert row["cached_tokens"] is None
        else:
            assert row["cached_tokens"] == sum(r["cached_tokens"] for r in mine) > 0


def _chunks(*frames: dict):
    """Chunks typed by the SDK itself, as its AsyncStream yields them."""
    from openai._models import construct_type
    from openai.types.chat import ChatCompletionChunk

    async def stream():
        for frame in frames:
            yield construct_type(type_=ChatCompletionChunk, value=frame)

    return stream()


def _frame(choices: list, **extra) -> dict:
    head = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return {**head, "choices": choices, **extra}


def test_read_stream_prefers_top_level_usage_over_x_groq() -> None:
    # newer Groq may send both in the final chunk: the top-level one is read
    delta = [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]
    done = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    groq = {"id": "req_1", "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    top = {"prompt_tokens": 30, "completion_tokens": 2, "total_tokens": 32}
    stream = _chunks(
        _frame(delta, x_groq={"id": "req_1"}),
        _frame(done, x_groq=groq, usage=top),
    )
    result = asyncio.run(read_stream(stream, time.perf_counter()))
    assert result.output == "hi" and result.finish_reason == "stop"
    assert result.usage == Usage(prompt_tokens=30, completion_tokens=2)
    only_groq = _chunks(_frame(delta), _frame(done, x_groq=groq))
    assert asyncio.run(read_stream(only_groq, 0.0)).usage == Usage(
        prompt_tokens=1, completion_tokens=1
    )


def test_read_stream_reads_timings_for_llama_cpp_only() -> None:
    done = [{"index": 0, "delta": {"content": "4"}, "finish_reason": "stop"}]
    last = _frame(
        [],
        usage={"prompt_tokens": 237, "completion_tokens": 35, "total_tokens": 272},
        timings={"cache_n": 236, "prompt_n": 1, "predicted_n": 35},
    )
    llama = asyncio.run(read_stream(_chunks(_frame(done), last), 0.0, "llama.cpp"))
    assert llama.usage.cached_tokens == 236
    other = asyncio.run(read_stream(_chunks(_frame(done), last), 0.0, "vllm"))
    assert other.usage == Usage(prompt_tokens=237, completion_tokens=35)
