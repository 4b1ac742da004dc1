"""The library surface (evals.run, load_summary, load_run, load_suite, load_runner), re-grading a
stored run without paying again, and --max-cost capping judge calls too.

Over real HTTP against `evals sim` on 127.0.0.1; expected figures from the sim's log.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import evals
from evals.sim.server import start_in_thread
from tests.helpers import REPO, chat_log, evals_cli, write

QUICKSTART = REPO / "suites" / "quickstart.yaml"


def _sim(tmp_path: Path, models: str):
    config = write(tmp_path / "sim.yaml", "models:\n" + models)
    return start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl"))


def test_library_runs_a_suite_and_reads_it_back(tmp_path: Path) -> None:
    with _sim(tmp_path, "  m: {accuracy: 0.7}\n") as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: m, endpoint: sim}\n",
        )
        summary = evals.run(
            [QUICKSTART],
            runner,
            store_path=tmp_path / "store.sqlite",
            out_dir=tmp_path / "report",
            limit=4,
        )
    log = chat_log(tmp_path / "sim.jsonl")
    assert summary["complete"] is True and len(log) == 8  # 4 cases x 2 prompts
    assert sum(row["passed"] for row in summary["rows"]) == sum(e["correct"] for e in log)
    again = evals.load_summary("latest", tmp_path / "store.sqlite")
    assert again["run_id"] == summary["run_id"] and again["rows"] == summary["rows"]
    # the results as a DataFrame, row for row what the sim answered
    frame = evals.load_run("latest", tmp_path / "store.sqlite")
    assert len(frame) == 8 and set(frame["prompt"]) == {"terse", "chatty"}
    assert int(frame["passed"].sum()) == sum(e["correct"] for e in log)
    assert sorted(frame["output"]) == sorted(e["response_text"] for e in log)
    assert str(frame["passed"].dtype) == "boolean" and str(frame["prompt_tokens"].dtype) == "Int64"
    assert list(frame["tags"]) == [[]] * 8  # quickstart's cases have no tags
    # `store` may also be an open store (left open) or a path as str
    from evals.store import open_store

    store = open_store(tmp_path / "store.sqlite")
    try:
        assert evals.load_summary(summary["run_id"], store)["rows"] == summary["rows"]
        assert evals.load_run(store=store)["id"].tolist() == frame["id"].tolist()
        assert store.latest_run_id() == summary["run_id"]  # still open
    finally:
        store.close()
    assert len(evals.load_run(store=str(tmp_path / "store.sqlite"))) == 8
    assert evals.load_suite(QUICKSTART).name == "quickstart"
    assert [m.id for m in evals.load_runner(runner).models] == ["m"]


def test_a_stored_run_is_regraded_without_sending_anything(tmp_path: Path) -> None:
    from evals.run.grade import regrade
    from evals.store import open_store

    with _sim(tmp_path, "  m: {accuracy: 0.6}\n") as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: m, endpoint: sim}\n",
        )
        store_path = tmp_path / "store.sqlite"
        summary = evals.run(
            [QUICKSTART], runner, store_path=store_path, out_dir=tmp_path / "rep", prompts=["terse"]
        )
        sent = len(chat_log(tmp_path / "sim.jsonl"))
        # the same suite, graded differently: pass only when the answer contains "zzz"
        original = QUICKSTART.read_text()
        strict = write(
            tmp_path / "quickstart.yaml",
            original[: original.index("graders:")] + "graders:\n  - {type: contains, value: zzz}\n",
        )
        write(
            tmp_path / "data" / "quickstart.jsonl",
            (REPO / "suites/data/quickstart.jsonl").read_text(),
        )
        suite = evals.load_suite(strict)
        assert suite.graders[0].type_name == "contains"
        store = open_store(store_path)
        try:
            count = asyncio.run(regrade(store, summary["run_id"], [suite], None))
            rows = list(store.results(summary["run_id"]))
        finally:
            store.close()
        assert len(chat_log(tmp_path / "sim.jsonl")) == sent  # nothing sent again
    assert count == 10 and len(rows) == 10
    assert all(row.passed is False for row in rows)
    assert all(row.grades[0]["type"] == "contains" for row in rows)
    after = evals.load_summary(summary["run_id"], store_path)
    assert after["rows"][0]["passed"] == 0 and summary["rows"][0]["passed"] > 0


def test_max_cost_caps_judge_calls_too(tmp_path: Path) -> None:
    # The model is nearly free and the judge dear: before the judge's calls were
    # budgeted, they were paid first and counted after, past the cap.
    cap = 0.01  # below what the four judge calls cost (about $0.004 each)
    with _sim(tmp_path, "  m: {accuracy: 1.0}\n  judge: {accuracy: 1.0}\n") as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}", max_concurrency: 2}}\n'
            "models:\n  - {id: m, endpoint: sim}\n"
            "judge: {id: judge, endpoint: sim}\n"
            "pricing:\n  m: {input: 0.01, output: 0.01}\n  judge: {input: 20.0, output: 60.0}\n",
        )
        result = evals_cli(
            tmp_path,
            "run",
            str(REPO / "suites/reference/rubric.yaml"),
            "-r",
            str(runner),
            "--max-cost",
            str(cap),
            "--summary-json",
            "s.json",
        )
    assert result.returncode == 3, result.stderr
    prices = {"m": (0.01, 0.01), "judge": (20.0, 60.0)}
    paid = sum(
        (
            e["usage"]["prompt_tokens"] * prices[e["model"]][0]
            + e["usage"]["completion_tokens"] * prices[e["model"]][1]
        )
        / 1e6
        for e in chat_log(tmp_path / "sim.jsonl")
        if e["status"] == 200
    )
    assert 0 < paid <= cap
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["stopped_reason"] == "budget"
    assert summary["spend_usd"] + sum(r["grader_cost_usd"] or 0 for r in summary["rows"]) == (
        pytest.approx(paid, rel=1e-9)
    )


def test_partial_credit_scores_get_a_t_interval_or_a_bootstrap(tmp_path: Path) -> None:
    from scipy import stats as sp

    from tests.helpers import stored_results

    original = QUICKSTART.read_text()
    suite = write(
        tmp_path / "partial.yaml",
        original[: original.index("graders:")].replace("name: quickstart", "name: partial")
        + "graders:\n  - {type: levenshtein, value: 'Answer: 100', threshold: 0.5}\n",
    )
    write(
        tmp_path / "data" / "quickstart.jsonl", (REPO / "suites/data/quickstart.jsonl").read_text()
    )
    with _sim(tmp_path, "  m: {accuracy: 0.5}\n") as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: m, endpoint: sim}\n",
        )
        ran = evals_cli(
            tmp_path, "run", str(suite), "-r", str(runner), "--prompt", "chatty",
            "--summary-json", "t.json",
        )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    scores = [r["score"] for r in stored_results(tmp_path)]
    assert len(set(scores)) > 1 and all(0 < s < 1 for s in scores)  # partial credit
    row = json.loads((tmp_path / "t.json").read_text())["rows"][0]
    expected = sp.t.interval(0.95, len(scores) - 1, loc=sum(scores) / 10, scale=sp.sem(scores))
    assert row["mean_score_ci_method"] == "t"
    assert (row["mean_score_ci_low"], row["mean_score_ci_high"]) == pytest.approx(expected)
    run_id = ran.stderr.splitlines()[0].split("run: ")[1]
    again = evals_cli(tmp_path, "report", run_id, "--score-ci", "bootstrap")
    assert again.returncode == 0, again.stderr
    boot = json.loads((tmp_path / "reports" / run_id / "summary.json").read_text())["rows"][0]
    assert boot["mean_score_ci_method"] == "bootstrap"
    assert (
        min(scores) <= boot["mean_score_ci_low"] < boot["mean_score"] < boot["mean_score_ci_high"]
    )
    assert boot["mean_score_ci_high"] <= max(scores)


def test_evals_regrade_regrades_from_the_store(tmp_path: Path) -> None:
    original = QUICKSTART.read_text()
    suite = write(tmp_path / "quickstart.yaml", original)
    write(
        tmp_path / "data" / "quickstart.jsonl", (REPO / "suites/data/quickstart.jsonl").read_text()
    )
    with _sim(tmp_path, "  m: {accuracy: 0.7}\n") as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: m, endpoint: sim}\n",
        )
        ran = evals_cli(tmp_path, "run", str(suite), "-r", str(runner), "--summary-json", "a.json")
        assert ran.returncode == 0, ran.stderr
        run_id = ran.stderr.splitlines()[0].split("run: ")[1]
        sent = len(chat_log(tmp_path / "sim.jsonl"))
        # the graders change: now only an answer containing "zzz" passes
        suite.write_text(
            original[: original.index("graders:")] + "graders:\n  - {type: contains, value: zzz}\n"
        )
        again = evals_cli(tmp_path, "regrade", run_id)
        assert again.returncode == 0, again.stderr
        assert len(chat_log(tmp_path / "sim.jsonl")) == sent  # the model was not asked again
    assert f"regraded 20 samples of run {run_id}" in again.stderr
    before = json.loads((tmp_path / "a.json").read_text())
    after = json.loads((tmp_path / "reports" / run_id / "summary.json").read_text())
    assert sum(r["passed"] for r in before["rows"]) > 0
    assert [r["passed"] for r in after["rows"]] == [0, 0]
    missing = evals_cli(tmp_path, "regrade", "no-such-run")
    assert missing.returncode == 2 and "no run 'no-such-run'" in missing.stderr


def test_regrade_with_a_judge_replays_its_calls_from_the_cache(tmp_path: Path) -> None:
    with _sim(tmp_path, "  m: {accuracy: 1.0}\n  judge: {accuracy: 1.0}\n") as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: m, endpoint: sim}\njudge: {id: judge, endpoint: sim}\n",
        )
        rubric = str(REPO / "suites/reference/rubric.yaml")
        ran = evals_cli(tmp_path, "run", rubric, "-r", str(runner), "--summary-json", "a.json")
        assert ran.returncode == 0, ran.stderr
        run_id = ran.stderr.splitlines()[0].split("run: ")[1]
        sent = len(chat_log(tmp_path / "sim.jsonl"))
        assert sent == 2 + 4  # two answers, two judge calls about each
        again = evals_cli(tmp_path, "regrade", run_id)
        assert again.returncode == 0, again.stderr
        assert len(chat_log(tmp_path / "sim.jsonl")) == sent  # judge prompts unchanged: cached
    before = json.loads((tmp_path / "a.json").read_text())["rows"][0]
    after = json.loads((tmp_path / "reports" / run_id / "summary.json").read_text())["rows"][0]
    assert after["passed"] == before["passed"] == 2
    assert after["grader_cost_usd"] == before["grader_cost_usd"]
