"""Multiple choice scored from logprobs, over real HTTP against `evals sim`.

One token per question (`max_tokens: 1`): every expected figure (each sample's
verdict, its score and Brier score, the row's accuracy and mean Brier) is computed
here from the logprobs the sim logged having sent, with this test's own arithmetic.
The same answers replayed from the cache, re-graded from the store and streamed
score the same; a reasoning model, which refuses logprobs, is graded from its text.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import chat_log, evals_cli, read_jsonl, store_query, write

CONFIG = "models:\n  good: {accuracy: 0.6}\n  thinker: {accuracy: 1.0, reasoning: true}\n"
QUESTIONS = [  # (question, options, the right letter)
    ("What is 2 + 3?", ["4", "5", "6", "7"], "B"),
    ("What is 7 + 8?", ["15", "14", "16", "13"], "A"),
    ("What is 6 * 7?", ["36", "48", "42", "49"], "C"),
    ("What is 20 - 9?", ["9", "10", "12", "11"], "D"),
    ("What is 9 * 9?", ["81", "72", "99", "89"], "A"),
    ("What is 12 + 30?", ["40", "44", "41", "42"], "D"),
    ("What is 5 * 5?", ["25", "20", "30", "35"], "A"),
    ("What is 14 - 6?", ["6", "7", "9", "8"], "D"),
    ("What is 3 + 4?", ["6", "7", "8", "9"], "B"),
    ("What is 8 * 3?", ["24", "21", "26", "18"], "A"),
]
SUITE = """\
name: mc-one-token
prompt: |-
  {{ question }}
  {% for option in choices %}{{ "ABCD"[loop.index0] }}. {{ option }}
  {% endfor %}Reply with the letter only.
params: {max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 4}
graders:
  - {type: choice}
cases:
"""


def _suite(root: Path) -> Path:
    cases = "".join(
        f"  - {{id: q{i}, vars: {{question: {json.dumps(q)}, choices: {json.dumps(options)}}}, "
        f"expect: {letter}}}\n"
        for i, (q, options, letter) in enumerate(QUESTIONS)
    )
    return write(root / "mc.yaml", SUITE + cases)


def _runner(root: Path, sim: Any, stream: bool = False) -> Path:
    return write(
        root / f"r{int(stream)}.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
        "models:\n"
        f"  - {{id: good, endpoint: sim, stream: {str(stream).lower()}}}\n"
        "  - {id: thinker, endpoint: sim, capabilities: {max_tokens_param: "
        "max_completion_tokens, temperature: false, logprobs: false}}\n",
    )


def _expected(entry: dict[str, Any], right: str) -> tuple[bool, float, float]:
    """(passed, p(right), Brier) from the first token's logged top logprobs."""
    mass = {"ABCD"[i]: 0.0 for i in range(4)}
    for alt in entry["logprobs"][0]["top_logprobs"]:
        letter = alt["token"].strip()
        if letter in mass:
            mass[letter] += math.exp(alt["logprob"])
    total = sum(mass.values())
    p = {k: v / total for k, v in mass.items()}
    best = max(p, key=p.__getitem__)
    brier = sum((p[k] - (1.0 if k == right else 0.0)) ** 2 for k in p)
    return best == right, p[right], brier


def _right_by_prompt() -> dict[str, str]:
    return {q: letter for q, _, letter in QUESTIONS}


