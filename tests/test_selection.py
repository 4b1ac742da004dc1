"""Model selection: paired differences, the frontier and the recommendation, by hand."""

from __future__ import annotations

import math

import pytest

from evals.decide.selection import Candidate, decide, paired_difference, pareto
from evals.store.rows import PairedCounts

Z = 1.959963984540054


def test_paired_difference_by_hand() -> None:
    # 20 shared cases: a alone passed 6, b alone passed 1.
    result = paired_difference(PairedCounts(n=20, both=10, a_only=6, b_only=1, clusters=None))
    # diff = (6 - 1) / 20; d is +1 six times, -1 once, 0 otherwise:
    # var(d) = (7 - 20 * 0.25^2) / 19; McNemar exact: 2 * P(X <= 1), X ~ Bin(7, 1/2) = 16/128
    se = math.sqrt((7 - 20 * 0.0625) / 19 / 20)
    assert result["diff"] == pytest.approx(0.25)
    assert result["ci_low"] == pytest.approx(0.25 - Z * se)
    assert result["ci_high"] == pytest.approx(0.25 + Z * se)
    assert result["p_value"] == pytest.approx(16 / 128)
    assert result["test"] == "mcnemar-exact" and result["discordant"] == 7


def test_paired_difference_clustered_by_hand() -> None:
    # three clusters: (samples, sum of a - b) = (4, 2), (4, 0), (2, 1); n = 10, diff = 0.3
    counts = PairedCounts(n=10, both=5, a_only=3, b_only=0, clusters=[(4, 2), (4, 0), (2, 1)])
    result = paired_difference(counts)
    spread = (2 - 4 * 0.3) ** 2 + (0 - 4 * 0.3) ** 2 + (1 - 2 * 0.3) ** 2  # 0.64 + 1.44 + 0.16
    se = math.sqrt(3 / 2 * spread) / 10
    assert result["test"] == "clustered-z" and result["diff"] == pytest.approx(0.3)
    assert result["ci_high"] - result["ci_low"] == pytest.approx(2 * Z * se)


def _row(model: str, acc: float, cost: float | None, p95: float | None = 1.0) -> Candidate:
    return Candidate("p", model, acc, cost, p95, 100)


def test_pareto_keeps_rows_nobody_beats_everywhere() -> None:
    rows = [
        _row("big", 0.90, 10.0, 2.0),
        _row("mid", 0.85, 2.0, 1.0),
        _row("bad", 0.80, 3.0, 1.5),  # mid is more accurate, cheaper and faster
        _row("tiny", 0.50, 0.5, 0.5),
        _row("unpriced", 0.85, None, 1.0),  # as good as mid, but its cost is unknown
    ]
    assert [r.model for r in pareto(rows)] == ["big", "mid", "tiny"]


def _counts(table):
    def counts(a, b):
        return table[(a[1], b[1])]

    return counts


def test_recommends_the_cheaper_row_only_when_it_could_have_seen_a_drop() -> None:
    rows = [_row("big", 0.90, 10.0), _row("small", 0.89, 1.0)]
    # 1000 shared cases, 20 discordant (11 vs 9): no significant difference, and with
    # that little disagreement a 5-point drop would have shown.
    decision = decide(rows, _counts({("big", "small"): PairedCounts(1000, 880, 11, 9, None)}))
    assert decision.recommended == {"prompt": "p", "model": "small"}
    assert "not significantly less accurate than big" in decision.recommendation
    assert "90% cheaper" in decision.recommendation


def test_says_when_there_are_not_enough_cases() -> None:
    rows = [_row("big", 0.80, 10.0), _row("small", 0.70, 1.0)]
    # 10 cases, 3 discordant (2 vs 1): nothing can be told apart
    decision = decide(rows, _counts({("big", "small"): PairedCounts(10, 6, 2, 1, None)}))
    assert decision.recommended is None
    assert decision.recommendation.startswith("not enough cases to tell big (p) from small (p)")
    assert "would need about" in decision.recommendation


def test_recommends_the_best_when_the_rest_are_significantly_worse() -> None:
    rows = [_row("big", 0.95, 10.0), _row("small", 0.60, 1.0), _row("mini", 0.50, 0.5)]
    table = {
        ("big", "small"): PairedCounts(200, 118, 72, 2, None),
        ("big", "mini"): PairedCounts(200, 98, 92, 2, None),
        ("small", "mini"): PairedCounts(200, 90, 30, 10, None),
    }
    decision = decide(rows, _counts(table))
    assert decision.recommended == {"prompt": "p", "model": "big"}
    assert "every other row is significantly less accurate" in decision.recommendation
    # Holm: the adjusted p-values are never below the raw ones and keep their order
    ps = [(c["p_value"], c["p_adjusted"]) for c in decision.comparisons]
    assert all(adj >= raw for raw, adj in ps)


def test_nothing_to_recommend_without_passes() -> None:
    rows = [_row("a", 0.0, 1.0), _row("b", 0.0, 2.0)]
    decision = decide(rows, _counts({("a", "b"): PairedCounts(10, 0, 0, 0, None)}))
    assert decision.recommended is None and "nothing to recommend" in decision.recommendation


def test_a_run_compares_its_rows_over_http(tmp_path) -> None:
    import json

    from evals.sim.server import start_in_thread
    from tests.helpers import evals_cli, stored_results, write

    cases = "\n".join(
        json.dumps({"id": f"c{i}", "vars": {"a": i, "b": i + 3}, "expect": 2 * i + 3})
        for i in range(60)
    )
    write(tmp_path / "cases.jsonl", cases + "\n")
    suite = write(
        tmp_path / "add.yaml",
        "name: add\nprompt: 'What is {{ a }} + {{ b }}?'\ncases: cases.jsonl\n"
        "graders:\n  - {type: numeric}\n",
    )
    sim_config = "models:\n  good: {accuracy: 0.95}\n  poor: {accuracy: 0.4, seed: 3}\n"
    with start_in_thread(config_path=str(write(tmp_path / "sim.yaml", sim_config))) as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}", max_concurrency: 8}}\n'
            "models:\n  - {id: good, endpoint: sim}\n  - {id: poor, endpoint: sim}\n"
            "pricing:\n  good: {input: 10.0, output: 30.0}\n  poor: {input: 0.1, output: 0.3}\n",
        )
        result = evals_cli(
            tmp_path, "run", str(suite), "-r", str(runner), "--summary-json", "s.json"
        )
    assert result.returncode == 0, result.stderr
    passed = {(r["model"], r["case_id"]): bool(r["passed"]) for r in stored_results(tmp_path)}
    good_only = sum(passed[("good", f"c{i}")] and not passed[("poor", f"c{i}")] for i in range(60))
    poor_only = sum(passed[("poor", f"c{i}")] and not passed[("good", f"c{i}")] for i in range(60))
    decision = json.loads((tmp_path / "s.json").read_text())["per_suite"]["add"]
    [c] = decision["comparisons"]
    assert (c["a"]["model"], c["b"]["model"], c["n_paired"]) == ("good", "poor", 60)
    assert c["diff"] == pytest.approx((good_only - poor_only) / 60)
    # McNemar exact by hand: two-sided binomial tail of the smaller discordant count
    m = good_only + poor_only
    tail = sum(math.comb(m, k) for k in range(min(good_only, poor_only) + 1)) / 2**m
    assert c["p_value"] == pytest.approx(min(1.0, 2 * tail))
    assert c["significant"] and decision["recommended"] == {"prompt": "default", "model": "good"}
    assert "add:" in result.stdout and "good (default)" in result.stdout
