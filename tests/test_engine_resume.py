"""Never lose a result, never pay twice: SIGKILL + resume, the budget cap, the cache.

Every claim is checked against the sim's request log (what was actually sent).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evals.sim.server import start_in_thread
from tests.helpers import REPO, chat_log, evals_cli, run_quickstart, stored_results, write

QUICKSTART = str(REPO / "suites/quickstart.yaml")


def _runner(base_url: str, models: list[str], prices: bool = True, extra: str = "") -> str:
    text = f'endpoints:\n  sim: {{base_url: "{base_url}", max_concurrency: 4{extra}}}\nmodels:\n'
    text += "".join(f"  - {{id: {m}, endpoint: sim}}\n" for m in models)
    if prices:
        text += "pricing:\n" + "".join(f"  {m}: {{input: 100.0, output: 300.0}}\n" for m in models)
    return text


def _sim(tmp_path: Path, models: str):
    config = write(tmp_path / "sim.yaml", "models:\n" + models)
    return start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl"))


def test_sigkill_then_resume_sends_nothing_twice(tmp_path: Path) -> None:
    with _sim(tmp_path, "  slow: {accuracy: 0.8, latency_ms: 100}\n") as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, ["slow"]))
        env = {**os.environ, "EVALS_HOME": str(tmp_path / ".evals")}
        process = subprocess.Popen(
            [sys.executable, "-m", "evals", "run", QUICKSTART, "-r", str(runner)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        first_line = process.stderr.readline()
        run_id = first_line.split("run: ", 1)[1].strip()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(stored_results(tmp_path)) < 8:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        stored_before = {r["request_hash"] for r in stored_results(tmp_path)}
        sent_before = len(chat_log(tmp_path / "sim.jsonl"))
        assert 8 <= len(stored_before) < 20

        hint = run_quickstart(tmp_path, runner, "--dry-run")
        assert hint.returncode == 0
        resumed = evals_cli(tmp_path, "run", "--resume", run_id, "--summary-json", "s.json")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.splitlines()[0] == f"run: {run_id}"
    log = chat_log(tmp_path / "sim.jsonl")
    after = log[sent_before:]
    stored = stored_results(tmp_path)
    by_body = {json.dumps(json.loads(r["request"]), sort_keys=True): r for r in stored}
    resent = [
        e
        for e in after
        if by_body[json.dumps(e["request"], sort_keys=True)]["request_hash"] in stored_before
    ]
    assert resent == [], "a request whose result was stored was sent again"
    assert len(stored) == 20
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["complete"] is True
    assert sum(row["samples"] for row in summary["rows"]) == 20


def test_unfinished_run_gets_a_resume_hint(tmp_path: Path) -> None:
    with _sim(tmp_path, "  m: {accuracy: 1.0}\n") as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, ["m"]))
        # a budget too small for all 20 requests leaves the run unfinished
        first = run_quickstart(tmp_path, runner, "--max-cost", "0.05")
        assert first.returncode == 3, first.stderr
        run_id = first.stderr.splitlines()[0].split("run: ")[1]
        again = run_quickstart(tmp_path, runner, "--limit", "1")
    assert f"evals run --resume {run_id}" in again.stderr


def test_max_cost_stops_before_the_cap_and_resumes(tmp_path: Path) -> None:
    with _sim(tmp_path, "  m: {accuracy: 1.0}\n") as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, ["m"]))
        cap = 0.10
        first = run_quickstart(
            tmp_path,
            runner,
            "--max-cost",
            str(cap),
            "--summary-json",
            "s1.json",
        )
        assert first.returncode == 3, first.stderr
        assert "--max-cost" in first.stderr and "--resume" in first.stderr
        run_id = first.stderr.splitlines()[0].split("run: ")[1]
        log = chat_log(tmp_path / "sim.jsonl")
        # what the sim billed, priced by hand: $100 / $300 per 1M tokens
        spent = sum(
            (e["usage"]["prompt_tokens"] * 100 + e["usage"]["completion_tokens"] * 300) / 1e6
            for e in log
        )
        assert 0 < len(log) < 20 and spent <= cap
        summary = json.loads((tmp_path / "s1.json").read_text())
        assert summary["complete"] is False and summary["stopped_reason"] == "budget"
        assert abs(summary["spend_usd"] - spent) < 1e-12
        assert abs(sum(row["spend_usd"] for row in summary["rows"]) - spent) < 1e-12

        second = evals_cli(
            tmp_path, "run", "--resume", run_id, "--max-cost", "10", "--summary-json", "s2.json"
        )
    assert second.returncode == 0, second.stderr
    log = chat_log(tmp_path / "sim.jsonl")
    assert len(log) == 20  # the rest, nothing twice
    assert len({e["body_sha256"] for e in log}) == 20
    assert json.loads((tmp_path / "s2.json").read_text())["complete"] is True


def test_cache_replays_and_repeats_are_distinct_samples(tmp_path: Path) -> None:
    with _sim(tmp_path, "  m: {accuracy: 0.6}\n") as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, ["m"]))
        args = ("run", QUICKSTART, "-r", str(runner), "--prompt", "terse", "--limit", "5")
        first = evals_cli(tmp_path, *args, "--repeat", "3", "--summary-json", "a.json")
        assert first.returncode == 0, first.stderr
        # 5 cases x 3 repeats: every repeat is its own request, never a copy
        assert len(chat_log(tmp_path / "sim.jsonl")) == 15
        second = evals_cli(tmp_path, *args, "--repeat", "3", "--summary-json", "b.json")
        assert second.returncode == 0, second.stderr
        assert len(chat_log(tmp_path / "sim.jsonl")) == 15  # all replayed from the cache
        third = evals_cli(
            tmp_path, *args, "--repeat", "3", "--no-cache", "--summary-json", "c.json"
        )
        assert third.returncode == 0, third.stderr
        assert len(chat_log(tmp_path / "sim.jsonl")) == 30
    a, b = (json.loads((tmp_path / f"{n}.json").read_text())["rows"][0] for n in "ab")
    assert b["cache_hits"] == 15 and b["spend_usd"] == 0.0
    assert b["cost_usd"] == a["cost_usd"] > 0  # the original cost is still shown
    assert b["latency_p50_s"] == a["latency_p50_s"]  # and the original latency
    assert a["passed"] == b["passed"]
    # pass@k by hand from the stored per-sample outcomes of the first run
    first_run = [r for r in stored_results(tmp_path) if r["run_id"] == first_run_id(first)]
    per_case: dict[str, list[int]] = {}
    for r in first_run:
        per_case.setdefault(r["case_id"], []).append(r["passed"])
    pass_at_3 = sum(any(v) for v in per_case.values()) / 5  # with n = k = 3: any pass
    pass_at_1 = sum(sum(v) / 3 for v in per_case.values()) / 5
    consistency = sum(len(set(v)) == 1 for v in per_case.values()) / 5
    assert a["repeats"] == 3
    assert abs(a["pass_at_k"] - pass_at_3) < 1e-12 and abs(a["pass_at_1"] - pass_at_1) < 1e-12
    assert abs(a["consistency"] - consistency) < 1e-12


def first_run_id(result: subprocess.CompletedProcess) -> str:
    return result.stderr.splitlines()[0].split("run: ")[1]


SIM_RUNNER = str(REPO / "runners/sim.yaml")


def test_budget_stop_on_the_sim_profile_resumes_as_printed(tmp_path: Path) -> None:
    # runners/sim.yaml also holds embeddings and transcription models that the
    # quickstart suite gives nothing to do: the printed resume must still work.
    first = evals_cli(tmp_path, "run", QUICKSTART, "-r", SIM_RUNNER, "--max-cost", "0.00003")
    assert first.returncode == 3, first.stderr
    run_id = first_run_id(first)
    hint = f"evals run --resume {run_id}"
    assert hint in first.stderr
    second = evals_cli(
        tmp_path, "run", "--resume", run_id, "--max-cost", "1", "--summary-json", "s.json"
    )
    assert second.returncode == 0, second.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["complete"] is True
    # 10 cases x 2 prompts x the profile's 2 chat models, each stored once
    rows = [r for r in stored_results(tmp_path) if r["run_id"] == run_id]
    assert len(rows) == 40 and all(r["error"] is None for r in rows)


def test_cache_hits_across_runs_of_a_served_endpoint(tmp_path: Path) -> None:
    # `evals run` starts the sim on a new free port each time: the cache must
    # not depend on the port.
    args = ("run", QUICKSTART, "-r", SIM_RUNNER, "-m", "sim-good", "--limit", "3")
    first = evals_cli(tmp_path, *args, "--summary-json", "a.json")
    assert first.returncode == 0, first.stderr
    second = evals_cli(tmp_path, *args, "--summary-json", "b.json")
    assert second.returncode == 0, second.stderr
    rows = [r for r in stored_results(tmp_path) if r["run_id"] == first_run_id(second)]
    assert len(rows) == 6 and all(r["cache_hit"] == 1 for r in rows)
    b = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert sum(row["cache_hits"] for row in b) == 6 and b[0]["spend_usd"] == 0.0


def test_embeddings_suites_replay_from_the_cache(tmp_path: Path) -> None:
    args = (
        "run", str(REPO / "suites/reference/embeddings.yaml"), "-r", SIM_RUNNER,
        "-m", "sim-embed-small",
    )  # fmt: skip
    first = evals_cli(tmp_path, *args, "--summary-json", "a.json")
    assert first.returncode == 0, first.stderr
    second = evals_cli(tmp_path, *args, "--summary-json", "b.json")
    assert second.returncode == 0, second.stderr
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert b["spend_usd"] == 0.0 < a["spend_usd"]
    for row_a, row_b in zip(a["rows"], b["rows"], strict=True):
        assert row_b["cache_hits"] == row_b["samples"] > 0 and row_a["cache_hits"] == 0
        assert row_b["recall_at_k"] == row_a["recall_at_k"] and row_b["mrr"] == row_a["mrr"]
        assert row_b["cost_usd"] == pytest.approx(row_a["cost_usd"])  # what results cost
