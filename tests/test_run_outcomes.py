"""What a run says when things go wrong: every request failed, usage missing.

Over real HTTP against `evals sim`; expected figures come from the sim's log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.sim.server import start_in_thread
from tests.helpers import chat_log, run_quickstart, write


def _runner(base_url: str, model: str) -> str:
    return (
        f'endpoints:\n  sim: {{base_url: "{base_url}", max_concurrency: 4, max_attempts: 1}}\n'
        f"models:\n  - {{id: {model}, endpoint: sim}}\n"
        f"pricing:\n  {model}: {{input: 1.0, output: 2.0}}\n"
    )


def test_a_run_where_every_request_failed_is_not_complete(tmp_path: Path) -> None:
    config = write(
        tmp_path / "sim.yaml",
        "models:\n  broken: {faults: [{kind: '500', rate: 1.0, times: null}]}\n",
    )
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, "broken"))
        result = run_quickstart(tmp_path, runner, "--limit", "2", "--summary-json", "s.json")
    assert result.returncode == 3, result.stderr
    assert len(chat_log(tmp_path / "sim.jsonl")) == 4  # 2 cases x 2 prompts, one attempt each
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["complete"] is False and summary["stopped_reason"] == "failed"
    for row in summary["rows"]:
        assert row["errors"] == row["samples"] == 2 and row["accuracy"] is None
        assert row["error_kinds"][0]["count"] == 2
    # the terminal names the errors, and the report marks nothing as best or cheapest
    assert "errors:" in result.stdout and "500" in result.stdout
    assert "no request succeeded" in result.stderr
    html = (tmp_path / "reports" / summary["run_id"] / "index.html").read_text()
    assert 'class="mark cheapest"' not in html and 'class="mark best"' not in html


def test_a_priced_model_without_usage_has_unknown_cost(tmp_path: Path) -> None:
    config = write(
        tmp_path / "sim.yaml",
        "models:\n  quiet: {accuracy: 1.0, usage_style: none}\n  open: {accuracy: 1.0}\n",
    )
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}", max_concurrency: 4}}\n'
            "models:\n  - {id: quiet, endpoint: sim}\n  - {id: open, endpoint: sim}\n"
            "pricing:\n  quiet: {input: 1.0, output: 2.0}\n  open: {input: 1.0, output: 2.0}\n",
        )
        result = run_quickstart(tmp_path, runner, "--limit", "3", "--summary-json", "s.json")
    assert result.returncode == 0, result.stderr
    log = chat_log(tmp_path / "sim.jsonl")
    assert all(e["usage"] is None for e in log if e["model"] == "quiet")
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    quiet = [r for r in rows if r["model"] == "quiet"]
    assert len(quiet) == 2
    for row in quiet:  # priced, but nobody said how many tokens: unknown, not $0
        assert row["cost_usd"] is None and row["spend_usd"] is None
        assert row["samples_without_usage"] == 3 and row["prompt_tokens"] is None
    # the model that reported usage, priced by hand from the sim's log at $1 / $2 per 1M
    billed = sum(
        (e["usage"]["prompt_tokens"] * 1.0 + e["usage"]["completion_tokens"] * 2.0) / 1e6
        for e in log
        if e["model"] == "open"
    )
    opened = [r for r in rows if r["model"] == "open"]
    assert sum(r["cost_usd"] for r in opened) == pytest.approx(billed, rel=1e-12)
    assert all(r["samples_without_usage"] == 0 for r in opened)
