"""Every reference suite runs over HTTP against `evals sim`; grades match what it answered."""

from __future__ import annotations

import json

import pytest

from evals.sim.server import start_in_thread
from tests.browser import chromium
from tests.helpers import REPO, chat_log, evals_cli, stored_results, write

# the first grader set: deterministic graders that need no judge or embedder
REFERENCE = [
    REPO / "suites" / "reference" / f"{name}.yaml"
    for name in ("exact", "contains", "regex", "numeric", "json", "choice")
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    """One run of all reference suites against a perfect and a weak simulated model."""
    tmp = tmp_path_factory.mktemp("ref")
    config = write(
        tmp / "sim.yaml", "models:\n  perfect: {accuracy: 1.0}\n  weak: {accuracy: 0.4}\n"
    )
    with start_in_thread(config_path=str(config), log_path=str(tmp / "sim.jsonl")) as sim:
        runner = write(
            tmp / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: perfect, endpoint: sim}\n  - {id: weak, endpoint: sim}\n",
        )
        result = evals_cli(
            tmp, "run", *map(str, REFERENCE), "-r", str(runner), "--summary-json", "s.json"
        )
    assert result.returncode == 0, result.stderr
    return tmp, json.loads((tmp / "s.json").read_text()), stored_results(tmp)


def test_a_perfect_model_passes_every_reference_case(runs) -> None:
    _, summary, _ = runs
    perfect = [row for row in summary["rows"] if row["model"] == "perfect"]
    assert {row["suite"] for row in perfect} == {
        "ref-exact",
        "ref-contains",
        "ref-regex",
        "ref-numeric",
        "ref-json",
        "ref-choice",
    }
    for row in perfect:
        assert row["errors"] == 0 and row["passed"] == row["samples"], row


def test_weak_model_grades_follow_the_sims_correctness(runs) -> None:
    tmp, _, results = runs
    correct_by_body = {
        (e["model"], json.dumps(e["request"]["messages"], sort_keys=True)): e["correct"]
        for e in chat_log(tmp / "sim.jsonl")
    }
    checked = 0
    for result in results:
        if result["model"] != "weak" or result["suite"] == "ref-json":
            continue  # JSON cases include a negated grader: a wrong answer can pass there
        messages = json.loads(result["request"])["messages"]
        correct = correct_by_body[("weak", json.dumps(messages, sort_keys=True))]
        assert bool(result["passed"]) == correct, (result["suite"], result["case_id"])
        checked += 1
    assert checked == 2 * 5 + 4 + 3 + 5 + 6  # numeric has two prompts


def test_case_data_is_sent_verbatim_not_rendered(runs) -> None:
    tmp, _, _ = runs
    sent = [e["request"]["messages"][-1]["content"] for e in chat_log(tmp / "sim.jsonl")]
    assert "Repeat: {{ 7*7 }} {% if x %}" in sent
    assert not any("Repeat: 49" in text for text in sent)


def test_report_rebuilds_from_the_store_and_renders_in_a_browser(runs) -> None:
    tmp, summary, _ = runs
    result = evals_cli(tmp, "report", summary["run_id"], "--out", "rebuilt")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp / "rebuilt" / "summary.json").read_text()) == summary
    listing = evals_cli(tmp, "runs")
    assert summary["run_id"] in listing.stdout and "complete" in listing.stdout
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with chromium() as driver:
        driver.get((tmp / "rebuilt" / "index.html").as_uri())
        rows = driver.find_elements(By.CSS_SELECTOR, "table.comparison tbody tr")
        assert len(rows) == len(summary["rows"])
        total = sum(row["samples"] for row in summary["rows"])
        count = driver.find_element(By.ID, "x-count").text
        assert count.startswith(f"{total} of {total} samples"), count
        failing = sum(row["samples"] - row["passed"] for row in summary["rows"])
        Select(driver.find_element(By.ID, "x-status")).select_by_value("fail")
        count = driver.find_element(By.ID, "x-count").text
        assert count.startswith(f"{failing} of {total} samples"), count
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
