"""`evals run --dry-run` estimates, and the estimate beside the actual after a real run.

End to end over HTTP against `evals sim`. The characters estimate is computed here
by hand from the request bodies the sim received (the exact bodies the dry run
would send); the history estimate from the stored usage and timings of the
earlier run; dollars from the prices written in this file's runner profile.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from tests.helpers import chat_log, evals_cli, run_quickstart, stored_results, write

CONFIG = """\
models:
  sim-good: {accuracy: 0.8, cache: true}
  o3-mini: {accuracy: 0.9, reasoning: true, reasoning_tokens: 8}
  sim-slow: {accuracy: 0.8, latency_ms: 100, latency_jitter_ms: 50}
"""
PRICES = {  # USD per 1M tokens
    "sim-good": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
    "o3-mini": {"input": 1.10, "cached_input": 0.55, "output": 4.40},
}
PER_HOUR = 3.6
LIMIT = 3  # cases of the quickstart suite
ROW = re.compile(
    r"^      quickstart/(\w+): (\d+) requests, about ([\d,]+) prompt \+ ([\d,]+) completion "
    r"tokens, (?:\$([\d.]+)|cost unknown)[^\[]*\[(.+)\]$"
)


def runner_yaml(base_url: str) -> str:
    return (
        "endpoints:\n"
        f'  sim: {{base_url: "{base_url}", max_concurrency: 4, timeout_s: 10}}\n'
        f'  gpu: {{base_url: "{base_url}", max_concurrency: 2, timeout_s: 10, '
        f"price_per_hour: {PER_HOUR}}}\n"
        "models:\n"
        "  - {id: sim-good, endpoint: sim}\n"
        "  - {id: o3-mini, endpoint: sim}\n"
        "  - {id: sim-slow, endpoint: gpu}\n"
        "pricing:\n" + "".join(f"  {m}: {json.dumps(p)}\n" for m, p in PRICES.items())
    )


def plan_rows(stderr: str) -> dict[tuple[str, str], dict]:
    """(prompt, model) -> requests, prompt, completion, cost, basis, from a dry run's lines."""
    rows, model = {}, None
    for line in stderr.splitlines():
        if line.startswith("  model "):
            model = line.split()[1]
        match = ROW.match(line)
        if match:
            prompt, n, p, c, cost, basis = match.groups()
            rows[(prompt, model)] = {
                "requests": int(n),
                "prompt_tokens": int(p.replace(",", "")),
                "completion_tokens": int(c.replace(",", "")),
                "cost_usd": None if cost is None else float(cost),
                "basis": basis,
            }
    return rows


def _prompt_name(body: dict) -> str:
    return "chatty" if "Please add" in body["messages"][-1]["content"] else "terse"


def characters_by_hand(log: list[dict]) -> dict[tuple[str, str], dict]:
    """chars / 3 + 4 per message + 3, and the output limit, summed over the bodies sent."""
    rows: dict[tuple[str, str], dict] = {}
    for entry in log:
        body = entry["request"]
        row = rows.setdefault(
            (_prompt_name(body), body["model"]),
            {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0},
        )
        chars = sum(len(m["content"]) for m in body["messages"])
        row["requests"] += 1
        row["prompt_tokens"] += chars // 3 + 4 * len(body["messages"]) + 3
        row["completion_tokens"] += body.get("max_completion_tokens") or body["max_tokens"]
    for (_, model), row in rows.items():
        price = PRICES.get(model)
        row["cost_usd"] = None
        if price:
            row["cost_usd"] = (
                row["prompt_tokens"] * price["input"] + row["completion_tokens"] * price["output"]
            ) / 1e6
    return rows


def _busy_per_request(samples: list, model: str) -> float:
    spans = []
    for r in samples:
        if r["model"] == model and not r["cache_hit"]:
            end = datetime.fromisoformat(r["created_at"]).timestamp()
            spans.append((end - r["latency_s"], end))
    busy = max(end for _, end in spans) - min(start for start, _ in spans)
    return busy / len(spans)


