"""`code_exec`: the model's code and the case's tests, run in a limited child process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from evals.graders import GradeContext, GraderSpecError, build_grader
from evals.graders.code_exec import extract_code, pick_block
from evals.records import GradeResult
from tests.helpers import REPO, evals_cli, stored_results, write

CONFIG = """\
models:
  coder: {accuracy: 1.0}
"""

REFERENCE = REPO / "suites" / "reference" / "code_exec.yaml"
TEST = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"
PROMPT = 'def add(a, b):\n    """Return a + b."""\n'


def ctx(**vars: Any) -> GradeContext:
    base = {"test": TEST, "entry_point": "add", "prompt": PROMPT}
    return GradeContext(expect=None, vars={**base, **vars}, case_id="c1")


def grade(output: str, spec: dict[str, Any] | None = None, **vars: Any) -> GradeResult:
    grader = build_grader({"type": "code_exec", **(spec or {})})
    return asyncio.run(grader.agrade(output, ctx(**vars)))


# --- extraction -----------------------------------------------------------------------


def test_fenced_block_with_language_tag_is_the_program() -> None:
    output = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
    code, how = extract_code(output, "fenced", "add", None)
    assert code == "def add(a, b):\n    return a + b\n" and how == "fenced block"


def test_of_several_blocks_the_one_defining_the_entry_point_is_run() -> None:
    output = (
        "Usage:\n```python\nprint(add(1, 2))\n```\n"
        "```bash\npython add.py\n```\n"
        "```py\ndef add(a, b):\n    return a + b\n```\n"
    )
    assert pick_block(output, "add") == "def add(a, b):\n    return a + b\n"
    assert pick_block(output, None) == "print(add(1, 2))\n"  # else the first Python block
    assert pick_block("```bash\nls\n```", "add") is None  # not Python: not code to run


def test_whole_output_and_prompt_prefix() -> None:
    assert extract_code("add = lambda a, b: a + b", "auto", "add", None) == (
        "add = lambda a, b: a + b",
        "whole output",
    )
    body = "    return a + b\n"
    assert extract_code(body, "prompt_prefix", "add", PROMPT) == (
        PROMPT + body,
        "prompt + whole output",
    )
    # auto: a completion that does not define the entry point continues the prompt
    assert extract_code(body, "auto", "add", PROMPT)[0] == PROMPT + body
    assert extract_code("no code here", "fenced", "add", PROMPT) is None


def test_a_restated_function_is_graded_as_that_program_in_every_mode() -> None:
    answer = "```python\nfrom typing import List\n\ndef add(a, b):\n    return a + b\n```"
    for mode in ("auto", "fenced", "prompt_prefix"):
        code, how = extract_code(answer, mode, "add", PROMPT)
        assert code.endswith("def add(a, b):\n    return a + b\n"), mode
        assert "restating" in how
        assert grade(answer, {"mode": mode}).passed, mode


def test_unclosed_fence_is_read_to_the_end() -> None:
    assert grade("```python\ndef add(a, b):\n    return a + b\n").passed


# --- verdicts and reasons -------------------------------------------------------------


def test_reasons_for_pass_and_each_kind_of_failure() -> None:
    right = grade("    return a + b\n")
    assert right.passed and right.reason.startswith("code_exec: check(add) passed in ")
    wrong = grade("def add(a, b):\n    return a - b\n")
    assert not wrong.passed and not wrong.error
    assert wrong.reason == "code_exec: assertion failed at line 8: assert candidate(1, 2) == 3"
    raised = grade("def add(a, b):\n    return undefined_name\n")
    assert (
        "NameError: name 'undefined_name' is not defined at line 5: return undefined_name"
        in raised.reason
    )
    syntax = grade("def add(a, b) return a\n", {"mode": "whole"})
    assert not syntax.error and "SyntaxError" in syntax.reason
    exited = grade("import sys\nsys.exit(0)\n", {"mode": "whole"})
    assert not exited.passed and "called exit(0)" in exited.reason
    printed = grade("def add(a, b):\n    print('debug line')\n    raise ValueError('bad')\n")
    assert "ValueError: bad" in printed.reason and "debug line" in printed.reason


def test_limits_time_memory_processes_files() -> None:
    loop = grade("def add(a, b):\n    while True:\n        pass\n", {"timeout_s": 1})
    assert loop == GradeResult(False, 0.0, "code_exec: timed out after 1 s")
    bomb = grade("def add(a, b):\n    x = bytearray(2 << 30)\n", {"memory_mb": 128})
    assert bomb == GradeResult(False, 0.0, "code_exec: killed: memory (over the 128 MB limit)")
    spawn = grade("import subprocess\nsubprocess.run(['true'])\n", {"mode": "whole"})
    assert "PermissionError: starting a process is disabled" in spawn.reason
    remove = grade("import os\nos.remove('/etc/hostname')\n", {"mode": "whole"})
    assert "outside the working directory is disabled" in remove.reason
    local = "open('notes.txt', 'w').write('x')\nadd = lambda a, b: a + b\n"
    assert grade(local, {"mode": "whole"}).passed  # its own directory is writable


def test_sync_path_gives_the_same_verdicts() -> None:
    grader = build_grader({"type": "code_exec", "timeout_s": 1})
    assert grader.grade("    return a + b\n", ctx()).passed
    assert grader.grade("    while True: pass\n", ctx()).reason == "code_exec: timed out after 1 s"


def test_harness_problems_are_grader_errors() -> None:
    no_tests = grade("    return a + b\n", test=None)
    assert no_tests.error and "case var `test`" in no_tests.reason
    broken = grade("    return a + b\n", {"python": "false"})  # an interpreter that never starts
    assert broken.error and "did not start" in broken.reason


def test_programs_run_in_parallel_up_to_the_cpu_count() -> None:
    grader = build_grader({"type": "code_exec", "timeout_s": 5})
    slow = "import time\ntime.sleep(0.5)\nadd = lambda a, b: a + b\n"

    async def main() -> list[GradeResult]:
        return await asyncio.gather(*(grader.agrade(slow, ctx()) for _ in range(2)))

    import time

    start = time.monotonic()
    results = asyncio.run(main())
    assert all(r.passed for r in results)
    assert time.monotonic() - start < 1.6  # not one after the other (each ~0.5 s + startup)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"mode": "fenceed"}, "'mode'"),
        ({"timeout_s": 0}, "'timeout_s'"),
        ({"memory_mb": 8}, "'memory_mb'"),
        ({"sandbox": ["no-such-sandbox-cmd"]}, "is not on PATH"),
        ({"timeout": 3}, "did you mean 'timeout_s'?"),
    ],
)
def test_bad_specs_say_what_to_fix(spec: dict[str, Any], needle: str) -> None:
    with pytest.raises(GraderSpecError) as info:
        build_grader({"type": "code_exec", **spec})
    assert needle in str(info.value)


def test_bad_spec_in_a_suite_names_file_and_line(tmp_path: Path) -> None:
    suite = write(
        tmp_path / "s.yaml",
        "name: s\nprompt: 'Repeat: {{ code }}'\ncases: [{vars: {code: x, test: ''}}]\n"
        "graders:\n  - {type: code_exec, memory_mb: lots}\n",
    )
    result = evals_cli(tmp_path, "validate", str(suite))
    assert result.returncode == 2
    assert "s.yaml:5" in result.stderr and "memory_mb" in result.stderr


# --- a real run over HTTP -------------------------------------------------------------

CASES = {
    "right": "def add(a, b): return a + b",
    "wrong": "def add(a, b): return a - b",
    "loop": "import itertools; add = lambda a, b: [0 for _ in itertools.count() if False]",
    "bomb": "def add(a, b): return len([' ' * 10**6 for _ in range(10**5)])",
    "connect": "import socket; s = socket.socket(); s.connect(('127.0.0.1', {port}))",
    "connect2": "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)",
    "key": "import os; add = lambda a, b: a + b; assert os.environ.get('EVALS_TEST_KEY') is None",
    "env": "import os; raise RuntimeError(repr(sorted(os.environ.items())))",
}


def test_run_over_http_every_case_has_its_reason(tmp_path: Path, sim) -> None:
    port = sim.base_url.split(":")[-1].split("/")[0]
    cases = [
        {
            "id": name,
            "vars": {"code": code.replace("{port}", port), "test": TEST, "entry_point": "add"},
        }
        for name, code in CASES.items()
    ]
    suite = write(
        tmp_path / "code.yaml",
        "name: code\nprompt: 'Repeat: {{ code }}'\nparams: {max_tokens: 400, temperature: 0}\n"
        f"cases: {json.dumps(cases)}\n"
        "graders: [{type: code_exec, mode: whole}]\n",
    )
    runner = write(
        tmp_path / "runner.yaml",
        "endpoints:\n"
        f'  sim: {{base_url: "{sim.base_url}", api_key_env: EVALS_TEST_KEY, max_concurrency: 8}}\n'
        "models:\n  - {id: coder, endpoint: sim}\n",
    )
    result = evals_cli(
        tmp_path, "run", str(suite), str(REFERENCE), "-r", str(runner),
        "--summary-json", "s.json", env={"EVALS_TEST_KEY": "sk-secret"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    everything = stored_results(tmp_path)
    reference = {row["case_id"]: row for row in everything if row["suite"] == "ref-code-exec"}
    assert {k for k, row in reference.items() if row["passed"]} == {"right", "plain-asserts"}
    assert json.loads(reference["loops"]["grades"])[0]["reason"].endswith("timed out after 2 s")
    rows = {row["case_id"]: row for row in everything if row["suite"] == "code"}
    assert set(rows) == set(CASES)
    reasons = {}
    for case_id, row in rows.items():
        assert row["output"] == cases[list(CASES).index(case_id)]["vars"]["code"]  # echoed
        (grade_,) = json.loads(row["grades"])
        assert grade_["reason"] and not grade_["error"], (case_id, grade_)
        reasons[case_id] = grade_["reason"]
    passed = {case_id for case_id, row in rows.items() if row["passed"]}
    assert passed == {"right", "key"}, reasons
    assert reasons["wrong"].endswith("assertion failed at line 4: assert candidate(1, 2) == 3")
    assert reasons["loop"] == "code_exec: timed out after 3 s"
    assert reasons["bomb"] == "code_exec: killed: memory (over the 512 MB limit)"
    for name in ("connect", "connect2"):
        assert "PermissionError: network access is disabled in code_exec" in reasons[name]
    assert "'HOME'" in reasons["env"] and "'PATH'" in reasons["env"]
    assert "EVALS_TEST_KEY" not in reasons["env"] and "sk-secret" not in reasons["env"]
    summary = json.loads((tmp_path / "s.json").read_text())
    (row,) = [row for row in summary["rows"] if row["suite"] == "code"]
    assert (row["samples"], row["errors"], row["passed"]) == (len(CASES), 0, 2)


def test_unfenced_restated_function_keeps_the_prompt_imports_and_drops_stray_fences() -> None:
    prompt = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum."""\n'
    answer = "def total(xs: List[int]) -> int:\n    return sum(xs)\n```\n"
    test = "def check(candidate):\n    assert candidate([1, 2]) == 3\n"
    code, how = extract_code(answer, "auto", "total", prompt)
    assert code.startswith("from typing import List") and "```" not in code
    assert how == "prompt + whole output restating the function"
    assert grade(answer, test=test, entry_point="total", prompt=prompt).passed


def test_sandbox_prefix_runs_the_interpreter_under_it_with_dir_substituted() -> None:
    code = (
        "import os\nadd = lambda a, b: a + b\n"
        "assert os.environ['WRAPPED_IN'] == os.getcwd(), (os.environ['WRAPPED_IN'], os.getcwd())\n"
    )
    result = grade(code, {"mode": "whole", "sandbox": ["env", "WRAPPED_IN={dir}"]})
    assert result.passed, result.reason


def test_tests_without_a_check_function_run_as_plain_statements() -> None:
    result = grade("add = lambda a, b: a + b\n", {"mode": "whole"}, test="assert add(2, 2) == 4\n")
    assert result.passed and result.reason.startswith("code_exec: tests passed")
