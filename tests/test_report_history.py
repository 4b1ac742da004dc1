"""`reports/index.html`, the store's run history: real runs over HTTP against the sim,
the page's figures checked against the store's own rows (read here with sqlite3), and
the page loaded in a real headless Chromium.

Four runs of the quickstart suite (10 cases x 2 prompts), oldest first:
  A  falls -> good (100%), steady -> mid, dips -> eight              complete
  B  falls -> sure (100%), priced high, --max-cost: stopped by the budget   incomplete, no report
  C  as A                                                            complete
  D  falls -> bad (0%), steady -> mid, dips -> mid                   complete
so `falls` regresses in D (its intervals separate), `steady` (the hostile model id)
does not move, and `dips` drops by less than its intervals allow.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium
from tests.helpers import evals_cli, run_quickstart, store_query, write

CONFIG = (
    "models:\n"
    "  good: {accuracy: 1.0}\n"
    "  bad: {accuracy: 0.0}\n"
    "  mid: {accuracy: 0.6}\n"
    "  eight: {accuracy: 0.8}\n"
    "  sure: {accuracy: 1.0}\n"  # as good, but its own cache entries
)
HOSTILE = "<script>alert(1)</script>"
PRICES = "".join(f"  {m}: {{input: 1.0, output: 2.0}}\n" for m in ("good", "bad", "mid", "eight"))


def _runner(root: Path, name: str, base_url: str, models: dict[str, str], prices: str) -> Path:
    lines = "".join(
        f"  - {{id: {_yaml(model_id)}, endpoint: sim, model: {api}}}\n"
        for model_id, api in models.items()
    )
    return write(
        root / f"{name}.yaml",
        f'endpoints:\n  sim: {{base_url: "{base_url}"}}\nmodels:\n{lines}pricing:\n{prices}',
    )


def _yaml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _next_second() -> None:
    """Runs are ordered by their start time (whole seconds): never start two in one."""
    now = time.time()
    time.sleep(math.ceil(now) - now + 0.05)


@pytest.fixture(scope="module")
def store(sim, tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("history")
    plans = [
        ("a", {"falls": "good", HOSTILE: "mid", "dips": "eight"}, PRICES, ()),
        (
            "b",
            {"falls": "sure"},
            "  sure: {input: 1000.0, output: 1000.0}\n",
            ("--no-cache", "--max-cost", "0.2", "--out", "elsewhere/b"),
        ),
        ("c", {"falls": "good", HOSTILE: "mid", "dips": "eight"}, PRICES, ()),
        ("d", {"falls": "bad", HOSTILE: "mid", "dips": "mid"}, PRICES, ()),
    ]
    run_ids = {}
    for name, models, prices, args in plans:
        runner = _runner(root, name, sim.base_url, models, prices)
        _next_second()
        result = run_quickstart(root, runner, *args)
        assert result.returncode == (3 if name == "b" else 0), result.stderr
        run_ids[name] = result.stderr.splitlines()[0].split("run: ", 1)[1]
    result = evals_cli(root, "runs", "--html")
    assert result.returncode == 0, result.stderr
    assert "history: reports/index.html" in result.stderr.splitlines()
    page = root / "reports" / "index.html"
    return {"root": root, "ids": run_ids, "page": page, "html": page.read_text()}


# --------------------------------------------------------------------------- the store's rows


def _wilson(passed: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = passed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _sums(root: Path, where: str = "", group: str = "run_id") -> dict[Any, dict[str, Any]]:
    """Per run (or per run and row): samples, errors, passed, cost, from sqlite directly."""
    db = sqlite3.connect(root / ".evals" / "evals.sqlite")
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute(
            f"SELECT {group}, SUM(role = 'sample') AS samples, "
            "SUM(role = 'sample' AND error IS NOT NULL) AS errors, "
            "SUM(role = 'sample' AND error IS NULL AND passed) AS passed, "
            f"SUM(cost_usd) AS cost, SUM(spend_usd) AS spend FROM results {where} "
            f"GROUP BY {group}"
        ).fetchall()
    finally:
        db.close()
    return {tuple(r[k] for k in group.split(", ")): dict(r) for r in rows}


def _runs_table(root: Path) -> list[sqlite3.Row]:
    return store_query(root, "SELECT * FROM runs ORDER BY started_at DESC")


# --------------------------------------------------------------------------- the page's rows


class _Rows(HTMLParser):
    """Every <tr> with a class: its attributes and the text of its cells, by cell class."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[str, Any]] = []
        self._tr: dict[str, Any] | None = None
        self._td: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("class"):
            self._tr = {"attrs": a, "cells": [], "by_class": {}}
        elif tag == "td" and self._tr is not None:
            self._td = [a.get("class") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._td is not None and self._tr is not None:
            text = " ".join(self._td[1].split())
            self._tr["cells"].append(text)
            for name in self._td[0].split():
                self._tr["by_class"][name] = text
            self._td = None
        elif tag == "tr" and self._tr is not None:
            self.rows.append(self._tr)
            self._tr = None

    def handle_data(self, data: str) -> None:
        if self._td is not None:
            self._td[1] += data


def _rows(html: str, cls: str) -> list[dict[str, Any]]:
    parser = _Rows()
    parser.feed(html)
    return [r for r in parser.rows if r["attrs"]["class"] == cls]


def _money(text: str) -> float:
    return float(text.replace("$", "").replace(",", "").replace("−", "-").replace("+", ""))


def _pct(text: str) -> float:
    return float(text.rstrip("%")) / 100


def _points(text: str) -> float:
    return 0.0 if text.startswith("±") else float(text.replace("−", "-").split(" ")[0])


# --------------------------------------------------------------------------- tests


def test_one_line_per_run_newest_first(store) -> None:
    lines = _rows(store["html"], "run")
    stored = _runs_table(store["root"])
    assert [r["attrs"]["data-run-id"] for r in lines] == [r["run_id"] for r in stored]
    assert len(lines) == 4
    ids = store["ids"]
    assert [r["attrs"]["data-run-id"] for r in lines] == [ids[k] for k in "dcba"]


def test_run_figures_match_the_store(store) -> None:
    sums = _sums(store["root"])
    for line in _rows(store["html"], "run"):
        run_id = line["attrs"]["data-run-id"]
        want = sums[(run_id,)]
        cells = line["by_class"]
        assert int(cells["samples"].replace(",", "")) == want["samples"]
        assert int(cells["errors"].replace(",", "")) == want["errors"]
        graded = want["samples"] - want["errors"]
        assert _pct(cells["acc"]) == pytest.approx(want["passed"] / graded, abs=0.0006)
        assert _money(cells["cost"]) == pytest.approx(want["cost"], rel=0.005)
        assert _money(cells["spend"]) == pytest.approx(want["spend"] or 0.0, rel=0.005, abs=1e-9)


def test_trend_table_latest_value_change_and_cost(store) -> None:
    root, ids = store["root"], store["ids"]
    rows = _sums(root, "WHERE suite = 'quickstart'", "run_id, prompt, model")
    order = [ids[k] for k in "abcd"]
    series = _rows(store["html"], "series")
    assert len(series) == 6  # three models x two prompts
    for line in series:
        model, prompt = line["attrs"]["data-model"], line["attrs"]["data-prompt"]
        runs = [r for r in order if (r, prompt, model) in rows]
        latest, before = rows[(runs[-1], prompt, model)], rows[(runs[-2], prompt, model)]
        cells = line["by_class"]
        n = latest["samples"] - latest["errors"]
        assert _pct(cells["acc"]) == pytest.approx(latest["passed"] / n, abs=0.0006)
        low, high = _wilson(latest["passed"], n)
        shown = re.fullmatch(r"\[([\d.]+)–([\d.]+)\]", cells["ci"])
        assert float(shown[1]) == pytest.approx(low * 100, abs=0.051)
        assert float(shown[2]) == pytest.approx(high * 100, abs=0.051)
        change = latest["passed"] / n - before["passed"] / (before["samples"] - before["errors"])
        assert _points(cells["change"]) == pytest.approx(change * 100, abs=0.051)
        per_1k = latest["cost"] / latest["samples"] * 1000
        assert _money(cells["cost"]) == pytest.approx(per_1k, rel=0.005)
        assert cells["names"].startswith(f"{model} · {prompt}")


def test_regression_marked_exactly_where_the_intervals_separate(store) -> None:
    root, ids = store["root"], store["ids"]
    rows = _sums(root, "WHERE suite = 'quickstart'", "run_id, prompt, model")
    verdicts = {}
    drops_unmarked = 0
    for line in _rows(store["html"], "series"):
        model, prompt = line["attrs"]["data-model"], line["attrs"]["data-prompt"]
        c, d = rows[(ids["c"], prompt, model)], rows[(ids["d"], prompt, model)]
        before = _wilson(c["passed"], c["samples"] - c["errors"])
        after = _wilson(d["passed"], d["samples"] - d["errors"])
        separated = after[1] < before[0]
        verdict = line["by_class"]["verdict"]
        assert (verdict == "regression") is separated, (model, prompt, before, after)
        drops_unmarked += d["passed"] < c["passed"] and not separated
        verdicts[(model, prompt)] = verdict
    assert verdicts[("falls", "terse")] == verdicts[("falls", "chatty")] == "regression"
    assert verdicts[(HOSTILE, "terse")] == verdicts[(HOSTILE, "chatty")] == "within noise"
    assert drops_unmarked >= 1  # `dips` fell, but by less than the intervals allow
    notice = re.search(r'<div class="notice regressions">(.*?)</div>', store["html"], re.S)[1]
    items = re.findall(r'<li class="regression-item">(.*?)</li>', notice, re.S)
    assert len(items) == 2 and all("falls · " in item for item in items)
    assert all(ids["c"] in item and ids["d"] in item for item in items)
    assert all("100.0%" in item and "0.0%" in item and "−100.0 pts" in item for item in items)


def test_hostile_names_are_escaped(store) -> None:
    html = store["html"]
    assert HOSTILE not in html and "<script" not in html.lower()
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6  # runs, table, charts
    assert "script-src 'none'" in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_incomplete_run_in_words_and_its_missing_report(store) -> None:
    ids = store["ids"]
    stored = {r["run_id"]: r for r in _runs_table(store["root"])}
    assert not stored[ids["b"]]["complete"] and stored[ids["b"]]["stopped_reason"] == "budget"
    lines = {r["attrs"]["data-run-id"]: r for r in _rows(store["html"], "run")}
    b = lines[ids["b"]]
    assert b["attrs"]["data-complete"] == "false"
    assert "INCOMPLETE incomplete: stopped by the --max-cost budget" in b["by_class"]["state"]
    assert f"no report: evals report {ids['b']}" in b["cells"][0]
    for key in "acd":
        line = lines[ids[key]]
        assert line["by_class"]["state"] == "complete"
        assert "no report" not in line["cells"][0]
        assert f'href="{ids[key]}/index.html"' in store["html"]
    assert f'href="{ids["b"]}/index.html"' not in store["html"]


def test_evals_runs_listing_and_json_unchanged(store, tmp_path: Path) -> None:
    root = store["root"]
    listed = evals_cli(root, "runs")
    assert listed.returncode == 0 and listed.stderr == ""
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        store["ids"][k] for k in "dcba"
    ]
    as_json = evals_cli(root, "runs", "--json")
    assert as_json.returncode == 0 and as_json.stderr == ""
    assert '"run_id"' in as_json.stdout and "history" not in as_json.stdout
    out = tmp_path / "elsewhere" / "history.html"
    result = evals_cli(root, "runs", "--html", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"history: {out}"]
    assert result.stdout == listed.stdout
    assert len(_rows(out.read_text(), "run")) == 4 and "no report" in out.read_text()
    bad = evals_cli(root, "runs", "--html", str(root / "reports"))  # a folder
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