def _run(root: Path, suite: Path, runner: Path, *extra: str) -> dict[str, Any]:
    done = evals_cli(root, "run", str(suite), "-r", str(runner), "--summary-json", "s.json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "s.json").read_text())


def _row(summary: dict[str, Any], model: str) -> dict[str, Any]:
    return next(r for r in summary["rows"] if r["model"] == model)


@pytest.fixture(scope="module")
def first(sim: Any, paths: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("mc")
    suite = _suite(root)
    summary = _run(root, suite, _runner(root, sim))
    return root, suite, summary, chat_log(paths["log"])


def test_one_token_answers_are_scored_from_the_logged_logprobs(first) -> None:
    root, _, summary, log = first
    right = _right_by_prompt()
    expected: dict[str, tuple[bool, float, float]] = {}
    for entry in log:
        if entry["model"] == "good":
            question = entry["request"]["messages"][-1]["content"].split("\n")[0]
            expected[question] = _expected(entry, right[question])
            assert entry["usage"]["completion_tokens"] == 1  # one token per question
    assert len(expected) == len(QUESTIONS)
    stored = store_query(root, "SELECT * FROM results WHERE model = 'good'")
    for row in stored:
        question = json.loads(row["vars"])["question"]
        passed, p_right, brier = expected[question]
        assert bool(row["passed"]) == passed, question
        assert row["score"] == pytest.approx(p_right)
        assert row["brier"] == pytest.approx(brier)
        assert json.loads(row["logprobs"])[0][0].strip() in "ABCD"  # the answer token, kept
    good = _row(summary, "good")
    assert good["passed"] == sum(e[0] for e in expected.values())
    assert 0 < good["passed"] < len(QUESTIONS)  # accuracy 0.6: some right, some wrong
    assert good["brier"] == pytest.approx(sum(e[2] for e in expected.values()) / len(expected))
    assert good["brier_samples"] == len(QUESTIONS)
    assert good["mean_score"] == pytest.approx(sum(e[1] for e in expected.values()) / 10)


def test_a_model_that_refuses_logprobs_is_graded_from_its_text(first) -> None:
    root, _, summary, log = first
    sent = [e["request"] for e in log if e["model"] == "thinker"]
    assert sent and not any("logprobs" in r or "top_logprobs" in r for r in sent)
    thinker = _row(summary, "thinker")
    assert thinker["passed"] == len(QUESTIONS) and thinker["errors"] == 0  # accuracy 1.0
    assert "brier" not in thinker  # nothing was scored from probabilities


def test_replayed_regraded_and_streamed_answers_score_the_same(
    first, sim: Any, tmp_path: Path
) -> None:
    root, suite, summary, _ = first
    good = _row(summary, "good")
    again = _row(_run(root, suite, _runner(root, sim)), "good")
    assert again["cache_hits"] == len(QUESTIONS)  # every answer replayed, logprobs included
    assert (again["passed"], again["brier"]) == (good["passed"], pytest.approx(good["brier"]))
    run_id = summary["run_id"]
    regraded = evals_cli(root, "regrade", run_id)
    assert regraded.returncode == 0, regraded.stderr
    (brier,) = store_query(
        root, f"SELECT AVG(brier) FROM results WHERE run_id = '{run_id}' AND model = 'good'"
    )[0]
    assert brier == pytest.approx(good["brier"])  # from the stored logprobs, no request
    streamed = _row(_run(tmp_path, _suite(tmp_path), _runner(tmp_path, sim, stream=True)), "good")
    assert streamed["ttft_p50_s"] is not None
    assert (streamed["passed"], streamed["brier"]) == (good["passed"], pytest.approx(good["brier"]))


def test_the_responses_api_scores_the_same(first, sim: Any, paths: dict, tmp_path: Path) -> None:
    _, _, summary, _ = first
    runner = write(
        tmp_path / "resp.yaml",
        f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
        "models:\n"
        "  - {id: good, endpoint: sim, api: responses}\n"
        "  - {id: good-streamed, model: good, endpoint: sim, api: responses, stream: true}\n",
    )
    before = len(read_jsonl(paths["log"]))
    rows = _run(tmp_path, _suite(tmp_path), runner, "--no-cache")["rows"]
    sent = [e["request"] for e in read_jsonl(paths["log"])[before:] if e["path"] == "/v1/responses"]
    assert len(sent) == 2 * len(QUESTIONS)
    for body in sent:  # logprobs asked the Responses way; 16 tokens is that API's minimum
        assert body["include"] == ["message.output_text.logprobs"]
        assert (body["top_logprobs"], body["max_output_tokens"]) == (4, 16)
    chat = _row(summary, "good")
    for row in rows:
        assert row["passed"] == chat["passed"], row["model"]
        assert row["brier"] == pytest.approx(chat["brier"]), row["model"]


def test_the_report_shows_the_brier_score_and_the_dropped_logprobs(first) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import chromium

    root, _, summary, _ = first
    good = _row(summary, "good")
    report = root / "reports" / summary["run_id"] / "index.html"
    with chromium() as driver:
        driver.get(report.as_uri())
        row = driver.find_element(By.CSS_SELECTOR, 'table.comparison tr[data-model="good"]')
        brier = row.find_element(By.CSS_SELECTOR, ".brier").text
        assert brier == f"Brier {good['brier']:.3f} · {len(QUESTIONS)} by logprobs"
        thinker = driver.find_element(By.CSS_SELECTOR, 'table.comparison tr[data-model="thinker"]')
        assert not thinker.find_elements(By.CSS_SELECTOR, ".brier")
        adapted = driver.find_element(By.ID, "run-adapted").text
        assert "thinker: " in adapted and "logprobs and top_logprobs dropped" in adapted
        assert "good:" not in adapted  # nothing was changed for it
        assert not [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
