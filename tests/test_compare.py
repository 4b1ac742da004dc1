"""`evals compare` and `evals run --baseline`, end to end over HTTP against `evals sim`.

One model id (`m`) points at sim models of known accuracy through the runner's
`model:` field: `perfect` (1.0) for the base, `weak` (0.3) for a regression,
`slight` (0.7) for a drop too small to be significant on 10 cases. Expected
figures come from the sim's request log (its `correct` and `usage` fields) or
the store's rows, never from the comparison under test.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import chat_log, evals_cli, explorer_samples, stored_results, write

CONFIG = """\
models:
  perfect: {accuracy: 1.0}
  weak: {accuracy: 0.3}
  slight: {accuracy: 0.7}
"""
CASES = 60
PRICE = {"input": 1.0, "output": 3.0}  # USD per 1M tokens, every sim model
SUITE = """\
name: adds
prompts:
  terse:
    - {role: system, content: "Reply with the number only."}
    - {role: user, content: "What is {{ a }} + {{ b }}?"}
  chatty:
    - {role: user, content: "Please add {{ a }} and {{ b }}. End your reply with 'Answer: N'."}
params: {max_tokens: 24, temperature: 0}
cases: cases.jsonl
graders:
  - {type: numeric, extract: "(?:Answer:\\\\s*)?(-?\\\\d+(?:\\\\.\\\\d+)?)\\\\D*$"}
"""


def _case_vars(i: int) -> tuple[int, int]:
    return 11 + i, 3 * i + 7


class Workspace:
    """A folder with its own store, the suite, and one runner per sim model."""

    def __init__(self, root: Path, base_url: str, log: Path):
        self.root, self.log = root, log
        self.suite = write(root / "suite.yaml", SUITE)
        write(
            root / "cases.jsonl",
            "".join(
                json.dumps({"id": f"c{i:02d}", "vars": {"a": a, "b": b}, "expect": a + b}) + "\n"
                for i, (a, b) in enumerate(map(_case_vars, range(CASES)))
            ),
        )
        prices = "".join(f"  {m}: {json.dumps(PRICE)}\n" for m in ("perfect", "weak", "slight"))
        for sim_model in ("perfect", "weak", "slight"):
            write(
                root / f"{sim_model}.yaml",
                f'endpoints:\n  sim: {{base_url: "{base_url}", max_concurrency: 8}}\n'
                f"models:\n  - {{id: m, endpoint: sim, model: {sim_model}}}\n"
                f"pricing:\n{prices}",
            )

    def cli(self, *args: str):
        return evals_cli(self.root, *args)

    def run(self, sim_model: str, *args: str) -> tuple[Any, str, list[dict[str, Any]]]:
        """`evals run` on that sim model: (process, run id, the log entries it caused)."""
        before = len(chat_log(self.log)) if self.log.exists() else 0
        result = self.cli(
            "run", str(self.suite), "-r", str(self.root / f"{sim_model}.yaml"), "--no-cache", *args
        )
        run_id = result.stderr.splitlines()[0].split("run: ", 1)[1]
        return result, run_id, chat_log(self.log)[before:]


def _case_of(entry: dict[str, Any]) -> tuple[str, str]:
    """(prompt variant, case id) of a logged request, read from the text the sim got."""
    messages = entry["request"]["messages"]
    text = messages[-1]["content"]
    a, b = (int(n) for n in re.findall(r"\d+", text)[:2])
    case = next(i for i in range(CASES) if _case_vars(i) == (a, b))
    return ("terse" if messages[0]["role"] == "system" else "chatty"), f"c{case:02d}"


def _wrong(entries: list[dict[str, Any]]) -> dict[str, set[str]]:
    wrong: dict[str, set[str]] = {"terse": set(), "chatty": set()}
    for entry in entries:
        assert entry["correct"] is not None
        if not entry["correct"]:
            prompt, case = _case_of(entry)
            wrong[prompt].add(case)
    return wrong


def _cost_per_case(entries: list[dict[str, Any]], prompt: str) -> float:
    costs = [
        (
            e["usage"]["prompt_tokens"] * PRICE["input"]
            + e["usage"]["completion_tokens"] * PRICE["output"]
        )
        / 1e6
        for e in entries
        if _case_of(e)[0] == prompt
    ]
    return sum(costs) / CASES


def _mcnemar_one_sided_flips(k: int) -> float:
    """McNemar's exact two-sided p when all k discordant pairs go one way: 2 * 0.5^k."""
    return min(1.0, 2 * 0.5**k)


