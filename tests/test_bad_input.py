"""Bad input ends in one message naming the file and line, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO, evals_cli, write

RUNNER = """\
endpoints:
  sim: {base_url: "http://127.0.0.1:9/v1"}
models:
  - {id: sim-good, endpoint: sim}
"""

GOOD_SUITE = """\
name: t
prompt: "What is {{ a }}?"
cases:
  - {vars: {a: 1}, expect: "1"}
graders:
  - {type: exact}
"""


def _assert_clean_error(result, path: Path, line: int, *phrases: str) -> None:
    assert result.returncode == 2, result.stderr
    err = result.stderr
    assert "Traceback" not in err
    assert f"{path.name}:{line}:" in err, err
    for phrase in phrases:
        assert phrase in err, err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("command", ["validate", "run"])
def test_yaml_syntax_error(tmp_path: Path, command: str) -> None:
    # line 3 holds an unclosed flow mapping
    suite = write(tmp_path / "s.yaml", 'name: t\nprompt: "x"\ncases: [{vars: {a: 1}\n')
    runner = write(tmp_path / "r.yaml", RUNNER)
    args = (
        ["validate", str(suite)]
        if command == "validate"
        else ["run", str(suite), "-r", str(runner)]
    )
    result = evals_cli(tmp_path, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "s.yaml:" in result.stderr and "YAML syntax error" in result.stderr


def test_unknown_key(tmp_path: Path) -> None:
    text = GOOD_SUITE.replace("graders:", "gradrs:")
    suite = write(tmp_path / "s.yaml", text)
    result = evals_cli(tmp_path, "validate", str(suite))
    # `gradrs:` is on line 5
    _assert_clean_error(result, suite, 5, "unknown key 'gradrs'", "graders")


def test_unknown_key_in_inline_case(tmp_path: Path) -> None:
    text = GOOD_SUITE.replace("expect:", "expct:")
    suite = write(tmp_path / "s.yaml", text)
    result = evals_cli(tmp_path, "validate", str(suite))
    _assert_clean_error(result, suite, 4, "unknown key 'expct'")


def test_unknown_grader_type(tmp_path: Path) -> None:
    suite = write(tmp_path / "s.yaml", GOOD_SUITE.replace("type: exact", "type: exactt"))
    result = evals_cli(tmp_path, "validate", str(suite))
    _assert_clean_error(result, suite, 6, "exactt", "did you mean 'exact'")


def test_template_variable_missing_from_case_file(tmp_path: Path) -> None:
    write(
        tmp_path / "cases.jsonl",
        '{"vars": {"a": 1}, "expect": 1}\n{"vars": {"b": 2}, "expect": 2}\n',
    )
    suite = write(
        tmp_path / "s.yaml",
        'name: t\nprompt: "What is {{ a }}?"\ncases: cases.jsonl\ngraders: [{type: exact}]\n',
    )
    result = evals_cli(tmp_path, "validate", str(suite))
    # the second line of cases.jsonl lacks `a`
    _assert_clean_error(result, tmp_path / "cases.jsonl", 2, "template variable(s) a")


def test_cases_file_missing(tmp_path: Path) -> None:
    suite = write(
        tmp_path / "s.yaml",
        'name: t\nprompt: "x {{ a }}"\ngraders: [{type: exact}]\ncases: data/nope.jsonl\n',
    )
    result = evals_cli(tmp_path, "validate", str(suite))
    _assert_clean_error(result, suite, 4, "data/nope.jsonl", "does not exist")


def test_bad_case_in_csv_and_yaml_files(tmp_path: Path) -> None:
    write(tmp_path / "c.csv", "id,b,expect\n1,2,3\n")
    suite = write(
        tmp_path / "s.yaml", 'name: t\nprompt: "{{ a }}"\ncases: c.csv\ngraders: [{type: exact}]\n'
    )
    result = evals_cli(tmp_path, "validate", str(suite))
    _assert_clean_error(result, tmp_path / "c.csv", 2, "template variable(s) a")
    write(
        tmp_path / "c.yaml", "- {vars: {a: 1}, expect: 1}\n- {vars: {a: 2}, expect: 2, tagz: [x]}\n"
    )
    suite = write(
        tmp_path / "s.yaml", 'name: t\nprompt: "{{ a }}"\ncases: c.yaml\ngraders: [{type: exact}]\n'
    )
    result = evals_cli(tmp_path, "validate", str(suite))
    _assert_clean_error(result, tmp_path / "c.yaml", 2, "unknown key 'tagz'")


def test_runner_profile_errors(tmp_path: Path) -> None:
    runner = write(tmp_path / "r.yaml", RUNNER.replace("endpoint: sim", "endpoint: nowhere"))
    result = evals_cli(tmp_path, "validate", str(runner))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "r.yaml" in result.stderr and "nowhere" in result.stderr
    runner = write(tmp_path / "r.yaml", RUNNER.replace("base_url", "base_ur"))
    result = evals_cli(tmp_path, "validate", str(runner))
    _assert_clean_error(result, runner, 2, "unknown key 'base_ur'")


def test_missing_api_key_is_named_not_leaked(tmp_path: Path) -> None:
    suite = write(tmp_path / "s.yaml", GOOD_SUITE)
    runner = write(
        tmp_path / "r.yaml", RUNNER.replace('v1"}', 'v1", api_key_env: EVALS_TEST_MISSING_KEY}')
    )
    result = evals_cli(tmp_path, "run", str(suite), "-r", str(runner))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "EVALS_TEST_MISSING_KEY" in result.stderr


def test_template_syntax_error(tmp_path: Path) -> None:
    suite = write(tmp_path / "s.yaml", GOOD_SUITE.replace("{{ a }}", "{{ a }"))
    result = evals_cli(tmp_path, "validate", str(suite))
    _assert_clean_error(result, suite, 2, "template syntax error")


def test_duplicate_case_id(tmp_path: Path) -> None:
    lines = [f'{{"id": "c{i}", "vars": {{"a": {i}}}, "expect": {i}}}' for i in range(50)]
    lines.insert(30, '{"id": "c7", "vars": {"a": 7}, "expect": 7}')  # file line 31
    write(tmp_path / "cases.jsonl", "\n".join(lines) + "\n")
    suite = write(
        tmp_path / "s.yaml",
        'name: t\nprompt: "{{ a }}"\ncases: cases.jsonl\ngraders: [{type: exact}]\n',
    )
    result = evals_cli(tmp_path, "validate", str(suite))
    _assert_clean_error(result, tmp_path / "cases.jsonl", 31, "duplicate case id 'c7'")


def test_suite_without_a_model_of_its_kind(tmp_path: Path) -> None:
    runner = write(tmp_path / "r.yaml", RUNNER)
    embeddings = REPO / "suites" / "reference" / "embeddings.yaml"
    result = evals_cli(tmp_path, "run", str(embeddings), "-r", str(runner))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ref-embeddings" in result.stderr and "kind embeddings" in result.stderr


def test_expect_tool_calls_alone_is_a_grader(tmp_path: Path) -> None:
    suite = write(
        tmp_path / "s.yaml",
        'name: t\nprompt: "Weather in {{ city }}?"\n'
        "cases: [{vars: {city: Paris}, expect_tool_calls: [{name: get_weather}]}]\n",
    )
    result = evals_cli(tmp_path, "validate", str(suite))
    assert result.returncode == 0, result.stderr  # no `graders:` needed for tool calls


def test_missing_api_key_is_found_before_a_run_is_created(tmp_path: Path) -> None:
    suite = write(tmp_path / "s.yaml", GOOD_SUITE)
    runner = write(
        tmp_path / "r.yaml", RUNNER.replace('v1"}', 'v1", api_key_env: EVALS_TEST_MISSING_KEY}')
    )
    env = {"EVALS_TEST_MISSING_KEY": ""}
    dry = evals_cli(tmp_path, "run", str(suite), "-r", str(runner), "--dry-run", env=env)
    assert dry.returncode == 2 and "Traceback" not in dry.stderr, dry.stderr
    assert "EVALS_TEST_MISSING_KEY" in dry.stderr and "plan:" not in dry.stderr
    real = evals_cli(tmp_path, "run", str(suite), "-r", str(runner), env=env)
    assert real.returncode == 2 and "run:" not in real.stderr, real.stderr
    runs = evals_cli(tmp_path, "runs", "--json")
    assert runs.stdout.strip() in ("", "[]"), runs.stdout  # no run was created
    checked = evals_cli(tmp_path, "validate", str(runner), env=env)
    assert checked.returncode == 0 and "not set here: EVALS_TEST_MISSING_KEY" in checked.stdout
    with_key = evals_cli(
        tmp_path, "validate", str(runner), env={"EVALS_TEST_MISSING_KEY": "sk-test-123"}
    )
    assert "not set" not in with_key.stdout and "sk-test-123" not in with_key.stdout


def test_a_missing_image_is_found_before_a_run_is_created(tmp_path: Path) -> None:
    write(tmp_path / "pic.png", "not really a png, but it exists")
    suite = write(
        tmp_path / "v.yaml",
        "name: v\n"
        "prompt:\n  - role: user\n    content: 'What is this?'\n    images: ['{{ image }}']\n"
        "cases:\n"
        "  - {id: here, vars: {image: pic.png}, expect: x}\n"
        "  - {id: gone, vars: {image: nowhere.png}, expect: x}\n"
        "graders:\n  - {type: contains}\n",
    )
    runner = write(tmp_path / "r.yaml", RUNNER)
    result = evals_cli(tmp_path, "run", str(suite), "-r", str(runner))
    _assert_clean_error(result, suite, 8, "case 'gone'", "nowhere.png", "no such image file")
    assert evals_cli(tmp_path, "runs", "--json").stdout.strip() in ("", "[]")