def test_an_empty_store_says_so(tmp_path: Path) -> None:
    result = evals_cli(tmp_path, "runs", "--html")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "reports" / "index.html").read_text()
    assert 'id="no-runs"' in html and "<svg" not in html


def test_builds_from_sums_only(store) -> None:
    """No result is read one by one: only runs() and groups() are asked."""
    from evals.report.history import run_history
    from evals.store.sqlite import Store

    class SumsOnly:
        def __init__(self, inner: Store) -> None:
            self.inner = inner

        def runs(self) -> list[dict[str, Any]]:
            return self.inner.runs()

        def groups(self, run_id: str) -> list[Any]:
            return self.inner.groups(run_id)

    inner = Store(store["root"] / ".evals" / "evals.sqlite")
    try:
        history = run_history(SumsOnly(inner))  # type: ignore[arg-type]
    finally:
        inner.close()
    assert [line.run_id for line in history.runs] == [store["ids"][k] for k in "abcd"]
    series = history.suites[0].series
    assert all(len(s.points) == 3 for s in series if s.model != "falls")
    assert any(p.run_id == store["ids"]["b"] for s in series for p in s.points)


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def page(store) -> Iterator[Any]:
    with chromium() as driver:
        driver.get(store["page"].as_uri())
        yield driver


def test_browser_loads_without_errors_and_shows_charts(page) -> None:
    from selenium.webdriver.common.by import By

    severe = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    charts = page.find_elements(By.CSS_SELECTOR, "svg[role=img]")
    assert len(charts) == 2  # accuracy and cost of the one suite
    for chart in charts:
        assert chart.is_displayed()
        assert chart.size["width"] > 200 and chart.size["height"] > 100
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert not page.find_elements(By.TAG_NAME, "script")
    cell = page.find_element(By.CSS_SELECTOR, "#runs tbody tr td.names + td.names")
    assert HOSTILE in cell.text  # shown as text, never run