@pytest.fixture(scope="module")
def ws(sim, paths, tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("compare"), sim.base_url, paths["log"])


@pytest.fixture(scope="module")
def runs(ws: Workspace) -> dict[str, Any]:
    base, base_id, base_log = ws.run("perfect")
    assert base.returncode == 0, base.stderr
    new, new_id, new_log = ws.run("weak")
    assert new.returncode == 0, new.stderr
    assert len(base_log) == len(new_log) == 2 * CASES
    assert all(e["correct"] for e in base_log)
    return {"base": base_id, "new": new_id, "base_log": base_log, "new_log": new_log}


def test_a_regression_is_worse_with_flips_junit_and_markdown(ws: Workspace, runs) -> None:
    out = ws.root / "out"
    result = ws.cli(
        "compare",
        runs["base"],
        runs["new"],
        "--json",
        str(out / "c.json"),
        "--junit",
        str(out / "c.xml"),
        "--markdown",
        str(out / "c.md"),
    )
    assert result.returncode == 1, result.stderr
    data = json.loads((out / "c.json").read_text())
    assert data["base_run"] == runs["base"] and data["new_run"] == runs["new"]
    assert data["alpha"] == 0.05 and data["only_in_base"] == data["only_in_new"] == []
    wrong = _wrong(runs["new_log"])
    rows = {row["prompt"]: row for row in data["rows"]}
    assert set(rows) == {"terse", "chatty"}
    p = {prompt: _mcnemar_one_sided_flips(len(wrong[prompt])) for prompt in rows}
    low, high = sorted(p.values())  # Holm over two rows, by hand
    holm = {low: min(1.0, 2 * low), high: min(1.0, max(2 * low, high))}
    for prompt, row in rows.items():
        k = len(wrong[prompt])
        assert 25 <= k <= 55  # a 0.3-accurate model gets most of 60 wrong
        assert (row["suite"], row["model"], row["n_paired"]) == ("adds", "m", CASES)
        assert row["base_accuracy"] == 1.0
        assert row["new_accuracy"] == pytest.approx(1 - k / CASES)
        assert row["diff"] == pytest.approx(-k / CASES)
        assert row["ci_low"] <= row["diff"] <= row["ci_high"] < 0
        assert row["p_value"] == pytest.approx(p[prompt], rel=1e-6)
        assert row["p_adjusted"] == pytest.approx(holm[p[prompt]], rel=1e-6)
        assert row["verdict"] == "worse"
        assert row["pass_to_fail"] == k and row["fail_to_pass"] == 0
        assert {f["case_id"] for f in row["flips"]} == wrong[prompt]
        assert all(f["base_passed"] and not f["new_passed"] for f in row["flips"])
        assert row["cases_only_in_base"] == row["cases_only_in_new"] == []
        base_cost = _cost_per_case(runs["base_log"], prompt)
        new_cost = _cost_per_case(runs["new_log"], prompt)
        assert row["base_cost_per_case_usd"] == pytest.approx(base_cost, rel=1e-9)
        assert row["cost_per_case_usd_change"] == pytest.approx(new_cost - base_cost, abs=1e-12)
        for run, side in ((runs["base"], "base"), (runs["new"], "new")):
            latencies = [
                r["latency_s"]
                for r in stored_results(ws.root)
                if r["run_id"] == run and r["prompt"] == prompt
            ]
            for q in (50, 95):
                expected = float(np.percentile(latencies, q))
                assert row[f"{side}_latency_p{q}_s"] == pytest.approx(expected, abs=1e-12)
        assert f"{k} pass -> fail" in result.stdout
    assert data["regressions"] == 2
    assert "regression: adds / terse / m" in result.stderr

    root = ET.parse(out / "c.xml").getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")
    cases = suite.findall("testcase")
    assert len(cases) == 2
    for case in cases:
        assert case.get("classname") == "adds" and case.get("name").endswith("/ m")
        assert float(case.get("time")) >= 0
        (failure,) = case.findall("failure")
        assert "accuracy fell" in failure.get("message")

    markdown = (out / "c.md").read_text()
    table = [line for line in markdown.splitlines() if line.startswith("| adds |")]
    assert len(table) == 2 and all("**worse**" in line for line in table)
    assert "| suite | prompt | model |" in markdown


