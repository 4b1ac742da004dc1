"""The load test's page: rows, knees, the client-bound warning and the charts, in Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.report.load_charts import knee, load_charts
from evals.report.load_page import write_load_report

HOSTILE = "<img src=x onerror=alert(1)>"


def _row(model: str, rate: float, goodput: float | None, **extra: Any) -> dict[str, Any]:
    return {
        "model": model, "rate": rate, "achieved_rate": rate * 0.98, "requests": int(rate * 10),
        "completed": int(rate * 10), "ttft_p50_s": 0.05 * rate, "ttft_p90_s": 0.06 * rate,
        "ttft_p99_s": 0.07 * rate, "itl_p50_s": 0.01, "itl_p99_s": 0.02, "e2e_p50_s": 0.5 * rate,
        "e2e_p90_s": 0.6 * rate, "e2e_p99_s": 0.7 * rate, "output_tokens_per_s": 40.0 * rate,
        "output_tokens_per_s_per_request_p50": 90.0, "errors": {}, "rate_limited": 0,
        "goodput": goodput, "lateness_p50_s": 0.0002, "lateness_p99_s": 0.001,
        "client_bound": False, "cost_per_1m_input": 0.15, "cost_per_1m_output": 0.6,
        "cost_per_1m_blended": 0.2625, "cost_basis": "tokens", **extra,
    }  # fmt: skip


ROWS = [
    _row("fast", 1, 1.0), _row("fast", 5, 0.96), _row("fast", 10, 0.7),
    _row(HOSTILE, 1, 0.8), _row(HOSTILE, 5, 0.2, errors={"429": 3}, rate_limited=3),
    _row(HOSTILE, 10, 0.0, client_bound=True, lateness_p99_s=0.012),
]  # fmt: skip


def test_the_knee_is_the_highest_rate_meeting_the_goodput_target() -> None:
    assert knee([r for r in ROWS if r["model"] == "fast"]) == 5  # 0.96 >= 0.9 > 0.7
    assert knee([r for r in ROWS if r["model"] == HOSTILE]) is None  # 0.8 at best
    assert knee([_row("m", 1, None)]) is None  # no SLO
    assert [c.kind for c in load_charts(ROWS)] == ["latency", "throughput", "goodput", "cost"]
    unpriced = _row("m", 1, None, cost_per_1m_output=None)
    assert [c.kind for c in load_charts([unpriced])] == ["latency", "throughput"]


def test_the_page_in_a_browser(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import chromium

    report = {"run_id": "load-1", "suites": ["quickstart"], "models": ["fast", HOSTILE],
              "arrival": "poisson", "slo_text": "ttft ≤ 0.5 s, e2e ≤ 5 s",
              "rows": ROWS}  # fmt: skip
    page = write_load_report(report, tmp_path / "load.html")
    assert not list(tmp_path.glob("*.tmp"))
    html = page.read_text(encoding="utf-8")
    assert HOSTILE not in html  # escaped everywhere, charts included
    with chromium() as driver:
        driver.get(page.as_uri())
        rows = driver.find_elements(By.CSS_SELECTOR, "#load-rows tbody tr")
        assert len(rows) == len(ROWS)
        assert rows[0].find_element(By.CSS_SELECTOR, ".offered").text == "1/s"
        assert rows[0].find_element(By.CSS_SELECTOR, ".ttft").text == "0.050 / 0.060 / 0.070"
        assert rows[1].find_element(By.CSS_SELECTOR, ".goodput").text == "96%"
        assert rows[0].find_element(By.CSS_SELECTOR, ".cost").text == "$0.15 · $0.60 · $0.26"
        knees = [k.text for k in driver.find_elements(By.CSS_SELECTOR, "#knees li")]
        assert knees[0] == "fast: at least 90% of requests met the SLO up to 5 requests/s"
        assert knees[1].startswith(HOSTILE + ": under 90%")  # shown as text, not markup
        notice = driver.find_element(By.ID, "client-bound").text
        assert f"{HOSTILE} 10/s" in notice and "fast" not in notice
        figures = driver.find_elements(By.CSS_SELECTOR, "figure.chart svg")
        assert len(figures) == 4
        assert not driver.find_elements(By.CSS_SELECTOR, "img")  # the name never became markup
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
