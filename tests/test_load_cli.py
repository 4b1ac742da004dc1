"""`evals load` end to end over real HTTP against `evals sim` (the `sim` fixture).

The sim answers after `latency_ms` and then paces each content chunk `1 / tokens_per_s`
apart (a role chunk goes first, unpaced), so a request's first content chunk leaves the
server latency_ms + one gap after it arrived: 50 + 5 = 55 ms here. Request counts and
answers are checked against the sim's own request log, not only against our output.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from tests.helpers import REPO, chat_log, evals_cli, read_jsonl, write

CONFIG = """\
models:
  sim-load: {accuracy: 0.8, latency_ms: 50, tokens_per_s: 200}
  sim-zero: {accuracy: 0.8, tokens_per_s: 200}
  sim-faulty:
    accuracy: 0.8
    faults:
      - {kind: "429", rate: 0.3, times: null}
      - {kind: disconnect, rate: 0.3, times: null}
      - {kind: stall, rate: 0.3, stall_s: 3, times: null}
      - {kind: "503", rate: 1.0, times: null}
"""
LATENCY_S, GAP_S = 0.050, 1 / 200
QUICKSTART = REPO / "suites" / "quickstart.yaml"


def evals_load(cwd: Path, *args: str):
    """`evals load ARGS` in `cwd`, through the real CLI."""
    return evals_cli(cwd, "load", *args, timeout=120)


@pytest.fixture()
def runner(tmp_path: Path, sim) -> Path:
    return write(
        tmp_path / "runner.yaml",
        "endpoints:\n"
        f'  sim: {{base_url: "{sim.base_url}", timeout_s: 10}}\n'
        # the same server, with a short timeout for the stalls of sim-faulty
        f'  short: {{base_url: "{sim.base_url}", timeout_s: 1.5}}\n'
        "models:\n"
        "  - {id: sim-load, endpoint: sim}\n"
        "  - {id: sim-zero, endpoint: sim}\n"
        "  - {id: sim-faulty, endpoint: short}\n"
        "pricing:\n"
        "  sim-load: {input: 0.15, output: 0.60}\n",
    )


def _sent_since(log: Path, before: int) -> list[dict]:
    return chat_log(log)[before:] if log.exists() else []


def _logged(log: Path) -> int:
    return len(chat_log(log)) if log.exists() else 0


def test_two_rates_complete_with_their_counts_and_latencies(
    tmp_path: Path, runner: Path, paths: dict[str, Path]
) -> None:
    # the same requests to a model without latency_ms: what the machine itself adds
    base = tmp_path / "baseline.json"
    args = ["-r", str(runner), "-m", "sim-zero", "--rate", "10", "--requests", "10"]
    baseline = evals_load(tmp_path, str(QUICKSTART), *args, "--json", str(base))
    assert baseline.returncode == 0, baseline.stderr
    overhead_p50 = json.loads(base.read_text())["rows"][0]["ttft_p50_s"] - GAP_S

    before = _logged(paths["log"])
    out, records = tmp_path / "load.json", tmp_path / "records.jsonl"
    result = evals_load(
        tmp_path,
        str(QUICKSTART),
        "-r",
        str(runner),
        "-m",
        "sim-load",
        "--rate",
        "5,10",
        "--duration",
        "2s",
        "--slo",
        "ttft=0.5s,e2e=5s",
        "--json",
        str(out),
        "--records",
        str(records),
    )
    assert result.returncode == 0, result.stderr
    assert "sim-load" in result.stdout and "10 req/s" in result.stdout  # the table
    data = json.loads(out.read_text())
    assert [m["id"] for m in data["models"]] == ["sim-load"]
    assert data["models"][0]["warmup_error"] is None
    rows = data["rows"]
    assert [(r["model"], r["rate"], r["arrival"]) for r in rows] == [
        ("sim-load", 5.0, "constant"),
        ("sim-load", 10.0, "constant"),
    ]
    # 5 req/s for 2 s is 10 requests (0, 0.2, ..., 1.8 s); 10 req/s is 20
    assert [(r["requests"], r["sent"], r["completed"]) for r in rows] == [
        (10, 10, 10),
        (20, 20, 20),
    ]
    for row in rows:
        assert row["errors"] == {} and row["rate_limited"] == 0 and row["dropped"] == 0
        assert row["achieved_rate"] == pytest.approx(row["rate"], rel=0.1)
        # never before the server could answer; on an idle machine 58-59 ms
        assert LATENCY_S + GAP_S - 0.001 <= row["ttft_p50_s"] < LATENCY_S + GAP_S + 0.030
        # the latency the server added, the machine's own share taken out: 50 ms +- 10
        added = row["ttft_p50_s"] - GAP_S - overhead_p50
        assert added == pytest.approx(LATENCY_S, abs=0.010), (row["ttft_p50_s"], overhead_p50)
        assert row["itl_p50_s"] == pytest.approx(GAP_S, abs=0.003)
        assert row["lateness_p99_s"] < 0.005 and row["client_bound"] is False
        assert row["goodput"] == 1.0  # 55 ms and ~120 ms are well inside 0.5 s and 5 s
        assert row["cost_per_1m_blended"] == pytest.approx((3 * 0.15 + 0.60) / 4)
        assert row["output_tokens_per_s"] > 0

    # the server saw one warm-up and then the 30 requests, streamed with usage asked for
    logged = _sent_since(paths["log"], before)
    assert len(logged) == 1 + 10 + 20
    assert all(e["stream"] and e["status"] == 200 for e in logged)
    assert all(e["request"]["stream_options"] == {"include_usage": True} for e in logged)
    # open loop at 10 req/s: the server received them 0.1 s apart
    step = sorted(e["ts"] for e in logged[11:])
    gaps = [b - a for a, b in zip(step, step[1:], strict=False)]
    assert statistics.median(gaps) == pytest.approx(0.1, abs=0.02)

    # every request's record keeps its job and its answer (to grade and store later)
    kept = read_jsonl(records)
    assert len(kept) == 30
    first = kept[0]
    assert (first["suite"], first["model"], first["repeat"]) == ("quickstart", "sim-load", 0)
    assert first["prompt"] in ("terse", "chatty") and first["case_id"]
    assert first["request"]["messages"] and "vars" in first
    answered = sorted(e["response_text"] for e in logged[1:])
    assert sorted(r["output"] for r in kept) == answered
    assert sum(r["completion_tokens"] for r in kept[:10]) == rows[0]["output_tokens"]
    usage = [e["usage"]["completion_tokens"] for e in logged[1:11]]
    assert sum(usage) == rows[0]["output_tokens"]


def test_poisson_requests_and_a_concurrency_sweep(
    tmp_path: Path, runner: Path, paths: dict[str, Path]
) -> None:
    before = _logged(paths["log"])
    out = tmp_path / "load.json"
    result = evals_load(
        tmp_path,
        str(QUICKSTART),
        "-r",
        str(runner),
        "-m",
        "sim-load",
        "--rate",
        "20",
        "--arrival",
        "poisson",
        "--seed",
        "3",
        "--requests",
        "12",
        "--concurrency-sweep",
        "1,3",
        "--json",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [(r["arrival"], r["rate"], r["concurrency"]) for r in rows] == [
        ("poisson", 20.0, None),
        ("closed", None, 1),
        ("closed", None, 3),
    ]
    assert [r["completed"] for r in rows] == [12, 12, 12]
    assert len(_sent_since(paths["log"], before)) == 1 + 36
    # one worker sends back to back: at most ~1 / e2e requests a second
    one, three = rows[1], rows[2]
    assert one["achieved_rate"] < 1 / one["e2e_p50_s"] * 1.2
    assert three["achieved_rate"] > 1.5 * one["achieved_rate"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--rate", "fast"], "--rate 'fast'"),
        (["--rate", "5,0"], "--rate '5,0'"),
        (["--rate", "5", "--duration", "forever"], "--duration 'forever'"),
        (["--rate", "5", "--slo", "ttft=soon"], "--slo ttft"),
        (["--rate", "5", "-m", "nope"], "unknown model id(s) nope"),
        ([], "give --rate"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(
    tmp_path: Path, runner: Path, paths: dict[str, Path], args: list[str], needle: str
) -> None:
    before = _logged(paths["log"])
    result = evals_load(tmp_path, str(QUICKSTART), "-r", str(runner), *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert _logged(paths["log"]) == before  # nothing was sent


def test_errors_are_counted_by_kind_as_the_server_sent_them(
    tmp_path: Path, runner: Path, paths: dict[str, Path]
) -> None:
    before = _logged(paths["log"])
    out = tmp_path / "load.json"
    result = evals_load(
        tmp_path,
        str(QUICKSTART),
        "-r",
        str(runner),
        "-m",
        "sim-faulty",
        "--rate",
        "40",
        "--requests",
        "20",
        "--slo",
        "e2e=10s",
        "--json",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["models"][0]["warmup_error"] is not None  # every request of it fails
    (row,) = data["rows"]
    logged = _sent_since(paths["log"], before)[1:]  # after the warm-up
    faults = [e["fault"] for e in logged]
    expected = {
        "429": faults.count("429"),
        "connection": faults.count("disconnect"),
        "5xx": faults.count("503"),
    }
    # the stalls: the client gives up after the endpoint's 1.5 s (a request so slowed by a
    # busy machine that it never reached the server would time out too)
    timeouts = 20 - sum(expected.values())
    assert row["errors"] == {**expected, "timeout": timeouts}
    assert all(expected.values()) and 0 < faults.count("stall") <= timeouts, faults
    assert row["rate_limited"] == expected["429"]
    assert row["completed"] == 0 and row["goodput"] == 0.0  # an error never meets an SLO
    assert row["ttft_p50_s"] is None and row["e2e_p50_s"] is None  # no data, not 0


def test_requests_past_max_in_flight_are_dropped_and_reported(
    tmp_path: Path, runner: Path, paths: dict[str, Path]
) -> None:
    before = _logged(paths["log"])
    out = tmp_path / "load.json"
    # a request every 10 ms, each taking 55 ms or more: at most 2 in flight
    result = evals_load(
        tmp_path,
        str(QUICKSTART),
        "-r",
        str(runner),
        "-m",
        "sim-load",
        "--rate",
        "100",
        "--requests",
        "10",
        "--max-in-flight",
        "2",
        "--slo",
        "ttft=1s",
        "--json",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(out.read_text())["rows"]
    assert row["requests"] == 10 and row["sent"] + row["dropped"] == 10
    assert row["dropped"] >= 5 and row["completed"] == row["sent"]
    assert len(_sent_since(paths["log"], before)) == 1 + row["sent"]
    assert row["goodput"] == pytest.approx(row["sent"] / 10)  # dropped ones count as misses
    assert "dropped" in result.stderr
