"""One run, many workers, in a shared PostgreSQL store, over real HTTP against `evals sim`.

Three processes share a run: the one that starts it (`evals run --distributed`) and two
that join (`evals worker RUN_ID`). One joiner is killed with SIGKILL mid-chunk; the others
finish the run. The sim's request log shows which requests were sent twice: only some of
the killed worker's own chunk, never one whose result another worker had stored. The
summary equals a single-process run's on the same cases.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.helpers import evals_cli, read_jsonl, serving_sim, write

CASES = 40
CHUNK = 4  # cases per chunk: 10 chunks


def suite(tmp_path: Path) -> Path:
    lines = [
        json.dumps({"id": f"c{i:02d}", "vars": {"a": i, "b": 2 * i}, "expect": 3 * i})
        for i in range(CASES)
    ]
    write(tmp_path / "cases.jsonl", "\n".join(lines) + "\n")
    return write(
        tmp_path / "arith.yaml",
        "name: arith\n"
        'prompt: "What is {{ a }} + {{ b }}?"\n'
        "params: {max_tokens: 16, temperature: 0}\n"
        "cases: cases.jsonl\n"
        "graders: [{type: numeric}]\n",
    )


@pytest.fixture
def sim(tmp_path: Path):
    with serving_sim(tmp_path, "  sim-good: {accuracy: 0.7, latency_ms: 120}\n") as handle:
        yield handle


def runner(tmp_path: Path, base_url: str) -> Path:
    return write(
        tmp_path / "runner.yaml",
        "endpoints:\n"
        f'  sim: {{base_url: "{base_url}", max_concurrency: 2, timeout_s: 10, rpm: 6000}}\n'
        "models:\n  - {id: sim-good, endpoint: sim}\n"
        "pricing:\n  sim-good: {input: 1.0, output: 4.0}\n",
    )


def spawn(cwd: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "EVALS_HOME": str(cwd / ".evals")}
    return subprocess.Popen(
        [sys.executable, "-m", "evals", *args], cwd=cwd, env=env, stderr=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def first_line(proc: subprocess.Popen) -> str:
    assert proc.stderr is not None
    return proc.stderr.readline()


def body_sha(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def test_two_workers_share_a_run_and_one_dies(tmp_path: Path, sim, pg_url: str) -> None:
    path, profile = suite(tmp_path), runner(tmp_path, sim.base_url)
    common = ["--store", pg_url, "--lease", "1.5"]
    starter = spawn(tmp_path, "run", str(path), "-r", str(profile), "--distributed",
                    "--chunk-size", str(CHUNK), *common)  # fmt: skip
    run_id = first_line(starter).split("run: ", 1)[1].split()[0]
    victim = spawn(tmp_path, "worker", run_id, *common)
    helper = spawn(tmp_path, "worker", run_id, *common)
    deadline = time.monotonic() + 60
    held = []
    while time.monotonic() < deadline and not held:
        held = query(
            pg_url,
            "SELECT chunk_no, first_case, end_case FROM fleet_chunks WHERE run_id = %s "
            "AND state = 'claimed' AND worker LIKE %s",
            (run_id, f"%:{victim.pid}:%"),
        )
        time.sleep(0.02)
    assert held, "the victim never claimed a chunk"
    time.sleep(0.15)  # mid-chunk: some of its requests answered, some in flight
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    # what was stored when it died (its lease has not run out: nobody has its chunk yet)
    stored_then = {case for (case,) in query(pg_url, "SELECT case_id FROM results")}
    out, err = starter.communicate(timeout=120)
    helper.communicate(timeout=120)
    assert starter.returncode == 0, err
    (chunk_no, first, end) = held[0]
    # the killed worker's chunk was claimed again after its lease ran out, and finished
    ((claims, state),) = query(
        pg_url, "SELECT claims, state FROM fleet_chunks WHERE run_id = %s AND chunk_no = %s",
        (run_id, chunk_no),
    )  # fmt: skip
    assert claims >= 2 and state == "done"
    assert query(pg_url, "SELECT COUNT(*) FROM fleet_chunks WHERE state <> 'done'") == [(0,)]
    stored = query(pg_url, "SELECT case_id, request FROM results WHERE run_id = %s", (run_id,))
    assert len(stored) == CASES and len({case for case, _ in stored}) == CASES
    log = [e for e in read_jsonl(tmp_path / "sim.jsonl") if e["path"] == "/v1/chat/completions"]
    sent: dict[str, int] = {}
    for entry in log:
        sha = body_sha(entry["request"])
        sent[sha] = sent.get(sha, 0) + 1
    twice = {case for case, request in stored if sent[body_sha(json.loads(request))] > 1}
    assert not twice & stored_then  # no request whose result was stored was sent again
    # only requests of the killed worker's chunk were sent again (at most what it had in
    # flight or not yet committed), never one another worker had stored
    assert twice <= {f"c{i:02d}" for i in range(first, end)}
    assert sum(sent.values()) == CASES + sum(n - 1 for n in sent.values())
    # the same figures as one process running the same cases
    alone = tmp_path / "alone"
    alone.mkdir()
    single = evals_cli(alone, "run", str(path), "-r", str(profile), "--summary-json", "s.json")
    assert single.returncode == 0, single.stderr
    shared = json.loads((tmp_path / "reports" / run_id / "summary.json").read_text())
    ((one_row,), (row,)) = json.loads((alone / "s.json").read_text())["rows"], shared["rows"]
    for key in ("samples", "passed", "errors", "prompt_tokens", "completion_tokens"):
        assert row[key] == one_row[key], key
    assert row["cost_usd"] == pytest.approx(one_row["cost_usd"])


def test_a_shared_max_cost_stops_the_fleet_before_the_cap(tmp_path: Path, sim, pg_url: str) -> None:
    path, profile = suite(tmp_path), runner(tmp_path, sim.base_url)
    cap = 0.0002  # all 40 requests cost ~$0.0005; each reserves ~$0.00008 (16 output x $4/1M)
    common = ["--store", pg_url, "--lease", "1.5", "--max-cost", str(cap)]
    starter = spawn(tmp_path, "run", str(path), "-r", str(profile), "--distributed",
                    "--chunk-size", str(CHUNK), *common)  # fmt: skip
    run_id = first_line(starter).split("run: ", 1)[1].split()[0]
    other = spawn(tmp_path, "worker", run_id, *common)
    _, err = starter.communicate(timeout=120)
    other.communicate(timeout=120)
    assert starter.returncode == 3, err
    ((spent, count),) = query(
        pg_url, "SELECT COALESCE(SUM(spend_usd), 0), COUNT(*) FROM results WHERE run_id = %s",
        (run_id,),
    )  # fmt: skip
    assert 0 < count < CASES and spent <= cap
    log = [e for e in read_jsonl(tmp_path / "sim.jsonl") if e["path"] == "/v1/chat/completions"]
    assert len(log) == count  # nothing was sent that the fleet's budget did not cover


def test_rate_limits_are_shared_among_the_live_workers(pg_url: str) -> None:
    from types import SimpleNamespace

    from evals.config.runner import EndpointSpec
    from evals.endpoints.client import Endpoint
    from evals.run.fleet import _share
    from evals.store import open_store
    from evals.store.fleet import Fleet

    store = open_store(pg_url)
    try:
        fleets = [Fleet(store, "r1", f"w{i}") for i in range(3)]
        for fleet in fleets:
            fleet.alive()
        assert fleets[0].live_workers(60) == 3
        store.db.execute("UPDATE fleet_workers SET seen_at = seen_at - 120 WHERE worker <> 'w0'")
        assert fleets[0].live_workers(60) == 1  # the others went quiet: w0 takes it all
        assert Fleet(store, "other-run", "x").live_workers(60) == 1
    finally:
        store.close()
    spec = EndpointSpec(base_url="http://127.0.0.1:1/v1", rpm=600, tpm=90_000, max_concurrency=4)
    live = SimpleNamespace(endpoints={"e": Endpoint("e", spec, spec.base_url, None)})
    shared = _share(live, 3)["e"].spec  # type: ignore[arg-type]
    assert (shared.rpm, shared.tpm, shared.max_concurrency) == (200, 30_000, 4)
    assert spec.rpm == 600  # the profile's own spec is left as it was
