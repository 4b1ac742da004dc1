"""Streaming mode and rate limits, over real HTTP against `evals sim`."""

from __future__ import annotations

import json
from pathlib import Path

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
