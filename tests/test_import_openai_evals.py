"""openai/evals registries imported as suites: structure, validation, and runs on `evals sim`.

Fixtures (tests/fixtures/openai_evals/registry) are modelled on real openai/evals entries,
with samples written for the sim (its real data files are Git LFS pointers):
- evals/registry/evals/test-basic.yaml: test-match (Match), test-fuzzy-match (FuzzyMatch),
  test-includes (Includes);
- evals/registry/evals/coqa-ex.yaml: coqa-fact (ModelBasedClassify, spec fact),
  coqa-closedqa-correct (spec closedqa with a criterion), and a humor spec (skipped).

Expected verdicts are worked out by hand from openai/evals' code: Match passes when the raw
completion `startswith` an ideal (evals/api.py record_and_check_match, no strip), Includes
when an ideal is a substring (evals/elsuite/utils.py get_answer, case-sensitive by
default), FuzzyMatch when the normalised texts contain one another (utils.fuzzy_match).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.config.suite import graders_for, load_suite
from evals.errors import InputError
from evals.graders import GradeContext
from evals.graders.registry import grade_all
from evals.importers.openai_evals import fuzzy_match, import_registry, token_f1
from evals.sim.server import start_in_thread
from tests.helpers import REPO, evals_cli, read_jsonl, stored_results, write

FIXTURES = REPO / "tests" / "fixtures" / "openai_evals" / "registry"
BASIC = FIXTURES / "evals" / "test-basic.yaml"
COQA = FIXTURES / "evals" / "coqa-ex.yaml"
SYSTEM = "Reply with the answer only."

# what a perfect sim model answers, and openai/evals' verdict on it, per samples line
MATCH_VERDICTS = {
    "1": True,  # "5" starts with "5"
    "2": True,  # "19": not "nineteen", but the second ideal "19"
    "3": True,  # "Paris is the capital" starts with "Paris" (an exact match would fail)
    "4": False,  # "the answer is 4" contains "4" but does not start with it
    "5": False,  # "paris" does not start with "Paris": case matters
    "6": False,  # "42" does not start with "42."
}
INCLUDES_VERDICTS = {
    "1": True,  # "The capital of France is Paris." includes "Paris"
    "2": False,  # "... paris": neither "Paris" nor "Lutetia" (case-sensitive)
    "3": True,  # "6" includes the ideal "6"
    "4": False,  # "18" does not include "19"
    "5": True,  # "{{ not a template }} 7": the braces reach the model and come back verbatim
}
FUZZY_VERDICTS = {
    "1": True,  # "The Eiffel Tower!" and "eiffel tower" normalise to the same text
    "2": True,  # "7" is inside "7 days": the ideal may contain the answer
    "3": True,  # "a blue whale" -> "blue whale" contains "the whale" -> "whale"
    "4": False,  # "cat" vs "dog"
}


def _suite_and_cases(path: Path) -> tuple[str, list[dict]]:
    text = path.read_text(encoding="utf-8")
    return text, read_jsonl(path.with_name(path.stem + ".cases.jsonl"))


def test_match_entry_becomes_a_starts_with_suite(tmp_path: Path) -> None:
    result = import_registry(BASIC, tmp_path, "test-match")
    assert result.suites == [tmp_path / "test-match.yaml"]
    assert set(result.written) == {
        tmp_path / "test-match.yaml",
        tmp_path / "test-match.cases.jsonl",
    }
    suite = load_suite(result.suites[0])
    assert suite.params == {"temperature": 0}  # Match samples at temperature 0
    assert suite.description.startswith("Example eval that checks sampled text")
    _, cases = _suite_and_cases(result.suites[0])
    assert [c["id"] for c in cases] == ["1", "2", "3", "4", "5", "6"]  # samples file lines
    assert cases[0]["vars"] == {"system": SYSTEM, "user": "What is 2 + 3?"}
    assert cases[0]["expect"] == "5"
    assert cases[0]["graders"] == [{"type": "starts-with", "value": "5"}]
    assert cases[1]["graders"] == [
        {
            "type": "any",
            "graders": [
                {"type": "starts-with", "value": "nineteen"},
                {"type": "starts-with", "value": "19"},
            ],
        }
    ]
    assert [str(s) for s in result.skipped if s.what != "runner profile"] == []


def test_includes_and_fuzzy_entries(tmp_path: Path) -> None:
    includes = load_suite(import_registry(BASIC, tmp_path, "test-includes").suites[0])
    assert [g.type_name for g in includes.graders] == ["contains"]
    assert includes.graders[0].options.mode == "any"
    assert not includes.graders[0].options.ignore_case
    fuzzy = load_suite(import_registry(BASIC, tmp_path, "test-fuzzy-match").suites[0])
    assert [g.type_name for g in fuzzy.graders] == ["python"]
    assert fuzzy.params == {"temperature": 0, "max_tokens": 16}  # as FuzzyMatch samples
    _, cases = _suite_and_cases(tmp_path / "test-fuzzy-match.yaml")
    assert cases[2]["expect"] == ["the whale", "orca"]


def test_model_graded_entries_and_shapes(tmp_path: Path) -> None:
    result = import_registry(COQA, tmp_path)
    names = [p.name for p in result.suites]
    # the third sample has four messages: a shape of its own, so a suite of its own
    assert names == [
        "coqa-fact.yaml",
        "coqa-fact-2.yaml",
        "coqa-closedqa-correct.yaml",
        "coqa-closedqa-correct-2.yaml",
    ]
    fact = load_suite(tmp_path / "coqa-fact.yaml")
    assert [g.type_name for g in fact.graders] == ["factuality"]
    text, cases = _suite_and_cases(tmp_path / "coqa-fact-2.yaml")
    assert "{{ user_2 }}" in text and "{{ assistant }}" in text
    assert cases == [
        {
            "id": "3",
            "vars": {
                "system": "Answer the question about the story in a few words.",
                "user": "Story: Ana keeps a red kite in the shed and flies it on windy Sundays.",
                "assistant": "Understood.",
                "user_2": "Question: Where is the kite kept?",
            },
            "expect": "in the shed",
        }
    ]
    closedqa = load_suite(tmp_path / "coqa-closedqa-correct.yaml")
    assert [g.type_name for g in closedqa.graders] == ["model-graded-closedqa"]
    assert closedqa.graders[0].options.value == "correctness: Is the answer correct?"
    humor = [s for s in result.skipped if s.what == "eval coqa-humor"]
    assert len(humor) == 1 and humor[0].line == 28 and "humor" in humor[0].why
    assert any(s.what == "runner profile" and "-r RUNNER" in s.why for s in result.skipped)


def test_written_suites_pass_evals_validate(tmp_path: Path) -> None:
    out = tmp_path / "out"
    suites = import_registry(BASIC, out).suites + import_registry(COQA, out).suites
    result = evals_cli(tmp_path, "validate", *map(str, suites))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == 7, result.stdout


def test_cli_imports_a_registry_file(tmp_path: Path) -> None:
    result = evals_cli(tmp_path, "import", "openai-evals", str(BASIC), "--out", "out")
    assert result.returncode == 0, result.stderr
    assert "-r RUNNER" in result.stderr  # how to run: no runner profile is written
    for name in ("test-match", "test-includes", "test-fuzzy-match"):
        assert (tmp_path / "out" / f"{name}.yaml").is_file()
        assert (tmp_path / "out" / f"{name}.cases.jsonl").is_file()
    # samples from elsewhere (--data): an empty folder has none, so nothing imports (exit 2)
    empty = tmp_path / "no-data"
    empty.mkdir()
    moved = evals_cli(tmp_path, "import", "openai-evals", str(BASIC), "--data", str(empty))
    assert moved.returncode == 2 and "Traceback" not in moved.stderr, moved.stderr
    assert str(empty) in moved.stderr


def test_match_includes_and_fuzzy_suites_run_on_the_sim(tmp_path: Path) -> None:
    suites = import_registry(BASIC, tmp_path / "out").suites
    config = write(tmp_path / "sim.yaml", "models:\n  perfect: {accuracy: 1.0}\n")
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: perfect, endpoint: sim}\n",
        )
        result = evals_cli(tmp_path, "run", *map(str, suites), "-r", str(runner))
    assert result.returncode == 0, result.stderr
    verdicts: dict[str, dict[str, bool]] = {}
    for row in stored_results(tmp_path):
        assert not row["error"], (row["suite"], row["case_id"])
        verdicts.setdefault(row["suite"], {})[row["case_id"]] = bool(row["passed"])
    assert verdicts == {
        "test-match": MATCH_VERDICTS,
        "test-includes": INCLUDES_VERDICTS,
        "test-fuzzy-match": FUZZY_VERDICTS,
    }
    sent = [json.loads(line)["request"]["messages"] for line in (tmp_path / "sim.jsonl").open()]
    assert [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "What is 2 + 3?"},
    ] in (sent)


# --- the grader mapping on hand-chosen outputs ----------------------------------------------


def _verdicts(suite_path: Path, outputs: dict[str, str]) -> dict[str, bool]:
    """Each case's verdict on the output given for it (every grader must pass)."""
    suite = load_suite(suite_path)
    verdicts = {}
    for case in suite.cases():
        if case.id not in outputs:
            continue
        ctx = GradeContext(expect=case.expect, vars=case.vars, case_id=case.id)
        results = grade_all(graders_for(suite, case), outputs[case.id], ctx)
        assert not any(r.error for r in results), results
        verdicts[case.id] = all(r.passed for r in results)
    return verdicts