def test_an_exported_baseline_compares_like_the_run_id(ws: Workspace, runs) -> None:
    export = ws.root / "baseline.jsonl"
    exported = ws.cli("export", runs["base"], "--format", "jsonl", "--out", str(export))
    assert exported.returncode == 0, exported.stderr
    by_id = ws.cli("compare", runs["base"], runs["new"], "--json", "id.json")
    by_file = ws.cli("compare", str(export), runs["new"], "--json", "file.json")
    assert by_id.returncode == by_file.returncode == 1, by_file.stderr
    a, b = (json.loads((ws.root / name).read_text()) for name in ("id.json", "file.json"))
    assert a.pop("base_source") == "store" and b.pop("base_source") == str(export)
    assert a == b


def test_a_a_is_the_same_and_exits_0(ws: Workspace, runs) -> None:
    again, again_id, log = ws.run("perfect")
    assert again.returncode == 0 and len(log) == 2 * CASES  # sent again, not replayed
    result = ws.cli("compare", runs["base"], again_id, "--json", "aa.json")
    assert result.returncode == 0, result.stderr
    data = json.loads((ws.root / "aa.json").read_text())
    assert data["regressions"] == 0
    for row in data["rows"]:
        assert row["verdict"] == "same" and row["diff"] == 0 and row["flips"] == []
        assert row["n_paired"] == CASES


def test_max_drop_fails_a_drop_that_is_not_significant(ws: Workspace, runs) -> None:
    limit = ("--limit", "10", "--prompt", "terse")
    slight, slight_id, log = ws.run("slight", *limit)
    assert slight.returncode == 0, slight.stderr
    wrong = _wrong(log)["terse"]
    k = len(wrong)
    assert 1 <= k <= 4, "pick another `slight` accuracy: the drop must be small"
    args = ("compare", runs["base"], slight_id)
    plain = ws.cli(*args, "--json", "plain.json")
    assert plain.returncode == 0, plain.stderr  # p >= 0.125: noise at alpha 0.05
    row = next(r for r in json.loads((ws.root / "plain.json").read_text())["rows"])
    assert row["verdict"] == "same" and row["p_value"] == pytest.approx(2 * 0.5**k)
    assert row["diff"] == pytest.approx(-k / 10)
    gated = ws.cli(*args, "--max-drop", str(k / 10 - 0.05), "--json", "gated.json")
    assert gated.returncode == 1, gated.stderr
    data = json.loads((ws.root / "gated.json").read_text())
    assert data["rows"][0]["verdict"] == "worse" and "--max-drop" in data["rows"][0]["reason"]
    # the base's other row and its 50 other cases are listed, not dropped
    assert data["only_in_base"] == [{"suite": "adds", "prompt": "chatty", "model": "m"}]
    assert len(data["rows"][0]["cases_only_in_base"]) == CASES - 10
    assert "only in base: adds / chatty / m" in gated.stdout


