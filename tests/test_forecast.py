"""`evals forecast` and hourly-priced endpoints, end to end over HTTP against `evals sim`.

Expected figures are computed here by hand from the stored rows' token counts and
timings and from the prices written in this file's runner profile, never from the
harness's own arithmetic.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from evals.pricing import PriceTable, busy_seconds
from tests.helpers import evals_cli, stored_results, write

CONFIG = """\
models:
  sim-good: {accuracy: 0.8, cache: true}
  o3-mini: {accuracy: 0.9, reasoning: true, reasoning_tokens: 32}
  sim-plain: {accuracy: 0.5}
  sim-slow: {accuracy: 0.8, latency_ms: 120, latency_jitter_ms: 60}
"""
TEXTS = [
    "a", "hello there", "the quick brown fox", "jumps over the lazy dog and runs away",
    "ok", "forecasting costs before rollout is the point", "x y z", "twelve words are here",
    "a somewhat longer sentence, to make this request cost more than the others", "b",
    "seven", "ninety nine bottles on the wall",
]  # fmt: skip
SUITE = (
    "name: echo\n"
    "prompts:\n"
    "  bare:\n"
    "    - {role: user, content: 'Repeat: {{ text }}'}\n"
    "  framed:\n"
    "    - {role: system, content: 'You repeat what you are told, exactly.'}\n"
    "    - {role: user, content: 'Repeat: {{ text }}'}\n"
    "params: {max_tokens: 64}\n"
    "graders: [{type: exact}]\n"
    "cases:\n"
    + "".join(f"  - {{vars: {{text: {json.dumps(t)}}}, expect: {json.dumps(t)}}}\n" for t in TEXTS)
)
PRICES = {  # USD per 1M tokens, written into the runner profile below
    "sim-good": {"input": 0.15, "cached_input": 0.075, "output": 0.60,
                 "batch_input": 0.075, "batch_output": 0.30},
    "o3-mini": {"input": 1.10, "cached_input": 0.55, "output": 4.40},
    "sim-slow": {"input": 0.50, "output": 1.50},  # per-token, but its endpoint is hourly
}  # fmt: skip
PER_HOUR = 7.2  # USD per hour of the `gpu` endpoint


def runner_yaml(base_url: str, prices: dict) -> str:
    lines = [
        "endpoints:",
        f'  sim: {{base_url: "{base_url}", max_concurrency: 4, timeout_s: 10}}',
        f'  gpu: {{base_url: "{base_url}", max_concurrency: 2, timeout_s: 10, '
        f"price_per_hour: {PER_HOUR}}}",
        "models:",
        "  - {id: sim-good, endpoint: sim}",
        "  - {id: o3-mini, endpoint: sim}",
        "  - {id: sim-plain, endpoint: sim}",
        "  - {id: sim-slow, endpoint: gpu}",
        "pricing:",
    ]
    lines += [f"  {m}: {json.dumps(p)}" for m, p in prices.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def made(sim, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """One real run of the echo suite on the four models; its summary and stored samples."""
    cwd = tmp_path_factory.mktemp("forecast-run")
    suite = write(cwd / "echo.yaml", SUITE)
    runner = write(cwd / "runner.yaml", runner_yaml(sim.base_url, PRICES))
    result = evals_cli(cwd, "run", str(suite), "-r", str(runner), "--summary-json", "s.json")
    assert result.returncode == 0, result.stderr
    summary = json.loads((cwd / "s.json").read_text())
    samples = [dict(r) for r in stored_results(cwd) if r["role"] == "sample"]
    assert len(samples) == 4 * 2 * len(TEXTS) and all(r["error"] is None for r in samples)
    return SimpleNamespace(cwd=cwd, runner=runner, run_id=summary["run_id"], summary=summary,
                           samples=samples, sim=sim)  # fmt: skip


def forecast(made: SimpleNamespace, *args: str) -> tuple[dict, str, str]:
    out = made.cwd / "forecast.json"
    result = evals_cli(made.cwd, "forecast", made.run_id, *args, "--json", str(out))
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result.stdout, result.stderr


def rows_of(data: dict) -> dict[tuple[str, str], dict]:
    return {(row["prompt"], row["model"]): row for row in data["rows"]}


def by_hand(samples, prompt, model, n, batch=False, hit_rate=None) -> dict:
    """N x the mean per-request cost, and its parts, from the stored token counts."""
    price = PRICES[model]
    in_rate = price["batch_input"] if batch else price["input"]
    out_rate = price["batch_output"] if batch else price["output"]
    cached_rate = min(price["cached_input"], in_rate) if batch else price["cached_input"]
    parts = []
    for r in samples:
        if (r["prompt"], r["model"]) != (prompt, model):
            continue
        p = r["prompt_tokens"]
        cached = p * hit_rate if hit_rate is not None else (r["cached_tokens"] or 0)
        parts.append(
            (
                (p - cached) * in_rate / 1e6,
                cached * cached_rate / 1e6,
                r["completion_tokens"] * out_rate / 1e6,
                r["reasoning_tokens"] * out_rate / 1e6,
            )
        )
    mean = [sum(part[i] for part in parts) / len(parts) for i in range(4)]
    totals = [sum(part[:3]) for part in parts]
    return {
        "input_usd": n * mean[0],
        "cached_input_usd": n * mean[1],
        "output_usd": n * mean[2],
        "reasoning_usd": n * mean[3],
        "expected_usd": n * sum(mean[:3]),
        "costs": totals,
    }


def assert_matches(row: dict, expected: dict) -> None:
    for key in ("expected_usd", "input_usd", "cached_input_usd", "output_usd", "reasoning_usd"):
        assert row[key] == pytest.approx(expected[key], rel=1e-9), key


def test_forecast_matches_a_hand_computation(made) -> None:
    n = 1_000_000
    data, stdout, _ = forecast(made, "--requests", str(n), "--per", "week")
    assert (data["run_id"], data["requests"], data["per"]) == (made.run_id, n, "week")
    rows = rows_of(data)
    assert len(rows) == 8
    for prompt in ("bare", "framed"):
        for model in ("sim-good", "o3-mini"):
            row = rows[(prompt, model)]
            expected = by_hand(made.samples, prompt, model, n)
            assert_matches(row, expected)
            assert row["samples"] == len(TEXTS) and row["cost_basis"] == "tokens"
            assert row["per_request_usd"] == pytest.approx(expected["expected_usd"] / n)
            assert row["input_usd"] > 0
        assert rows[(prompt, "sim-good")]["cached_input_usd"] > 0  # the sim caches half
        assert rows[(prompt, "o3-mini")]["reasoning_usd"] > 0
        assert rows[(prompt, "sim-good")]["reasoning_usd"] == 0.0
    assert set(data["rows"][0]) >= {
        "suite", "prompt", "model", "expected_usd", "ci_low_usd", "ci_high_usd", "input_usd",
        "cached_input_usd", "output_usd", "reasoning_usd", "price_as_of",
    }  # fmt: skip
    bundled_as_of = PriceTable.bundled().as_of
    assert f"as_of {bundled_as_of}" in stdout  # the price table's date is printed
    assert "per week" in stdout


def test_bootstrap_interval_contains_the_expectation_and_is_reproducible(made) -> None:
    n = 50_000
    first, _, _ = forecast(made, "--requests", str(n), "--seed", "7")
    again, _, _ = forecast(made, "--requests", str(n), "--seed", "7")
    assert first == again  # same run, same seed: the same numbers
    for (prompt, model), row in rows_of(first).items():
        if model in ("sim-plain", "sim-slow"):
            continue
        costs = by_hand(made.samples, prompt, model, n)["costs"]
        assert len(set(costs)) > 1  # the requests differ in size: a real interval
        low, mid, high = row["ci_low_usd"], row["expected_usd"], row["ci_high_usd"]
        assert min(costs) * n <= low < mid < high <= max(costs) * n
        # about the normal-theory interval of a mean (the bootstrap's is a little narrower)
        mean = sum(costs) / len(costs)
        sd = math.sqrt(sum((c - mean) ** 2 for c in costs) / (len(costs) - 1))
        half = 1.96 * sd / math.sqrt(len(costs)) * n
        assert (high - low) / 2 == pytest.approx(half, rel=0.4)


def test_rows_are_cheapest_first_and_unknown_prices_are_null(made) -> None:
    data, _, stderr = forecast(made, "--requests", "1000")
    for prompt in ("bare", "framed"):
        block = [row for row in data["rows"] if row["prompt"] == prompt]
        known = [row["expected_usd"] for row in block if row["expected_usd"] is not None]
        assert known == sorted(known) and len(known) == 3
        assert block[-1]["model"] == "sim-plain"  # unknown last, never shown as 0
        plain = block[-1]
        nulls = ("expected_usd", "ci_low_usd", "ci_high_usd", "input_usd", "cached_input_usd",
                 "output_usd", "reasoning_usd", "per_request_usd")  # fmt: skip
        for key in nulls:
            assert plain[key] is None, key
    assert "no price known for model 'sim-plain'" in stderr


def test_batch_rates_by_hand(made) -> None:
    n = 200_000
    data, stdout, stderr = forecast(made, "--requests", str(n), "--batch")
    assert data["batch"] is True and "batch rates" in stdout
    rows = rows_of(data)
    for prompt in ("bare", "framed"):
        assert_matches(
            rows[(prompt, "sim-good")], by_hand(made.samples, prompt, "sim-good", n, True)
        )
        assert rows[(prompt, "o3-mini")]["expected_usd"] is None  # no batch price given
    assert "no batch price known for model 'o3-mini'" in stderr


def test_cache_hit_rate_by_hand(made) -> None:
    n = 300_000
    data, _, _ = forecast(made, "--requests", str(n), "--cache-hit-rate", "0.25")
    assert data["cache_hit_rate"] == 0.25
    rows = rows_of(data)
    for prompt in ("bare", "framed"):
        for model in ("sim-good", "o3-mini"):
            expected = by_hand(made.samples, prompt, model, n, hit_rate=0.25)
            assert_matches(rows[(prompt, model)], expected)


def test_a_later_price_change_does_not_change_an_old_forecast(made) -> None:
    before, _, _ = forecast(made, "--requests", "1000")
    doubled = {m: {k: 2 * v for k, v in p.items()} for m, p in PRICES.items()}
    write(made.runner, runner_yaml(made.sim.base_url, doubled))
    try:
        after, _, _ = forecast(made, "--requests", "1000")
    finally:
        write(made.runner, runner_yaml(made.sim.base_url, PRICES))
    assert after == before  # priced at what the run recorded at its start


def _hourly_by_hand(samples: list[dict]) -> tuple[float, int]:
    """(the gpu endpoint's cost, requests sent) from the stored timings of sim-slow."""
    spans = []
    for r in samples:
        if r["model"] == "sim-slow" and not r["cache_hit"]:
            end = datetime.fromisoformat(r["created_at"]).timestamp()
            spans.append((end - r["latency_s"], end))
    busy = max(end for _, end in spans) - min(start for start, _ in spans)  # one sitting
    assert busy > 0
    return PER_HOUR * busy / 3600, len(spans)


def test_price_per_hour_cost_by_hand(made) -> None:
    cost, sent = _hourly_by_hand(made.samples)
    share = cost / sent
    rows = {(r["prompt"], r["model"]): r for r in made.summary["rows"]}
    for prompt in ("bare", "framed"):
        slow = rows[(prompt, "sim-slow")]
        assert slow["cost_basis"] == "hourly"
        assert slow["cost_usd"] == pytest.approx(share * len(TEXTS), rel=1e-9)
        assert slow["spend_usd"] == pytest.approx(share * len(TEXTS), rel=1e-9)
        assert rows[(prompt, "sim-good")]["cost_basis"] == "tokens"
    others = sum(r["spend_usd"] or 0.0 for r in made.samples if r["model"] != "sim-slow")
    assert made.summary["spend_usd"] == pytest.approx(others + cost, rel=1e-9)
    hourly_wins = [w for w in made.summary["warnings"] if "sim-slow" in w]
    assert hourly_wins and "per hour" in hourly_wins[0] and "not used" in hourly_wins[0]
    # the forecast: N x the equal share per request, whatever the tokens
    data, _, stderr = forecast(made, "--requests", "10000", "--batch")
    for prompt in ("bare", "framed"):
        row = rows_of(data)[(prompt, "sim-slow")]
        assert row["cost_basis"] == "hourly"
        assert row["expected_usd"] == pytest.approx(10000 * share, rel=1e-9)
        assert row["ci_low_usd"] == row["ci_high_usd"] == row["expected_usd"]
        assert row["input_usd"] is None and row["output_usd"] is None
    assert "--batch and --cache-hit-rate do not apply" in stderr


def test_busy_time_leaves_out_long_idle_gaps() -> None:
    # two overlapping requests (0-2 s), then one an hour later (a resumed run): 2 + 1 s
    assert busy_seconds([(0.0, 1.0), (0.5, 2.0), (3600.0, 3601.0)]) == pytest.approx(3.0)
    assert busy_seconds([(0.0, 1.0), (100.0, 101.0)]) == pytest.approx(101.0)  # short gap: billed
    assert busy_seconds([]) == 0.0


def _old_run(cwd: Path, run_id: str, config: dict) -> None:
    from evals.store import ResultRecord, open_store

    store = open_store(cwd / ".evals" / "evals.sqlite")
    try:
        store.start_run(run_id, ["legacy"], "2025-06-01T00:00:00+00:00", config)
        for i, (p, c, comp) in enumerate([(1000, 0, 100), (3000, 1000, 300), (2000, 0, 50)]):
            values = {
                "run_id": run_id, "suite": "legacy", "case_id": str(i), "prompt": "default",
                "model": "gpt-4o-mini", "repeat": 0, "request_hash": f"{run_id}{i}",
                "request": "{}", "vars": "{}", "expect": "1", "output": "1", "tool_calls": None,
                "finish_reason": "stop", "prompt_tokens": p, "cached_tokens": c,
                "completion_tokens": comp, "reasoning_tokens": 0, "latency_s": 0.5,
                "cost_usd": 1.0, "error": None, "error_class": None, "attempts": 1,
                "passed": True, "score": 1.0, "grades": "[]",
                "created_at": "2025-06-01T00:00:01+00:00",
            }  # fmt: skip
            store.add_result(ResultRecord(**values))
        store.finish_run(run_id, "2025-06-01T00:01:00+00:00", True)
    finally:
        store.close()


def test_runs_recorded_before_prices_were_kept(tmp_path: Path) -> None:
    models = [{"id": "gpt-4o-mini", "endpoint": "openai", "model": None}]
    _old_run(tmp_path, "old1", {"models": models, "endpoints": {"openai": {}}})
    result = evals_cli(tmp_path, "forecast", "old1", "--requests", "100", "--json", "f.json")
    assert result.returncode == 0, result.stderr
    assert "recorded no prices" in result.stdout  # priced at today's table, and says so
    row = json.loads((tmp_path / "f.json").read_text())["rows"][0]
    price = PriceTable.bundled().lookup("gpt-4o-mini")
    per_request = [
        ((p - c) * price.input + c * price.cached_input + comp * price.output) / 1e6
        for p, c, comp in [(1000, 0, 100), (3000, 1000, 300), (2000, 0, 50)]
    ]
    assert row["expected_usd"] == pytest.approx(100 * sum(per_request) / 3, rel=1e-9)
    # recorded input/output/cached rates but no batch rates: the bundled entry with the
    # very rates recorded gives them
    recorded = {"model": "gpt-4o-mini", "priced_as": "gpt-4o-mini", "source": "bundled",
                "as_of": price.as_of, "input": price.input, "output": price.output,
                "cached_input": price.cached_input}  # fmt: skip
    _old_run(tmp_path, "old2", {"models": models, "prices": [recorded]})
    result = evals_cli(
        tmp_path, "forecast", "old2", "--requests", "100", "--batch", "--json", "f.json"
    )
    assert result.returncode == 0, result.stderr
    row = json.loads((tmp_path / "f.json").read_text())["rows"][0]
    cached_rate = min(price.cached_input, price.batch_input)
    per_request = [
        ((p - c) * price.batch_input + c * cached_rate + comp * price.batch_output) / 1e6
        for p, c, comp in [(1000, 0, 100), (3000, 1000, 300), (2000, 0, 50)]
    ]
    assert row["expected_usd"] == pytest.approx(100 * sum(per_request) / 3, rel=1e-9)
    assert row["price_as_of"] == price.as_of


@pytest.mark.parametrize(
    "args",
    [
        ["nope", "--requests", "5"],
        ["latest", "--requests", "0"],
        ["latest", "--requests", "5", "--cache-hit-rate", "1.5"],
    ],
)
def test_bad_input_is_one_error_line(tmp_path: Path, args: list[str]) -> None:
    _old_run(tmp_path, "old1", {"models": []})
    result = evals_cli(tmp_path, "forecast", *args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