def test_match_mapping_is_startswith_without_strip(tmp_path: Path) -> None:
    suite = import_registry(BASIC, tmp_path, "test-match").suites[0]
    outputs = {"1": " 5", "2": "nineteen.", "3": "Paris", "6": "42. That is all."}
    # " 5": openai/evals does not strip the completion, so a leading space fails
    assert _verdicts(suite, outputs) == {"1": False, "2": True, "3": True, "6": True}


def test_includes_mapping_is_case_sensitive_unless_ignore_case(tmp_path: Path) -> None:
    suite = import_registry(BASIC, tmp_path, "test-includes").suites[0]
    outputs = {"1": "It is PARIS.", "2": "Lutetia, now Paris", "3": "six or 6", "4": "1919"}
    assert _verdicts(suite, outputs) == {"1": False, "2": True, "3": True, "4": True}
    registry = write(
        tmp_path / "reg" / "evals" / "ic.yaml",
        "ic:\n  id: ic.v0\nic.v0:\n  class: evals.elsuite.basic.includes:Includes\n"
        f"  args: {{samples_jsonl: {FIXTURES / 'data/test_includes/samples.jsonl'}, "
        "ignore_case: true}\n",
    )
    folded = import_registry(registry, tmp_path / "ic").suites[0]
    assert _verdicts(folded, {"1": "It is PARIS."}) == {"1": True}


