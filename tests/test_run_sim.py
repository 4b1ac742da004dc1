"""End to end over real HTTP: the `evals` CLI against `evals sim` on 127.0.0.1.

Expected figures are computed here from the sim's own request log (what the
server answered), never from the harness's output.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.sim.server import start_in_thread
from tests.helpers import REPO, chat_log, evals_cli, run_quickstart, stored_results, write

SIM_MODELS = """\
models:
  sim-good: {accuracy: 0.7, cache: true}
  sim-plain: {accuracy: 0.5, usage_details: false}
  o3-mini: {accuracy: 0.9, reasoning: true, reasoning_tokens: 32}
"""
PRICES = {  # USD per 1M tokens, written into the runner profile below
    "sim-good": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
    "o3-mini": {"input": 1.10, "cached_input": 0.55, "output": 4.40},
}
Z95 = 1.959963984540054


def runner_yaml(base_url: str, models: list[str], extra: str = "") -> str:
    lines = [
        "endpoints:",
        f'  sim: {{base_url: "{base_url}", max_concurrency: 8, timeout_s: 10}}',
        "models:",
    ]
    lines += [f"  - {{id: {m}, endpoint: sim}}" for m in models]
    lines.append("pricing:")
    lines += [f"  {m}: {json.dumps(p)}" for m, p in PRICES.items()]
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def sim(tmp_path: Path):
    config = write(tmp_path / "sim.yaml", SIM_MODELS)
    handle = start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl"))
    yield handle
    handle.stop()


def _expected_sum(a_plus_b: str) -> float:
    a, b = re.findall(r"-?\d+", a_plus_b)[:2]
    return int(a) + int(b)


def _answer_number(text: str) -> float | None:
    match = re.search(r"(-?\d+(?:\.\d+)?)\D*$", text)
    return float(match.group(1)) if match else None


def _wilson(k: int, n: int) -> tuple[float, float]:
    p = k / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return centre - half, centre + half


def test_summary_matches_what_the_sim_answered(tmp_path: Path, sim) -> None:
    runner = write(tmp_path / "runner.yaml", runner_yaml(sim.base_url, ["sim-good", "sim-plain"]))
    result = run_quickstart(
        tmp_path,
        runner,
        "--summary-json",
        "out/summary.json",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0].startswith("run: ")
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["complete"] is True
    log = chat_log(tmp_path / "sim.jsonl")
    assert len(log) == 2 * 2 * 10  # models x prompts x cases, no retries needed

    rows = {(r["prompt"], r["model"]): r for r in summary["rows"]}
    assert len(rows) == 4
    for (prompt, model), row in rows.items():
        entries = [
            e
            for e in log
            if e["model"] == model
            and ("Please add" in e["request"]["messages"][-1]["content"]) == (prompt == "chatty")
        ]
        assert len(entries) == 10 and all(e["status"] == 200 for e in entries)
        passed = sum(
            _answer_number(e["response_text"])
            == _expected_sum(e["request"]["messages"][-1]["content"])
            for e in entries
        )
        assert row["samples"] == 10 and row["errors"] == 0
        assert row["passed"] == passed
        assert row["accuracy"] == pytest.approx(passed / 10)
        low, high = _wilson(passed, 10)
        assert row["ci_low"] == pytest.approx(low) and row["ci_high"] == pytest.approx(high)
        usage = [e["usage"] for e in entries]
        assert row["prompt_tokens"] == sum(u["prompt_tokens"] for u in usage)
        assert row["completion_tokens"] == sum(u["completion_tokens"] for u in usage)
        if model == "sim-plain":  # the sim sends no details for it: unknown, not 0
            assert row["cached_tokens"] is None and row["reasoning_tokens"] is None
            assert row["cost_usd"] is None  # and no price is known for it
        else:
            cached = sum(u["prompt_tokens_details"]["cached_tokens"] for u in usage)
            assert cached > 0 and row["cached_tokens"] == cached
            price = PRICES[model]
            cost = (
                (row["prompt_tokens"] - cached) * price["input"]
                + cached * price["cached_input"]
                + row["completion_tokens"] * price["output"]
            ) / 1e6
            assert row["cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert any("sim-plain" in w for w in summary["warnings"])
    run_dir = tmp_path / "reports" / summary["run_id"]
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    assert (run_dir / "index.html").stat().st_size > 0


def test_reasoning_model_request_is_adapted(tmp_path: Path, sim) -> None:
    runner = write(tmp_path / "runner.yaml", runner_yaml(sim.base_url, ["o3-mini"]))
    result = run_quickstart(
        tmp_path,
        runner,
        "--prompt",
        "terse",
        "--summary-json",
        "s.json",
    )
    assert result.returncode == 0, result.stderr
    chats = chat_log(tmp_path / "sim.jsonl")
    assert len(chats) == 10 and all(e["status"] == 200 for e in chats)
    for entry in chats:
        body = entry["request"]
        assert "temperature" not in body and "max_tokens" not in body
        assert body["max_completion_tokens"] == 24  # the suite's max_tokens, renamed
        assert body["messages"][0]["role"] == "developer"
    row = json.loads((tmp_path / "s.json").read_text())["rows"][0]
    reasoning = sum(e["usage"]["completion_tokens_details"]["reasoning_tokens"] for e in chats)
    assert reasoning > 0 and row["reasoning_tokens"] == reasoning
    completion = sum(e["usage"]["completion_tokens"] for e in chats)
    assert row["completion_tokens"] == completion  # reasoning is inside, never added twice


def test_unadapted_reasoning_request_fails_once_with_the_error_recorded(
    tmp_path: Path, sim
) -> None:
    # Force the request through unchanged: the sim rejects it the way OpenAI does.
    profile = runner_yaml(sim.base_url, []).replace(
        "models:\n",
        "models:\n  - {id: o3-mini, endpoint: sim, capabilities: "
        "{max_tokens_param: max_tokens, temperature: true, system_role: system}}\n",
    )
    runner = write(tmp_path / "runner.yaml", profile)
    result = run_quickstart(
        tmp_path,
        runner,
        "--prompt",
        "terse",
        "--limit",
        "3",
        "--summary-json",
        "s.json",
    )
    assert result.returncode == 3, result.stderr  # nothing succeeded: incomplete
    assert "no request succeeded" in result.stderr and "client:400" in result.stdout
    chats = chat_log(tmp_path / "sim.jsonl")
    assert len(chats) == 3 and {e["status"] for e in chats} == {400}  # a 400 is never retried
    row = json.loads((tmp_path / "s.json").read_text())["rows"][0]
    assert row["errors"] == 3 and row["accuracy"] is None
    runs = json.loads(evals_cli(tmp_path, "runs", "--json").stdout)
    assert runs[0]["results"] == 3


def test_interrupted_run_keeps_what_it_received(tmp_path: Path) -> None:
    config = write(tmp_path / "sim.yaml", "models:\n  slow: {accuracy: 1.0, latency_ms: 400}\n")
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}", max_concurrency: 2}}\n'
            "models:\n  - {id: slow, endpoint: sim}\n",
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evals",
                "run",
                str(REPO / "suites/quickstart.yaml"),
                "-r",
                str(runner),
            ],
            cwd=tmp_path,
            env={**os.environ, "EVALS_HOME": str(tmp_path / ".evals")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Ctrl-C as a user's terminal sends it: a shell that started these tests in the
            # background (`make test &`) passes SIGINT down ignored, and Python then never
            # turns it into KeyboardInterrupt
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(chat_log(tmp_path / "sim.jsonl")) < 6:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 3, err
    assert "Traceback" not in err
    stored = stored_results(tmp_path)
    assert 0 < len(stored) < 20
    sent = {json.dumps(e["request"], sort_keys=True) for e in chat_log(tmp_path / "sim.jsonl")}
    assert all(json.dumps(json.loads(r["request"]), sort_keys=True) in sent for r in stored)
    runs = json.loads(evals_cli(tmp_path, "runs", "--json").stdout)
    assert runs[0]["complete"] is False and runs[0]["results"] == len(stored)
    assert runs[0]["planned"] == 20