def test_estimates_before_and_after_a_real_run(tmp_path: Path, sim, paths) -> None:
    runner = write(tmp_path / "runner.yaml", runner_yaml(sim.base_url))
    limit = ("--limit", str(LIMIT))

    # 1. nothing stored yet: every row on the characters basis
    dry = run_quickstart(tmp_path, runner, *limit, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert not paths["log"].exists() or not chat_log(paths["log"])  # nothing was sent
    before = plan_rows(dry.stderr)
    assert len(before) == 6 and {r["basis"] for r in before.values()} == {"characters"}
    assert "characters / 3 + 4 per message + 3" in dry.stderr  # the rule is stated

    first = run_quickstart(tmp_path, runner, *limit, "--summary-json", "s1.json")
    assert first.returncode == 0, first.stderr
    sent = chat_log(paths["log"])
    assert len(sent) == 6 * LIMIT
    by_hand = characters_by_hand(sent)
    for (prompt, model), row in before.items():
        expected = by_hand[(prompt, model)]
        assert row["requests"] == expected["requests"] == LIMIT
        assert row["prompt_tokens"] == expected["prompt_tokens"]
        assert row["completion_tokens"] == expected["completion_tokens"]
        if model == "sim-slow":  # hourly, and no earlier run to time it by
            assert row["cost_usd"] is None and "cost unknown (hourly" in dry.stderr
        else:
            assert abs(row["cost_usd"] - expected["cost_usd"]) < 1e-6  # printed to 6 places

    # 2. the summary gives the estimate made at the run's start beside the actual
    s1 = json.loads((tmp_path / "s1.json").read_text())
    for row in s1["rows"]:
        estimate, expected = row["estimate"], by_hand[(row["prompt"], row["model"])]
        assert estimate["basis"] == "characters" and estimate["history_run"] is None
        assert estimate["requests"] == LIMIT
        assert estimate["prompt_tokens"] == expected["prompt_tokens"]
        assert estimate["completion_tokens"] == expected["completion_tokens"]
        if row["model"] == "sim-slow":
            assert estimate["cost_usd"] is None and estimate["cost_basis"] == "hourly"
        else:
            assert abs(estimate["cost_usd"] - expected["cost_usd"]) < 1e-12
        assert row["prompt_tokens"] is not None  # the actual, beside it
    # a repeat doubles the plan, and the estimate with it
    dry2 = run_quickstart(tmp_path, runner, *limit, "--repeat", "2", "--dry-run", "-m", "o3-mini")
    assert dry2.returncode == 0, dry2.stderr
    assert all(r["requests"] == 2 * LIMIT for r in plan_rows(dry2.stderr).values())

    # 3. with a run stored: the history basis, its mean tokens per request x the plan
    dry = run_quickstart(tmp_path, runner, *limit, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    after = plan_rows(dry.stderr)
    assert {r["basis"] for r in after.values()} == {f"history: run {s1['run_id']}"}
    samples = [r for r in stored_results(tmp_path) if r["run_id"] == s1["run_id"]]
    actual = {(r["prompt"], r["model"]): r for r in s1["rows"]}
    for (prompt, model), row in after.items():
        mine = [r for r in samples if (r["prompt"], r["model"]) == (prompt, model)]
        prompt_tokens = sum(r["prompt_tokens"] for r in mine)
        cached = sum(r["cached_tokens"] or 0 for r in mine)
        completion = sum(r["completion_tokens"] for r in mine)
        assert row["prompt_tokens"] == prompt_tokens == actual[(prompt, model)]["prompt_tokens"]
        assert row["completion_tokens"] == completion
        if model == "sim-slow":
            cost = PER_HOUR * _busy_per_request(samples, model) * LIMIT / 3600
        else:
            price = PRICES[model]
            cost = (
                (prompt_tokens - cached) * price["input"]
                + cached * price["cached_input"]
                + completion * price["output"]
            ) / 1e6
        assert abs(row["cost_usd"] - cost) < 1e-6

    # 4. the next run records the history estimate; `evals report` shows it too
    second = run_quickstart(tmp_path, runner, *limit, "--no-cache", "--summary-json", "s2.json")
    assert second.returncode == 0, second.stderr
    s2 = json.loads((tmp_path / "s2.json").read_text())
    report = evals_cli(tmp_path, "report", s2["run_id"], "--out", "rebuilt")
    assert report.returncode == 0, report.stderr
    rebuilt = json.loads((tmp_path / "rebuilt" / "summary.json").read_text())
    for row in s2["rows"]:
        estimate = row["estimate"]
        assert estimate["basis"] == "history" and estimate["history_run"] == s1["run_id"]
        assert estimate["prompt_tokens"] == row["prompt_tokens"]  # the sim is deterministic
        assert estimate["completion_tokens"] == row["completion_tokens"]
    assert [r["estimate"] for r in rebuilt["rows"]] == [r["estimate"] for r in s2["rows"]]


def test_a_characters_estimate_samples_the_first_cases_and_scales(tmp_path: Path, monkeypatch):
    # Rendering every planned body would do the plan's work twice: only the first
    # SAMPLE_CASES cases are rendered, and their mean per request is scaled.
    import evals.run.estimates as estimates
    from evals.config.suite import load_suite
    from evals.engine import estimate as chars
    from evals.run.kinds import build_body
    from evals.run.options import RunOptions
    from evals.run.prepare import prepare
    from tests.helpers import QUICKSTART

    monkeypatch.setattr(estimates, "SAMPLE_CASES", 3)
    runner = write(
        tmp_path / "r.yaml",
        'endpoints:\n  sim: {base_url: "http://127.0.0.1:9/v1"}\n'
        "models:\n  - {id: m, endpoint: sim}\n",
    )
    options = RunOptions(suite_paths=[QUICKSTART], runner_path=runner, repeat=2)
    prepared = prepare(options)
    rows = {(e.prompt): e for e in estimates.estimate_plan(prepared, options, None)}
    suite = load_suite(QUICKSTART)
    model = prepared.models[0]
    cases = list(suite.cases())
    for name, template in suite.prompts.items():
        bodies = [build_body(model, suite.params, template.render(c.vars))[0] for c in cases[:3]]
        mean_prompt = sum(chars.prompt_tokens(b) for b in bodies) / 3
        assert rows[name].requests == 10 * 2  # every case, both repeats
        assert rows[name].prompt_tokens == round(mean_prompt * 3 * 20 / 3)
        assert rows[name].basis == "characters"