@pytest.mark.parametrize(
    ("output", "ideals", "passed", "f1"),
    [
        ("The Eiffel Tower.", ["eiffel tower"], True, 1.0),
        ("tower", ["Eiffel Tower"], True, 2 / 3),  # the ideal contains the answer
        ("It's the Eiffel Tower, in Paris", ["eiffel tower"], True, 2 * (2 / 5) / (1 + 2 / 5)),
        ("An apple", ["apple pie", "pear"], True, 2 / 3),
        ("Big Ben", ["eiffel tower"], False, 0.0),
        ("...", ["!"], True, 0.0),  # both normalise to "": equal, so a match
        ("...", ["x"], False, 0.0),
    ],
)
def test_fuzzy_match_follows_openai_evals(
    output: str, ideals: list[str], passed: bool, f1: float
) -> None:
    verdict = fuzzy_match(output, GradeContext(expect=ideals, vars={}, case_id="1"))
    assert verdict["pass"] is passed
    assert verdict["score"] == pytest.approx(f1)
    assert token_f1(output, ideals[0]) == pytest.approx(max(token_f1(output, i) for i in ideals))


# --- what is skipped, and where -------------------------------------------------------------


def _registry(tmp_path: Path, yaml_text: str, samples: dict[str, str]) -> Path:
    for name, text in samples.items():
        write(tmp_path / "registry" / "data" / name, text)
    return write(tmp_path / "registry" / "evals" / "x.yaml", yaml_text)


CHAT = '{"input": [{"role": "user", "content": "Repeat: hi"}], "ideal": "hi"}\n'


