"""The engine survives endpoint faults: retried when retryable, recorded when final.

Each simulated model injects one fault kind on the first attempt of about half
of its requests; the sim's log says which requests were hit and what it answered.
"""

from __future__ import annotations

import json
from pathlib import Path

from evals.sim.server import start_in_thread
from tests.helpers import chat_log, run_quickstart, stored_results, write

FAULTY = {
    "m-500": '{kind: "500", rate: 0.5, times: 1}',
    "m-529": '{kind: "529", rate: 0.5, times: 1}',
    "m-429": '{kind: "429", rate: 0.5, times: 1, retry_after_s: 0.3}',
    "m-disconnect": "{kind: disconnect, rate: 0.5, times: 1}",
    "m-malformed": "{kind: malformed, rate: 0.5, times: 1}",
    "m-stall": "{kind: stall, rate: 0.5, times: 1, stall_s: 5}",
}


def _sim_config(models: dict[str, str]) -> str:
    lines = ["models:"]
    lines += [f"  {name}: {{accuracy: 0.7, faults: [{fault}]}}" for name, fault in models.items()]
    return "\n".join(lines) + "\n"


def _runner(base_url: str, models: list[str], attempts: int = 6) -> str:
    head = (
        "endpoints:\n"
        f'  sim: {{base_url: "{base_url}", max_concurrency: 8, timeout_s: 1.0, '
        f"max_attempts: {attempts}}}\n"
        "models:\n"
    )
    return head + "".join(f"  - {{id: {m}, endpoint: sim}}\n" for m in models)


def _rows(tmp_path: Path) -> dict[str, dict]:
    summary = json.loads((tmp_path / "s.json").read_text())
    return {row["model"]: row for row in summary["rows"]}


def test_every_fault_kind_is_survived(tmp_path: Path) -> None:
    config = write(tmp_path / "sim.yaml", _sim_config(FAULTY))
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, list(FAULTY)))
        result = run_quickstart(
            tmp_path,
            runner,
            "--prompt",
            "terse",
            "--summary-json",
            "s.json",
        )
    assert result.returncode == 0, result.stderr
    log = chat_log(tmp_path / "sim.jsonl")
    rows = _rows(tmp_path)
    stored = stored_results(tmp_path)
    for model in FAULTY:
        entries = [e for e in log if e["model"] == model]
        faulted = {e["body_sha256"] for e in entries if e["fault"]}
        answered = [e for e in entries if e["status"] == 200 and not e["fault"]]
        assert faulted, f"{model}: the sim injected no fault; the test proves nothing"
        assert len(answered) == 10, model  # every case got its answer in the end
        row = rows[model]
        assert row["samples"] == 10 and row["errors"] == 0, (model, row)
        assert row["passed"] == sum(e["correct"] for e in answered), model
        attempts = {r["case_id"]: r["attempts"] for r in stored if r["model"] == model}
        assert sorted(attempts.values()) == sorted(
            2 if e["body_sha256"] in faulted else 1 for e in answered
        ), model


def test_final_failures_are_recorded_not_scored(tmp_path: Path) -> None:
    always = {"m-down": '{kind: "503", rate: 1.0, times: null}'}
    config = write(tmp_path / "sim.yaml", _sim_config(always))
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, ["m-down"], attempts=3))
        result = run_quickstart(
            tmp_path,
            runner,
            "--prompt",
            "terse",
            "--limit",
            "4",
            "--summary-json",
            "s.json",
        )
    assert result.returncode == 3, result.stderr  # nothing succeeded: incomplete
    assert "no request succeeded" in result.stderr
    log = chat_log(tmp_path / "sim.jsonl")
    assert len(log) == 4 * 3  # four cases, three attempts each, then given up
    row = _rows(tmp_path)["m-down"]
    assert row["errors"] == 4 and row["passed"] == 0 and row["accuracy"] is None
    for stored in stored_results(tmp_path):
        assert stored["attempts"] == 3 and stored["error_class"] == "server:503"
        assert stored["passed"] is None


def test_client_errors_are_not_retried(tmp_path: Path) -> None:
    with start_in_thread(log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, ["no-such-model"]))
        result = run_quickstart(
            tmp_path,
            runner,
            "--prompt",
            "terse",
            "--limit",
            "2",
            "--summary-json",
            "s.json",
        )
    assert result.returncode == 3, result.stderr  # nothing succeeded: incomplete
    assert "no request succeeded" in result.stderr
    log = chat_log(tmp_path / "sim.jsonl")
    assert len(log) == 2 and {e["status"] for e in log} == {404}
    assert {r["error_class"] for r in stored_results(tmp_path)} == {"client:404"}


def test_insufficient_quota_stops_the_endpoint(tmp_path: Path) -> None:
    config = write(
        tmp_path / "sim.yaml",
        "models:\n  broke: {accuracy: 1.0, insufficient_quota: true}\n  ok: {accuracy: 1.0}\n",
    )
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        profile = (
            "endpoints:\n"
            f'  a: {{base_url: "{sim.base_url}", max_concurrency: 2}}\n'
            f'  b: {{base_url: "{sim.base_url}", max_concurrency: 2}}\n'
            "models:\n  - {id: broke, endpoint: a}\n  - {id: ok, endpoint: b}\n"
        )
        runner = write(tmp_path / "r.yaml", profile)
        result = run_quickstart(
            tmp_path,
            runner,
            "--summary-json",
            "s.json",
        )
    assert result.returncode == 3, result.stderr
    assert "insufficient_quota" in result.stderr and "--resume" in result.stderr
    log = chat_log(tmp_path / "sim.jsonl")
    broke = [e for e in log if e["model"] == "broke"]
    assert 1 <= len(broke) <= 2  # never retried; the endpoint stopped at once
    assert all(e["status"] == 429 for e in broke)
    assert len([e for e in log if e["model"] == "ok"]) == 20  # the other endpoint went on


def test_per_request_deadline(tmp_path: Path) -> None:
    config = write(
        tmp_path / "sim.yaml",
        "models:\n  stuck: {accuracy: 1.0,\n"
        "    faults: [{kind: stall, rate: 1.0, times: null, stall_s: 5}]}\n",
    )
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}", timeout_s: 0.5, deadline_s: 1.2}}\n'
            "models:\n  - {id: stuck, endpoint: sim}\n",
        )
        result = run_quickstart(
            tmp_path,
            runner,
            "--limit",
            "1",
            "--prompt",
            "terse",
        )
    assert result.returncode == 3, result.stderr  # nothing succeeded: incomplete
    assert "no request succeeded" in result.stderr
    [stored] = stored_results(tmp_path)
    assert stored["error_class"] == "deadline" and "deadline of 1.2 s" in stored["error"]
    assert stored["attempts"] == len(chat_log(tmp_path / "sim.jsonl")) <= 3