def test_unknown_run_and_no_common_row_exit_2(ws: Workspace, runs) -> None:
    unknown = ws.cli("compare", "no-such-run", runs["new"])
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: no run 'no-such-run'")
    assert len(unknown.stderr.strip().splitlines()) == 1
    terse, terse_id, _ = ws.run("perfect", "--prompt", "terse", "--limit", "3")
    chatty, chatty_id, _ = ws.run("weak", "--prompt", "chatty", "--limit", "3")
    assert terse.returncode == 0 and chatty.returncode == 0
    disjoint = ws.cli("compare", terse_id, chatty_id)
    assert disjoint.returncode == 2
    message = disjoint.stderr.strip()
    assert message.startswith("error:") and "no row" in message
    assert f"{terse_id} has adds / terse / m" in message
    assert f"{chatty_id} has adds / chatty / m" in message


def test_a_broken_export_file_is_bad_input(ws: Workspace, runs) -> None:
    bad = write(ws.root / "bad.jsonl", '{"run": {"run_id": "x", "suites": ["adds"]}}\nnope\n')
    result = ws.cli("compare", str(bad), runs["new"])
    assert result.returncode == 2
    assert f"{bad}:2: not JSON" in result.stderr
    result = ws.cli("compare", str(write(ws.root / "e.jsonl", "[]\n")), runs["new"])
    assert result.returncode == 2 and "evals export" in result.stderr


def test_run_baseline_latest_gates_the_run(sim, paths, tmp_path: Path) -> None:
    ws = Workspace(tmp_path, sim.base_url, paths["log"])
    first, first_id, _ = ws.run("perfect")
    assert first.returncode == 0, first.stderr
    # A/A against the newest complete earlier run of the same suite: the first
    aa, aa_id, _ = ws.run("perfect", "--baseline", "latest", "--junit", "aa.xml")
    assert aa.returncode == 0, aa.stderr
    assert f"({first_id} -> {aa_id})" in aa.stderr
    suite = ET.parse(tmp_path / "aa.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "0")
    # the regression: latest is now the A/A run, still perfect
    worse, worse_id, log = ws.run("weak", "--baseline", "latest", "--junit", "worse.xml")
    assert worse.returncode == 1, worse.stderr
    assert f"({aa_id} -> {worse_id})" in worse.stderr
    suite = ET.parse(tmp_path / "worse.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")
    for prompt, cases in _wrong(log).items():
        assert f"flips adds / {prompt} / m: {len(cases)} pass -> fail" in worse.stdout
    # the report marks exactly the samples that flipped (its explorer shows them first)
    html = (tmp_path / "reports" / worse_id / "index.html").read_text(encoding="utf-8")
    flips = [s for s in explorer_samples(html) if s["flip"] is not None]
    assert len(flips) == sum(len(cases) for cases in _wrong(log).values()) > 0
    assert {(s["flip"], s["status"]) for s in flips} == {("pass->fail", "fail")}
    for prompt, cases in _wrong(log).items():
        assert {s["case"] for s in flips if s["prompt"] == prompt} == set(cases)
    # a baseline that does not exist stops the run before it sends anything
    sent = len(chat_log(paths["log"]))
    missing = ws.cli("run", str(ws.suite), "-r", str(tmp_path / "weak.yaml"), "--baseline", "nope")
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr
    assert len(chat_log(paths["log"])) == sent


def test_run_junit_without_baseline_gates_on_fail_under(sim, paths, tmp_path: Path) -> None:
    ws = Workspace(tmp_path, sim.base_url, paths["log"])
    args = ("--limit", "20", "--fail-under", "0.9", "--junit")
    good = ws.run("perfect", *args, "good.xml")[0]
    assert good.returncode == 0, good.stderr
    suite = ET.parse(tmp_path / "good.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "0")
    bad, _, log = ws.run("weak", *args, "bad.xml")
    assert bad.returncode == 1, bad.stderr
    suite = ET.parse(tmp_path / "bad.xml").getroot().find("testsuite")
    failing = {c.get("name") for c in suite.findall("testcase") if c.find("failure") is not None}
    expected = {f"{p} / m" for p, cases in _wrong(log).items() if 1 - len(cases) / 20 < 0.9}
    assert failing == expected and suite.get("failures") == str(len(expected))
