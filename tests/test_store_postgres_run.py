"""The CLI on a shared PostgreSQL store, over real HTTP against `evals sim`: runs from two
"machines" (working folders with their own EVALS_HOME) land in one store, `--baseline
latest` finds the other's run, `evals store push` copies a local run (idempotently),
and the password never shows. Figures are read back with psycopg, not through evals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from tests.helpers import QUICKSTART, evals_cli, serving_sim, stored_results, write


@pytest.fixture
def sim(tmp_path: Path):
    with serving_sim(tmp_path, "  sim-good: {accuracy: 0.7}\n") as handle:
        yield handle


def machine(tmp_path: Path, name: str, base_url: str) -> tuple[Path, Path]:
    """A working folder of its own (its own .evals) and a runner profile for the sim."""
    folder = tmp_path / name
    runner = write(
        folder / "runner.yaml",
        "endpoints:\n"
        f'  sim: {{base_url: "{base_url}", max_concurrency: 4, timeout_s: 10}}\n'
        "models:\n  - {id: sim-good, endpoint: sim}\n"
        "pricing:\n  sim-good: {input: 0.4, output: 1.6}\n",
    )
    return folder, runner


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_two_machines_share_one_store_and_its_baseline(tmp_path: Path, sim, pg_url: str) -> None:
    first, runner_a = machine(tmp_path, "a", sim.base_url)
    second, runner_b = machine(tmp_path, "b", sim.base_url)
    base = ["run", str(QUICKSTART), "--store", pg_url]
    done = evals_cli(first, *base, "-r", str(runner_a))
    assert done.returncode == 0, done.stderr
    assert not (first / ".evals" / "evals.sqlite").exists()  # nothing local
    (count,) = rows(pg_url, "SELECT COUNT(*) FROM results")[0]
    assert count == 20
    env = {"EVALS_STORE": pg_url}
    gated = evals_cli(second, "run", str(QUICKSTART), "-r", str(runner_b), "--baseline", "latest",
                      env=env)  # fmt: skip
    assert gated.returncode == 0, gated.stderr
    first_id = done.stderr.split("run: ", 1)[1].split()[0]
    assert first_id in gated.stdout + gated.stderr  # compared with the other machine's run
    listed = json.loads(evals_cli(second, "runs", "--json", env=env).stdout)
    assert len(listed) == 2 and all(run["complete"] for run in listed)
    exported = evals_cli(second, "export", first_id, "--format", "jsonl", env=env)
    lines = [json.loads(line) for line in exported.stdout.splitlines()][1:]  # after the run line
    want = rows(pg_url, f"SELECT case_id, prompt, output FROM results WHERE run_id = '{first_id}'")
    assert sorted((r["case_id"], r["prompt"], r["output"]) for r in lines) == sorted(want)
    report = evals_cli(second, "report", first_id, env=env)
    assert report.returncode == 0, report.stderr
    import evals

    frame = evals.load_run(first_id, store=pg_url)  # the library reads the shared store too
    assert sorted(zip(frame["case_id"], frame["prompt"], frame["output"], strict=True)) == sorted(
        want
    )
    summary = evals.load_summary(first_id, store=pg_url)
    assert sum(row["samples"] for row in summary["rows"]) == 20
    second_id = gated.stderr.split("run: ", 1)[1].split()[0]
    compared = evals_cli(second, "compare", first_id, second_id, "--json", "c.json", env=env)
    assert compared.returncode == 0, compared.stderr
    comparison = json.loads((second / "c.json").read_text())
    assert comparison["base_run"] == first_id and len(comparison["rows"]) == 2
    assert all(row["n_paired"] == 10 for row in comparison["rows"])
    forecast = evals_cli(second, "forecast", first_id, "--requests", "1000", "--json", "f.json",
                         env=env)  # fmt: skip
    assert forecast.returncode == 0, forecast.stderr
    rows_by_prompt = {r["prompt"]: r for r in json.loads((second / "f.json").read_text())["rows"]}
    costs = dict(rows(pg_url, f"SELECT prompt, AVG(cost_usd) FROM results WHERE run_id = "
                              f"'{first_id}' GROUP BY prompt"))  # fmt: skip
    for prompt, mean in costs.items():  # N x the mean cost per request, read with psycopg
        assert rows_by_prompt[prompt]["expected_usd"] == pytest.approx(1000 * mean)


def test_store_push_copies_a_local_run_once(tmp_path: Path, sim, pg_url: str) -> None:
    folder, runner = machine(tmp_path, "laptop", sim.base_url)
    done = evals_cli(folder, "run", str(QUICKSTART), "-r", str(runner))
    assert done.returncode == 0, done.stderr
    run_id = done.stderr.split("run: ", 1)[1].split()[0]
    local = stored_results(folder)
    for _ in range(2):  # idempotent
        pushed = evals_cli(folder, "store", "push", "latest", "--to", pg_url)
        assert pushed.returncode == 0, pushed.stderr
    copied = rows(pg_url, "SELECT case_id, prompt, repeat, output, cost_usd, passed FROM results")
    assert sorted(copied) == sorted(
        (r["case_id"], r["prompt"], r["repeat"], r["output"], r["cost_usd"], r["passed"])
        for r in local
    )
    ((complete, planned),) = rows(
        pg_url, f"SELECT complete, planned FROM runs WHERE run_id = '{run_id}'"
    )
    assert (complete, planned) == (1, 20)
    (cached,) = rows(pg_url, "SELECT COUNT(*) FROM response_cache")[0]
    assert cached == 20  # every fresh answer's cache entry came along
    shared = evals_cli(folder, "report", run_id, "--store", pg_url)
    assert shared.returncode == 0, shared.stderr
    summary = json.loads((folder / "reports" / run_id / "summary.json").read_text())
    assert sum(row["passed"] for row in summary["rows"]) == sum(r["passed"] for r in local)


def test_a_password_in_the_url_is_never_shown(tmp_path: Path, sim, pg_url: str) -> None:
    password = os.environ["PGPASSWORD"]
    with_password = pg_url.replace("evals@", f"evals:{password}@", 1)
    env = {"PGPASSWORD": ""}  # only the URL carries it
    folder, runner = machine(tmp_path, "m", sim.base_url)
    done = evals_cli(folder, "run", str(QUICKSTART), "-r", str(runner), "--store", with_password,
                     env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = evals_cli(folder, "runs", "--store", with_password, env=env)
    wrong = evals_cli(folder, "runs", "--store", with_password.replace(password, "nope"), env=env)
    assert wrong.returncode == 2 and "cannot open the store" in wrong.stderr
    shown = done.stdout + done.stderr + listed.stdout + listed.stderr + wrong.stderr
    assert password not in shown
    for path in (folder / "reports").rglob("*"):
        if path.is_file():
            assert password not in path.read_text(errors="replace")
    (config,) = rows(pg_url, "SELECT config FROM runs")[0]
    assert password not in config and "[REDACTED]" in config  # argv kept, password not


def test_a_local_run_gates_on_the_shared_stores_latest(tmp_path: Path, sim, pg_url: str) -> None:
    main, runner_main = machine(tmp_path, "main", sim.base_url)
    pull, runner_pull = machine(tmp_path, "pull", sim.base_url)
    done = evals_cli(main, "run", str(QUICKSTART), "-r", str(runner_main), "--store", pg_url)
    assert done.returncode == 0, done.stderr
    main_id = done.stderr.split("run: ", 1)[1].split()[0]
    args = ["run", str(QUICKSTART), "-r", str(runner_pull), "--baseline", "latest"]
    gated = evals_cli(pull, *args, "--baseline-store", pg_url, "--junit", "j.xml")
    assert gated.returncode == 0, gated.stderr
    assert main_id in gated.stdout + gated.stderr  # compared with main's run, from PostgreSQL
    assert rows(pg_url, "SELECT COUNT(DISTINCT run_id) FROM results") == [(1,)]  # stayed local
    assert len(stored_results(pull)) == 20
    assert "<testsuite" in (pull / "j.xml").read_text()


def test_a_baseline_store_without_a_baseline_fails_the_gate(
    tmp_path: Path, sim, pg_url: str, pg_cluster
) -> None:
    pull, runner_pull = machine(tmp_path, "pull", sim.base_url)
    empty = pg_cluster.fresh_database()  # a shared store with no run of these suites yet
    args = ["run", str(QUICKSTART), "-r", str(runner_pull), "--baseline", "latest"]
    refused = evals_cli(pull, *args, "--baseline-store", empty)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "no complete run of suites quickstart" in refused.stderr