def test_browser_run_links_open_the_run_reports(page, store) -> None:
    from selenium.webdriver.common.by import By

    links = page.find_elements(By.CSS_SELECTOR, "#runs a.report-link")
    targets = [(link.text, link.get_attribute("href")) for link in links]
    assert [text for text, _ in targets] == [store["ids"][k] for k in "dca"]
    for run_id, href in targets:
        assert href == (store["page"].parent / run_id / "index.html").as_uri()
        page.get(href)
        assert page.find_element(By.ID, "run-id").text == run_id
        assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
    page.get(store["page"].as_uri())


# --------------------------------------------------------------------------- odd stores


def _record(run_id: str, model: str, case: int, passed: bool, error: str | None = None) -> Any:
    from evals.store import ResultRecord

    return ResultRecord(
        run_id=run_id, suite="s", case_id=str(case), prompt="p", model=model, repeat=0,
        request_hash=f"{run_id}{model}{case}", request="{}", vars="{}", expect="1",
        output=None if error else "1", tool_calls=None, finish_reason="stop",
        prompt_tokens=10, cached_tokens=0, completion_tokens=2, reasoning_tokens=0,
        latency_s=0.1, cost_usd=None if error else 0.001, error=error,
        error_class="server" if error else None, attempts=1, passed=None if error else passed,
        score=None, grades="[]", created_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip


def test_odd_names_failed_rows_and_hourly_models(tmp_path: Path) -> None:
    """A run id that is no safe path gets no link; `$` in a name is text, not mathtext;
    a row whose every request failed has no accuracy (never 0%); hourly models say so."""
    from evals.report.history import run_history, write_history
    from evals.store.sqlite import Store

    store = Store(tmp_path / "evals.sqlite")
    config = {
        "models": [{"id": "$x$ \\frac{1}{2}", "endpoint": "gpu"}, {"id": "dead", "endpoint": "e"}],
        "endpoints": {"gpu": {"price_per_hour": 2.0}, "e": {}},
    }
    for run_id, stamp in (("../up", "01"), ("ok", "02")):
        store.start_run(run_id, ["s"], f"2026-01-{stamp}T00:00:00+00:00", config)
        for case in range(5):
            store.add_result(_record(run_id, "$x$ \\frac{1}{2}", case, passed=case < 4))
            store.add_result(_record(run_id, "dead", case, passed=False, error="HTTP 500"))
        store.finish_run(run_id, f"2026-01-{stamp}T00:01:00+00:00", True)
    page = write_history(store, tmp_path / "site" / "index.html")
    (tmp_path / "site" / "ok").mkdir()
    (tmp_path / "site" / "ok" / "index.html").write_text("run report")
    page = write_history(store, page)
    history = run_history(store)
    store.close()
    html = page.read_text()
    lines = {r["attrs"]["data-run-id"]: r for r in _rows(html, "run")}
    assert "no report: evals report ../up" in lines["../up"]["cells"][0]
    assert 'href="ok/index.html"' in html and 'href="../' not in html
    assert lines["ok"]["by_class"]["acc"] == "80.0%"  # 4 of 5 graded; the errors are left out
    series = {r["attrs"]["data-model"]: r["by_class"] for r in _rows(html, "series")}
    assert series["dead"]["acc"] == "—" and series["dead"]["change"] == "—"
    assert series["dead"]["cost"] == "$0.00"  # as in the run report: failures bill nothing
    assert "hourly" in series["$x$ \\frac{1}{2}"]["names"]
    assert "<text" in html and "$x$ \\frac{1}{2} · p" in html  # the legend, verbatim
    assert [line.hourly_models for line in history.runs] == [["$x$ \\frac{1}{2}"]] * 2
    assert [p.accuracy for p in history.suites[0].series[1].points] == [None, None]
