"""The report's charts: dollars split by hand, the charts each suite gets, and SVG that is
safe to inline under the report's CSP (no script, no network, no id clashes)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from evals.pricing.split import cost_split
from evals.report.charts import Chart, RowSamples, suite_charts
from tests.helpers import REPO

SVG = "{http://www.w3.org/2000/svg}"
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
FORBIDDEN = {"script", "foreignObject", "img", "image", "iframe", "style", "a"}
RATES = {"input": 2.0, "output": 8.0, "cached_input": 0.5}


def _row(suite: str, model: str, prompt: str = "terse", **extra: Any) -> dict[str, Any]:
    row = {
        "suite": suite,
        "prompt": prompt,
        "model": model,
        "samples": 100,
        "errors": 0,
        "accuracy": 0.8,
        "ci_low": 0.71,
        "ci_high": 0.87,
        "cost_usd": 0.5,
        "prompt_tokens": 100_000,
        "cached_tokens": 0,
        "completion_tokens": 20_000,
        "reasoning_tokens": 0,
        "repeats": 1,
    }
    return {**row, **extra}


def _samples(n: int = 200, ttft: bool = False) -> RowSamples:
    latencies = [0.2 + (i % 50) / 25 for i in range(n)]
    return RowSamples(latencies=latencies, ttfts=[x / 4 for x in latencies] if ttft else [])


def _texts(svg: str) -> list[str]:
    return ["".join(el.itertext()) for el in ET.fromstring(svg).iter(f"{SVG}text")]


def _ids(svg: str) -> list[str]:
    return [el.get("id") for el in ET.fromstring(svg).iter() if el.get("id") is not None]


def _kinds(charts: list[Chart]) -> list[str]:
    return [c.kind for c in charts]


@pytest.fixture(scope="module")
def run() -> tuple[dict[str, Any], dict[tuple[str, str, str], RowSamples], dict[str, Any]]:
    rows = [
        _row("qa", "alpha", cost_usd=0.25, accuracy=0.9, ci_low=0.82, ci_high=0.95),
        _row("qa", "beta", cost_usd=1.5, accuracy=0.7, ci_low=0.6, ci_high=0.78),
        _row("qa", "gamma", cost_usd=None, accuracy=0.6),
        _row("emb", "embedder", accuracy=None, ci_low=None, ci_high=None, recall_at_k=0.9),
        _row("rep", "alpha", repeats=2, samples=8),
        _row("rep", "beta", repeats=2, samples=8),
    ]
    summary = {
        "suites": ["qa", "emb", "rep"],
        "rows": rows,
        "per_suite": {"qa": {"pareto": [{"prompt": "terse", "model": "alpha"}]}},
    }
    outcomes = {"c1": [True, True], "c2": [True, False], "c3": [False, False], "c4": [True, True]}
    samples = {
        ("qa", "terse", "alpha"): _samples(ttft=True),
        ("qa", "terse", "beta"): _samples(),
        ("emb", "terse", "embedder"): _samples(),
        ("rep", "terse", "alpha"): RowSamples(latencies=[0.5] * 8, case_outcomes=outcomes),
        ("rep", "terse", "beta"): RowSamples(case_outcomes={"c1": [False, False]}),
    }
    rates = {"alpha": RATES, "beta": RATES, "gamma": None, "embedder": {"input": 0.02, "output": 0}}
    return summary, samples, rates


@pytest.fixture(scope="module")
def charts(run) -> dict[str, list[Chart]]:
    return suite_charts(*run)


def test_cost_split_prices_each_kind_of_token_by_hand() -> None:
    row = {
        "prompt_tokens": 1_000_000,
        "cached_tokens": 200_000,
        "completion_tokens": 500_000,
        "reasoning_tokens": 100_000,
    }
    # 800k uncached x $2/M, 200k cached x $0.5/M, 400k output x $8/M, 100k reasoning x $8/M
    split = cost_split(row, RATES)
    assert split == pytest.approx(
        {"input": 1.60, "cached input": 0.10, "output": 3.20, "reasoning": 0.80}
    )


def test_cost_split_bills_cached_tokens_at_input_without_a_cached_rate() -> None:
    row = {"prompt_tokens": 1_000_000, "cached_tokens": 200_000, "completion_tokens": None}
    split = cost_split(row, {"input": 2.0, "output": 8.0, "cached_input": None})
    # 800k x $2/M and 200k x $2/M; no completion or reasoning counts: $0
    assert split == pytest.approx(
        {"input": 1.60, "cached input": 0.40, "output": 0.0, "reasoning": 0.0}
    )


def test_cost_split_of_an_hourly_endpoint_is_its_cost() -> None:
    row = {"cost_basis": "hourly", "cost_usd": 1.25, "prompt_tokens": 10}
    assert cost_split(row, None) == {"hourly": 1.25}
    assert cost_split(row, RATES) == {"hourly": 1.25}
    assert cost_split({"cost_basis": "hourly", "cost_usd": None}, RATES) is None


def test_cost_split_is_unknown_without_input_or_output_rates() -> None:
    row = {"prompt_tokens": 10, "completion_tokens": 10}
    assert cost_split(row, None) is None
    assert cost_split(row, {"input": None, "output": 8.0, "cached_input": 0.5}) is None
    assert cost_split(row, {"input": 2.0, "output": None, "cached_input": None}) is None


def test_each_suite_gets_the_charts_it_has_data_for(charts) -> None:
    assert list(charts) == ["qa", "emb", "rep"]
    assert _kinds(charts["qa"]) == ["accuracy_cost", "latency", "cost_split"]
    assert _kinds(charts["emb"]) == ["latency", "cost_split"]  # no accuracy to plot
    assert _kinds(charts["rep"]) == ["accuracy_cost", "latency", "cost_split", "consistency"]
    for suite, suite_charts_ in charts.items():
        for chart in suite_charts_:
            assert chart.suite == suite and chart.title and chart.caption.endswith(".")


def test_every_svg_is_inert_well_formed_and_accessible(charts) -> None:
    for chart in (c for cs in charts.values() for c in cs):
        root = ET.fromstring(chart.svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img" and chart.title in root.get("aria-label")
        assert root.get("viewBox") and root.get("width") is None and root.get("height") is None
        names = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
        assert not names & FORBIDDEN, chart.kind
        assert set(re.findall(r"https?://[^\s\"'<>)]+", chart.svg)) <= NAMESPACES
        assert "<?xml" not in chart.svg and "<!DOCTYPE" not in chart.svg
        assert "<!--" not in chart.svg and "@import" not in chart.svg
        assert re.search(r"on\w+\s*=", chart.svg) is None  # no event handler attributes


def test_ids_never_collide_and_references_stay_inside_their_chart(run, charts) -> None:
    again = suite_charts(*run)  # the same charts drawn twice: identical content
    svgs = [c.svg for cs in (*charts.values(), *again.values()) for c in cs]
    ids = [i for svg in svgs for i in _ids(svg)]
    assert ids and len(ids) == len(set(ids))
    for svg in svgs:
        refs = set(re.findall(r'url\(#([^)"]+)\)|href="#([^"]+)"', svg))
        assert {a or b for a, b in refs} <= set(_ids(svg))


def test_hostile_names_stay_text() -> None:
    hostile = ["<script>alert(1)</script>", "</svg><img src=x onerror=alert(1)>", "$\\frac$ & 'q'"]
    rows = [_row("x<y>", name, cost_usd=0.1 * (i + 1)) for i, name in enumerate(hostile)]
    summary = {"suites": ["x<y>"], "rows": rows}
    samples = {("x<y>", "terse", name): _samples(ttft=True) for name in hostile}
    charts = suite_charts(summary, samples, dict.fromkeys(hostile, RATES))["x<y>"]
    assert _kinds(charts) == ["accuracy_cost", "latency", "cost_split"]
    for chart in charts:
        root = ET.fromstring(chart.svg)
        assert not {el.tag.rsplit("}", 1)[-1] for el in root.iter()} & FORBIDDEN
        assert set(hostile) <= set(_texts(chart.svg)), chart.kind
        assert root.get("aria-label").startswith("x<y>: ")


def test_accuracy_cost_labels_priced_rows_and_names_unpriced_ones(charts) -> None:
    chart = charts["qa"][0]
    texts = _texts(chart.svg)
    assert {"alpha", "beta"} <= set(texts)
    assert "gamma" not in texts and "unpriced" in chart.caption and "gamma" in chart.caption
    assert "Pareto frontier" in texts  # the legend tells filled from hollow


def test_rows_are_named_by_model_and_prompt_when_a_suite_has_several_prompts() -> None:
    rows = [_row("s", "m1", prompt="terse"), _row("s", "m1", prompt="verbose", cost_usd=0.7)]
    charts = suite_charts({"suites": ["s"], "rows": rows}, {}, {"m1": RATES})["s"]
    assert {"m1 · terse", "m1 · verbose"} <= set(_texts(charts[0].svg))


def test_free_local_models_are_plotted_at_zero_dollars() -> None:
    rows = [_row("s", "local-a", cost_usd=0.0), _row("s", "local-b", cost_usd=0.0, accuracy=0.5)]
    chart = suite_charts({"suites": ["s"], "rows": rows}, {}, {})["s"][0]
    assert chart.kind == "accuracy_cost" and "$0" in chart.caption
    texts = _texts(chart.svg)
    assert "$0" in texts and {"local-a", "local-b"} <= set(texts)


def test_cost_split_chart_shows_hourly_and_notes_rows_without_rates() -> None:
    rows = [
        _row("s", "hosted", cost_basis="hourly", cost_usd=2.0),
        _row("s", "api"),
        _row("s", "mystery"),
    ]
    charts = suite_charts({"suites": ["s"], "rows": rows}, {}, {"api": RATES, "mystery": None})
    chart = next(c for c in charts["s"] if c.kind == "cost_split")
    texts = set(_texts(chart.svg))
    assert {"hourly", "input", "output", "hosted", "api"} <= texts
    assert "mystery" not in texts and "mystery" in chart.caption


def test_consistency_bars_share_cases_by_passes_out_of_k(charts) -> None:
    chart = charts["rep"][-1]
    texts = _texts(chart.svg)
    # alpha: c3 passed 0 of 2, c2 1 of 2, c1 and c4 2 of 2 -> 25%, 25%, 50%; beta: 0 of 2 -> 100%
    assert [t for t in texts if t.endswith("%")] == ["25%", "100%", "25%", "50%"]
    assert {"0 of 2", "1 of 2", "2 of 2"} <= set(texts)


def test_a_hundred_thousand_latencies_render_fast_and_small() -> None:
    rows = [_row("s", f"m{i}") for i in range(6)]
    big = RowSamples(latencies=[(i % 997) / 100 for i in range(100_000)], ttfts=[0.1] * 100_000)
    samples = {("s", "terse", f"m{i}"): big for i in range(6)}
    suite_charts({"suites": ["s"], "rows": rows[:1]}, samples, {})  # warm: imports, fonts
    start = time.perf_counter()
    charts = suite_charts({"suites": ["s"], "rows": rows}, samples, {"m0": RATES})["s"]
    elapsed = time.perf_counter() - start
    latency = next(c for c in charts if c.kind == "latency")
    assert elapsed < 5, elapsed  # generous for a loaded CI box; per-sample markers take minutes
    assert len(latency.svg) < 60_000


def test_importing_the_charts_does_not_import_matplotlib() -> None:
    code = "import sys, evals.report.charts; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "False"
