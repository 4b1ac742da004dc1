"""`evals load` against the sim's load model (2 slots, a prefill and a per-token decode
time), over real HTTP: below capacity the client measures what the sim injected (its
request log), above it latency climbs and the SLO knee lands where the slot count
predicts; goodput equals the share of requests the log shows within the SLO.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from evals.report.load_charts import knee
from tests.helpers import evals_cli, read_jsonl, write

SLOTS = 2
CONFIG = f"""\
models:
  server: {{accuracy: 1.0, slots: {SLOTS}, prefill_ms_per_token: 1.0, decode_ms_per_token: 8}}
"""
RATES = (4, 8, 12, 30, 45)  # capacity is about 2 / 0.1 s = 20 requests/s
DURATION_S = 2
SUITE = """\
name: echo
prompt: "Repeat: {{ text }}"
params: {max_tokens: 64}
cases:
  - {id: a, vars: {text: "forty characters of text, said back here"}, expect: "forty"}
graders: [{type: contains}]
"""


def _steps(log: Path, since: int) -> list[list[dict[str, Any]]]:
    """The sim's records of this test's requests, by step (the first is the warm-up)."""
    records = [e for e in read_jsonl(log)[since:] if e.get("load")]
    records.sort(key=lambda e: e["load"]["arrived_s"])
    records = records[1:]  # the warm-up request
    steps, start = [], 0
    for rate in RATES:
        steps.append(records[start : start + rate * DURATION_S])
        start += rate * DURATION_S
    assert start == len(records)
    return steps


def _p(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)
    )


@pytest.fixture(scope="module")
def run(sim: Any, paths: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("capacity")
    suite = write(root / "echo.yaml", SUITE)
    runner = write(
        root / "r.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}", timeout_s: 30}}\n'
        "models:\n  - {id: server, endpoint: sim}\n",
    )
    since = len(read_jsonl(paths["log"])) if paths["log"].exists() else 0
    out = root / "load.json"
    done = evals_cli(
        root, "load", str(suite), "-r", str(runner), "--rate", ",".join(map(str, RATES)),
        "--duration", f"{DURATION_S}s", "--slo", "e2e=150ms", "--json", str(out),
        "--out", str(root / "report"), "--records", str(root / "records.jsonl"), timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"report: {root / 'report' / 'index.html'}" in done.stderr
    rows = json.loads(out.read_text())["rows"]
    return rows, _steps(paths["log"], since), root


def test_below_capacity_the_client_measures_what_the_sim_injected(run) -> None:
    rows, steps, _ = run
    for row, logged in zip(rows[:3], steps[:3], strict=True):
        assert row["completed"] == len(logged) == row["rate"] * DURATION_S
        for name in ("ttft", "e2e"):
            values = [e["load"][f"{name}_s"] for e in logged]
            for q in (50, 90):
                measured = row[f"{name}_p{q}_s"]
                assert abs(measured - _p(values, q)) < 0.005, (row["rate"], name, q)
        assert not row["client_bound"]


def test_above_capacity_latency_climbs_and_the_knee_is_where_slots_predict(run) -> None:
    rows, steps, _ = run
    service = statistics.median(
        e["load"]["done_s"] - e["load"]["slot_s"] for step in steps for e in step
    )
    capacity = SLOTS / service  # requests/s two slots can serve
    predicted = max(rate for rate in RATES if rate < capacity)
    assert predicted == 12 and capacity < 30  # the rates straddle it
    assert knee(rows) == predicted
    e2e = [row["e2e_p50_s"] for row in rows]
    assert e2e[3] > 2 * e2e[0] and e2e[4] > e2e[3]  # queueing: latency climbs past capacity
    queued = [max(e["load"]["queue_s"] for e in step) for step in steps]
    assert queued[2] < 0.005 < queued[3]  # nobody waited below capacity


def test_goodput_is_the_share_the_sim_log_shows_within_the_slo(run) -> None:
    """Per request, the sim's log says when the body arrived and how long it took from
    there; the client's send time (aligned on the step's first request) adds whatever
    happened before arrival (an overloaded server reads new requests late: that is
    latency too). A request counts when arrival delay + logged e2e is within the SLO;
    only a request within 5 ms of the bound may go either way."""
    rows, steps, root = run
    records = read_jsonl(root / "records.jsonl")  # step after step, each in sending order
    bound, margin = 0.150, 0.005
    for row, logged in zip(rows, steps, strict=True):
        mine, records = records[: row["sent"]], records[row["sent"] :]
        arrivals = sorted(logged, key=lambda e: e["load"]["arrived_s"])
        sends = sorted(mine, key=lambda r: r["sent_s"])
        offset = arrivals[0]["load"]["arrived_s"] - sends[0]["sent_s"]  # clock alignment
        delays = [
            e["load"]["arrived_s"] - offset - r["sent_s"] + e["load"]["e2e_s"]
            for e, r in zip(arrivals, sends, strict=True)
        ]
        surely_in = sum(d <= bound - margin for d in delays)
        maybe_in = sum(d <= bound + margin for d in delays)
        assert surely_in <= round(row["goodput"] * row["requests"]) <= maybe_in, row["rate"]
    assert rows[0]["goodput"] == 1.0 and rows[-1]["goodput"] < 0.2


def test_every_answer_received_is_graded_and_the_report_is_written(run) -> None:
    from html.parser import HTMLParser

    rows, steps, root = run
    for row, logged in zip(rows, steps, strict=True):
        # the sim (accuracy 1.0) says the text back: every completed answer passes
        assert row["graded"] == row["completed"] == len(logged)
        assert row["accuracy"] == 1.0 and row["grading_errors"] == 0

    class Rows(HTMLParser):
        count = 0

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.count += tag == "tr" and ("class", "load-row") in attrs

    parser = Rows()
    parser.feed((root / "report" / "index.html").read_text(encoding="utf-8"))
    assert parser.count == len(RATES)  # one row per rate (the page itself: test_load_report)


def test_the_load_test_is_a_run_in_the_store(run) -> None:
    rows, _, root = run
    listed = evals_cli(root, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    (stored,) = json.loads(listed.stdout)
    assert stored["complete"] and stored["suites"] == ["echo"] and stored["mode"] == "load"
    assert "load test" in evals_cli(root, "runs").stdout
    again = evals_cli(root, "report", stored["run_id"], "--out", "again")
    assert again.returncode == 0, again.stderr
    assert (root / "again" / "index.html").read_text().count('class="load-row"') == len(RATES)
    history = evals_cli(root, "runs", "--html", "history.html")
    assert history.returncode == 0, history.stderr