def test_unknown_classes_missing_files_and_bad_samples_are_skipped(tmp_path: Path) -> None:
    registry = _registry(
        tmp_path,
        "good:\n  id: good.v0\ngood.v0:\n  class: evals.elsuite.basic.match:Match\n"
        "  args: {samples_jsonl: good.jsonl, temperature_hint: 3}\n"
        "odd:\n  id: odd.v0\nodd.v0:\n  class: evals.elsuite.translate:Translate\n"
        "  args: {samples_jsonl: good.jsonl}\n"
        "gone:\n  id: gone.v0\ngone.v0:\n  class: evals.elsuite.basic.match:Match\n"
        "  args: {samples_jsonl: missing/samples.jsonl}\n"
        "lfs:\n  id: lfs.v0\nlfs.v0:\n  class: evals.elsuite.basic.match:Match\n"
        "  args: {samples_jsonl: lfs.jsonl}\n",
        {
            "good.jsonl": CHAT
            + "not json\n"
            + '{"input": [{"role": "function", "content": "x"}], "ideal": "x"}\n'
            + '{"input": "Repeat: as system", "ideal": "as"}\n'
            + '{"input": [{"role": "user", "content": "no ideal"}]}\n',
            "lfs.jsonl": "version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n",
        },
    )
    result = import_registry(registry, tmp_path / "out")
    assert [p.name for p in result.suites] == ["good.yaml", "good-2.yaml"]
    skipped = {(s.what, s.line): s for s in result.skipped}
    assert "temperature_hint" in str(skipped[("eval good: arg temperature_hint", 4)])
    assert "Translate is not supported" in skipped[("eval odd", 9)].why
    assert "does not exist" in skipped[("eval gone", 14)].why
    assert "--data" in skipped[("eval gone", 14)].why
    assert "Git LFS pointer" in skipped[("eval lfs", 19)].why
    data = tmp_path / "registry" / "data" / "good.jsonl"
    sample_skips = {s.line: (s.file, s.why) for s in result.skipped if s.what == "sample"}
    assert sample_skips[2] == (data, sample_skips[2][1]) and "JSON" in sample_skips[2][1]
    assert "role" in sample_skips[3][1] and "ideal" in sample_skips[5][1]
    # a string input is sent as one system message, as openai/evals does for chat models
    _, cases = _suite_and_cases(tmp_path / "out" / "good-2.yaml")
    assert cases == [
        {
            "id": "4",
            "vars": {"system": "Repeat: as system"},
            "expect": "as",
            "graders": [{"type": "starts-with", "value": "as"}],
        }
    ]


def test_few_shot_names_and_data_dir(tmp_path: Path) -> None:
    shot = {"role": "system", "content": "Repeat: x", "name": "example_user"}
    few = json.dumps({"sample": [shot, {"role": "system", "content": "x"}]}) + "\n"
    data = tmp_path / "elsewhere"
    write(data / "fs" / "samples.jsonl", CHAT)
    write(data / "fs" / "few.jsonl", few * 3)
    registry = write(
        tmp_path / "reg.yaml",
        "fs:\n  id: fs.v0\nfs.v0:\n  class: evals.elsuite.basic.match:Match\n"
        "  args: {samples_jsonl: fs/samples.jsonl, few_shot_jsonl: fs/few.jsonl, "
        "num_few_shot: 2}\n",
    )
    result = import_registry(registry, tmp_path / "out", data_dir=data)
    text, cases = _suite_and_cases(result.suites[0])
    # Match puts the few-shot chats before the sample's last message
    assert list(cases[0]["vars"]) == ["system", "system_2", "system_3", "system_4", "user"]
    assert "{{ system_4 }}" in text
    assert any(s.what == "eval fs: message names" for s in result.skipped)


def test_nothing_importable_or_unknown_eval_is_an_input_error(tmp_path: Path) -> None:
    registry = _registry(
        tmp_path,
        "odd:\n  id: odd.v0\nodd.v0:\n  class: evals.elsuite.translate:Translate\n",
        {},
    )
    with pytest.raises(InputError, match="nothing could be imported.*Translate"):
        import_registry(registry, tmp_path / "out")
    empty = _registry(
        tmp_path / "e",
        "e:\n  class: evals.elsuite.basic.match:Match\n  args: {samples_jsonl: e.jsonl}\n",
        {"e.jsonl": '{"input": "no ideal"}\n'},
    )
    with pytest.raises(InputError, match="eval e: none of its samples could be imported"):
        import_registry(empty, tmp_path / "out")
    with pytest.raises(InputError, match="no eval named 'nope'.*test-match"):
        import_registry(BASIC, tmp_path / "out", "nope")
    bad = write(tmp_path / "bad.yaml", "a:\n  id: missing.v0\n")
    with pytest.raises(InputError, match="missing.v0"):
        import_registry(bad, tmp_path / "out")


def test_suite_names_are_sanitised_and_never_overwritten(tmp_path: Path) -> None:
    entry = "  class: evals.elsuite.basic.includes:Includes\n  args: {samples_jsonl: s.jsonl}\n"
    registry = _registry(tmp_path, f"Dup.Eval:\n{entry}dup-eval:\n{entry}", {"s.jsonl": CHAT})
    result = import_registry(registry, tmp_path / "out")
    assert [p.name for p in result.suites] == ["dup-eval.yaml", "dup-eval-2.yaml"]
