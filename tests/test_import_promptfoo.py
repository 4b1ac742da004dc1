"""`evals import promptfoo`: each fixture (modelled on a promptfoo example config) imports
through the real CLI, and the suite, cases and runner it writes are what we expect.

Fixture sources (each fixture names its source in its first comment line):
- simple-csv:            promptfoo/promptfoo: examples/simple-csv/promptfooconfig.yaml
- simple-test:           promptfoo/promptfoo: examples/simple-test/promptfooconfig.yaml
- eval-self-grading:     promptfoo/promptfoo: examples/eval-self-grading/promptfooconfig.yaml
- mmlu:                  promptfoo/promptfoo: examples/mmlu/promptfooconfig.yaml
- compare-llama-vs-gpt:  promptfoo/promptfoo: examples/compare-llama-vs-gpt/promptfooconfig.yaml
- csv-metadata:          promptfoo/promptfoo: examples/csv-metadata/promptfooconfig.yaml
- groq:                  promptfoo/promptfoo: examples/groq/promptfooconfig.yaml
- ollama:                promptfoo/promptfoo: examples/ollama/promptfooconfig.yaml
- multiple-translations: promptfoo/promptfoo: examples/multiple-translations/promptfooconfig.yaml
- roundtrip, nothing-importable, bad-yaml: written for these tests.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO, evals_cli

FIXTURES = REPO / "tests" / "fixtures" / "promptfoo"


def run_import(tmp_path: Path, name: str, *extra: str):
    config = FIXTURES / name / "promptfooconfig.yaml"
    out = tmp_path / "out" / name
    proc = evals_cli(tmp_path, "import", "promptfoo", str(config), "--out", str(out), *extra)
    return proc, out


def warnings(proc) -> list[str]:
    """Skipped items as `file:line: what` (the fixture folder stripped from the path)."""
    found = []
    for row in proc.stderr.splitlines():
        if row.startswith("warning: "):
            text = row.removeprefix("warning: ").replace(str(FIXTURES) + os.sep, "")
            found.append(text)
    return found


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def suite_of(out: Path) -> tuple[Path, dict[str, Any]]:
    [path] = [p for p in out.glob("*.yaml") if p.name not in ("cases.yaml", "runner.yaml")]
    return path, load(path)


def expanded(cases: list[dict[str, Any]]) -> int:
    """Cases after matrix expansion: one per combination of the matrix values."""
    return sum(math.prod(len(v) for v in c.get("matrix", {}).values()) for c in cases)


# name -> (suite name, prompt variants, cases after expansion, grader types per case, skipped)
EXPECTED: dict[str, tuple[str, list[str], int, list[list[str]], list[str]]] = {
    "simple-csv": (
        "a-small-translator",
        ["prompts-1", "prompts-2"],  # one file, two prompts separated by `---`
        3,
        [["icontains"]] * 3,
        [],
    ),
    "simple-test": (
        "simple-test",
        ["prompts"],
        5,
        [
            ["equals"],
            ["icontains"],
            ["is-json"],
            ["python", "similar"],
            ["llm-rubric", "icontains"],
        ],  # the last one from the $ref template
        [
            "simple-test/promptfooconfig.yaml:28: assertion javascript",
            "simple-test/promptfooconfig.yaml: grading provider",
            "simple-test/promptfooconfig.yaml: embedding provider",
        ],
    ),  # fmt: skip
    "eval-self-grading": (
        "response-grading-with-an-llm-rubric",
        ["prompts"],
        2,
        [[], []],  # graded by the suite's llm-rubric (defaultTest)
        ["eval-self-grading/promptfooconfig.yaml:13: assertion javascript"],
    ),
    "mmlu": ("mmlu", ["p1"], 2, [[], []], []),
    "compare-llama-vs-gpt": (
        "comparing-llama-and-gpt",
        ["chat-prompt"],
        1,
        [["llm-rubric"]],
        [
            "compare-llama-vs-gpt/promptfooconfig.yaml:21: test c1",
            "compare-llama-vs-gpt/promptfooconfig.yaml:16: provider 'replicate:meta/llama-4",
            "compare-llama-vs-gpt/promptfooconfig.yaml: grading provider",
        ],
    ),  # fmt: skip
    "csv-metadata": (
        "csv-metadata",
        ["p1"],
        2,
        [["contains", "llm-rubric"], ["contains"]],
        [
            "csv-metadata/tests.csv:1: column __metadata:category",
            "csv-metadata/tests.csv:3: __expected2 'javascript: output.length > 10'",
            "csv-metadata/promptfooconfig.yaml: grading provider",
        ],
    ),  # fmt: skip
    "groq": (
        "groq-provider-demo",
        ["p1", "p2"],
        2,
        [["contains"], ["contains"]],
        [
            "groq/promptfooconfig.yaml:8: provider groq:llama3-groq-8b-8192-tool-use-preview "
            "tool_choice"
        ],
    ),  # fmt: skip
    "ollama": (
        "local-ollama-models-with-different-prompts",
        ["openai-prompt", "llama-prompt"],
        2,
        [[], []],
        [
            "ollama/promptfooconfig.yaml:9: provider ollama:chat:llama3.2:3b num_predict",
            "ollama/promptfooconfig.yaml:9: provider ollama:chat:llama3.2:3b prompts",
            "ollama/promptfooconfig.yaml:14: provider openai:gpt-4o-mini prompts",
        ],
    ),  # fmt: skip
    "multiple-translations": (
        "multiple-translations",
        ["prompts"],
        9,  # language x input: 3 x 3
        [["similar"]],
        ["multiple-translations/promptfooconfig.yaml: embedding provider"],
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_imports(tmp_path: Path, name: str) -> None:
    suite_name, variants, n_cases, grader_types, skipped = EXPECTED[name]
    proc, out = run_import(tmp_path, name)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    suite_path, suite = suite_of(out)
    assert suite["name"] == suite_name
    assert list(suite["prompts"]) == variants
    assert suite["cases"] == "cases.yaml"
    cases = load(out / "cases.yaml")
    assert expanded(cases) == n_cases
    assert [[g["type"] for g in c.get("graders", [])] for c in cases] == grader_types
    assert len({c["id"] for c in cases}) == len(cases)
    found = warnings(proc)
    assert len(found) == len(skipped), found
    for prefix, line in zip(skipped, found, strict=True):
        assert line.startswith(prefix), (prefix, line)
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"imported 1 suite(s), {len(skipped)} item(s) not carried over"
    for path in (suite_path, out / "cases.yaml", out / "runner.yaml"):
        assert f"wrote {path}" in proc.stdout


def test_suite_graders_defaults_and_expect(tmp_path: Path) -> None:
    """defaultTest.assert -> suite graders; `value: '{{answer}}'` -> each case's expect."""
    proc, out = run_import(tmp_path, "mmlu")
    assert proc.returncode == 0, proc.stderr
    _, suite = suite_of(out)
    assert suite["graders"] == [{"type": "equals"}]
    assert [c["expect"] for c in load(out / "cases.yaml")] == ["1", "0"]
    assert "{{subject}}" in suite["prompts"]["p1"]
    runner = load(out / "runner.yaml")
    assert [m["id"] for m in runner["models"]] == ["gpt-4o-mini", "o1-mini"]

    proc, out = run_import(tmp_path, "ollama")
    _, suite = suite_of(out)
    assert suite["graders"] == [
        {"type": "not-icontains", "value": "AI language model"},
        {"type": "not-icontains", "value": "I cannot"},
    ]
    assert suite["prompts"]["openai-prompt"] == [{"role": "user", "content": "{{ message }}"}]
    runner = load(out / "runner.yaml")
    assert runner["endpoints"]["ollama"] == {
        "base_url": "http://localhost:11434/v1",
        "api_key_env": None,
        "kind": "ollama",
    }
    assert runner["models"][0] == {"id": "llama3.2:3b", "endpoint": "ollama"}


def test_params_per_model_when_providers_disagree(tmp_path: Path) -> None:
    proc, out = run_import(tmp_path, "compare-llama-vs-gpt")
    _, suite = suite_of(out)
    assert "params" not in suite
    assert suite["prompts"]["chat-prompt"] == [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "{{message}}"},
    ]
    runner = load(out / "runner.yaml")
    assert runner["models"] == [
        {"id": "GPT 4o", "endpoint": "openai", "model": "gpt-4o",
         "params": {"temperature": 0, "max_tokens": 128}},
        {"id": "GPT 4o mini", "endpoint": "openai", "model": "gpt-4o-mini",
         "params": {"temperature": 1, "max_tokens": 128}},
    ]  # fmt: skip


def test_yaml_12_strings_stay_strings(tmp_path: Path) -> None:
    """promptfoo reads YAML 1.2: `body: Yes` is the text Yes, not a boolean."""
    proc, out = run_import(tmp_path, "simple-test")
    assert load(out / "cases.yaml")[0]["vars"] == {"body": "Yes"}


def test_round_trip(tmp_path: Path) -> None:
    """Array vars, defaultTest, weights, thresholds, metrics, file:// vars and graders."""
    proc, out = run_import(tmp_path, "roundtrip")
    assert proc.returncode == 0, proc.stderr
    _, suite = suite_of(out)
    assert suite["name"] == "round-trip-of-every-mapped-feature"
    assert suite["prompts"] == {
        "inline-reply": "Reply in {{ lang }} with a {{ tone }} tone. Context: {{ extra | tojson }}",
        "chat": [
            {"role": "system",
             "content": "Answer in {{ lang }}{% if tone == 'formal' %}, formally{% endif %}."},
            {"role": "user", "content": "{{ extra | tojson }}"},
        ],
    }  # fmt: skip
    assert suite["params"] == {"temperature": 0, "max_tokens": 256}  # all three agree
    assert suite["defaults"] == {
        "vars": {"tone": "formal", "extra": {"audience": "kids"}},
        "threshold": 0.8,
    }
    assert suite["graders"] == [{"type": "not-icontains", "value": "as an AI", "metric": "Safety"}]

    cases = load(out / "cases.yaml")
    # tests 5 (providerOutput) and 6 (a var computed by Python) are skipped; ids keep positions
    assert [c["id"] for c in cases] == [
        "c1-greeting-in-many-languages", "c2-summary-of-a-document", "c3", "c4-files-by-glob",
    ]  # fmt: skip
    greeting, summary, sets, globbed = cases
    assert greeting["matrix"] == {"lang": ["en", "fr", "de"], "name": ["Ann", "Bob"]}
    assert greeting["threshold"] == 0.5
    assert greeting["graders"] == [
        {"type": "icontains", "value": "hello", "threshold": 0.5, "weight": 2,
         "metric": "Accuracy"},
        {"type": "levenshtein", "value": "Hello Ann", "max_distance": 3},
    ]  # fmt: skip
    assert summary["vars"] == {"lang": "en", "doc": "file://docs/a.txt"}
    assert summary["graders"] == [
        {"type": "python", "value": "file://graders/check.py:grade"},
        {"type": "llm-rubric", "value": "is concise"},
    ]
    assert sets["graders"] == [
        {"type": "all", "graders": [{"type": "contains", "value": "a"},
                                    {"type": "contains", "value": "b"}]},
    ]  # fmt: skip
    assert globbed["matrix"] == {
        "lang": ["en", "fr"], "file": ["file://docs/a.txt", "file://docs/b.txt"]
    }  # fmt: skip
    # by hand: 3 langs x 2 names + 1 + 2 langs + 2 langs x 2 files = 6 + 1 + 2 + 4 = 13
    assert expanded(cases) == 13
    for rel in ("docs/a.txt", "docs/b.txt", "graders/check.py"):  # referenced files copied
        assert (out / rel).read_text() == (FIXTURES / "roundtrip" / rel).read_text()

    runner = load(out / "runner.yaml")
    assert runner["endpoints"] == {
        "openai": {"base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY",
                   "kind": "openai"},
        "groq": {"base_url": "https://api.groq.com/openai/v1", "api_key_env": "GROQ_API_KEY",
                 "kind": "groq"},
        "openai-localhost-8000": {"base_url": "http://localhost:8000/v1",
                                  "api_key_env": "VLLM_KEY"},
    }  # fmt: skip
    assert runner["models"] == [
        {"id": "gpt-4o-mini", "endpoint": "openai"},
        {"id": "llama-3.1-8b-instant", "endpoint": "groq"},
        {"id": "local", "endpoint": "openai-localhost-8000", "model": "local-model"},
    ]
    assert runner["judge"] == {"id": "judge", "endpoint": "openai", "model": "gpt-4o-mini"}

    rt = "roundtrip/promptfooconfig.yaml"
    assert warnings(proc) == [
        f"{rt}:86: scenarios: scenarios (vars crossed with test groups): write the "
        "combinations as tests",
        f"{rt}:9: prompt 'Go on: {{{{ _conversation }}}}': uses promptfoo's special variable "
        "`_conversation`, which evals does not provide",
        f"{rt}:10: prompt 'file://make_prompt.py:build': prompt functions (Python/JavaScript) "
        "cannot be imported: write the prompt out",
        f"{rt}:58: assertion llm-rubric: provider: the judge comes from the runner profile's "
        "`judge:`; the assertion is kept without it",
        f"{rt}:72: assertion javascript: JavaScript assertions cannot run here: rewrite it as "
        "a python grader",
        f"{rt}:64: test options.transform: output transforms are JavaScript: graders see the "
        "raw output",
        f"{rt}:79: assertion webhook: webhooks are not supported: call the service from a "
        "python grader",
        f"{rt}:81: test c5: a fixed output to grade: evals grades what the models answer",
        f"{rt}:85: test c6: var `dynamic`: var file://vars.py: vars computed by code cannot "
        "be imported",
        f"{rt}:23: provider 'anthropic:messages:claude-3-5-haiku-latest': 'anthropic' has no "
        "OpenAI-compatible API known to evals (supported: deepseek, fireworks, groq, localai, "
        "ollama, openai, openrouter, together, togetherai, vllm, or openai:chat:MODEL with "
        "config.apiBaseUrl)",
        f"{rt}:24: provider 'file://provider.js': a custom provider (code): it cannot run here",
    ]
    assert (
        proc.stderr.strip().splitlines()[-1] == "imported 1 suite(s), 11 item(s) not carried over"
    )


@pytest.mark.parametrize("name", [*sorted(EXPECTED), "roundtrip"])
def test_imported_suite_validates(tmp_path: Path, name: str) -> None:
    proc, out = run_import(tmp_path, name)
    assert proc.returncode == 0, proc.stderr
    suite_path, _ = suite_of(out)
    check = evals_cli(tmp_path, "validate", str(suite_path), str(out / "runner.yaml"))
    assert check.returncode == 0, check.stderr + check.stdout
    count = re.search(r"(\d+) cases", check.stdout + check.stderr)
    assert count is not None
    assert int(count.group(1)) == expanded(load(out / "cases.yaml"))


def test_round_trip_dry_run_plans_every_expanded_case(tmp_path: Path) -> None:
    proc, out = run_import(tmp_path, "roundtrip")
    suite_path, _ = suite_of(out)
    keys = {"OPENAI_API_KEY": "x", "GROQ_API_KEY": "x", "VLLM_KEY": "x"}
    plan = evals_cli(tmp_path, "run", str(suite_path), "-r", str(out / "runner.yaml"),
                     "--dry-run", env=keys)  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    text = plan.stdout + plan.stderr
    assert "13 cases" in text
    assert "plan: 78 requests" in text  # 13 cases x 2 prompt variants x 3 models


def test_nothing_importable_exits_2(tmp_path: Path) -> None:
    proc, out = run_import(tmp_path, "nothing-importable")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [row for row in proc.stderr.splitlines() if row.startswith("error: ")]
    assert errors == [
        f"error: {FIXTURES / 'nothing-importable' / 'promptfooconfig.yaml'}: nothing could be "
        "imported (no prompt or no test carried over; see the warnings)"
    ]
    assert len(warnings(proc)) == 4  # prompt, assertion, the test left ungraded, provider
    assert not out.exists()  # nothing written


def test_unreadable_yaml_exits_2_with_file_and_line(tmp_path: Path) -> None:
    proc, out = run_import(tmp_path, "bad-yaml")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    config = FIXTURES / "bad-yaml" / "promptfooconfig.yaml"
    assert proc.stderr.strip().splitlines() == [
        f"error: {config}:5: YAML syntax error: expected ',' or ']', but got '}}'; "
        "fix the YAML at this line"
    ]
    assert not out.exists()


def test_missing_config_exits_2(tmp_path: Path) -> None:
    proc = evals_cli(tmp_path, "import", "promptfoo", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: file not found"


def test_default_out_is_named_after_the_config_folder(tmp_path: Path) -> None:
    config = FIXTURES / "groq" / "promptfooconfig.yaml"
    proc = evals_cli(tmp_path, "import", "promptfoo", str(config))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "imported" / "groq"
    assert sorted(p.name for p in out.iterdir()) == [
        "cases.yaml", "groq-provider-demo.yaml", "runner.yaml"
    ]  # fmt: skip


def test_tests_and_defaults_from_files(tmp_path: Path) -> None:
    """`tests:` as a list of file references (YAML and CSV), `defaultTest: file://`, a prompt
    glob, and CSV columns __description, __metric, __threshold and file:// cells."""
    src = tmp_path / "src"
    (src / "prompts").mkdir(parents=True)
    (src / "prompts" / "a.txt").write_text("A: {{ q }} {{ doc }}")
    (src / "prompts" / "b.txt").write_text("B: {{ q }} {{ doc }}")
    (src / "d.txt").write_text("a document")
    (src / "defaults.yaml").write_text("vars: {doc: ''}\nassert:\n  - type: is-refusal\n")
    (src / "more.yaml").write_text(
        "- description: From YAML\n  vars: {q: one}\n  assert: [{type: contains, value: x}]\n"
    )
    (src / "rows.csv").write_text(
        "q,doc,__expected1,__expected2,__description,__metric,__threshold,__prefix\n"
        "two,file://d.txt,contains: a,not-icontains: b,Row two,Acc,0.5,\n"
    )
    (src / "promptfooconfig.yaml").write_text(
        "prompts: [file://prompts/*.txt]\n"
        "providers: [openai:gpt-4o-mini]\n"
        "defaultTest: file://defaults.yaml\n"
        "tests: [file://more.yaml, file://rows.csv]\n"
    )
    out = tmp_path / "out"
    proc = evals_cli(tmp_path, "import", "promptfoo", str(src / "promptfooconfig.yaml"),
                     "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    _, suite = suite_of(out)
    assert list(suite["prompts"]) == ["a", "b"]
    assert suite["defaults"] == {"vars": {"doc": ""}}
    assert suite["graders"] == [{"type": "is-refusal"}]
    assert load(out / "cases.yaml") == [
        {"id": "c1-from-yaml", "description": "From YAML", "vars": {"q": "one"},
         "graders": [{"type": "contains", "value": "x"}]},
        {"id": "c2-row-two", "description": "Row two",
         "vars": {"q": "two", "doc": "file://d.txt"},
         "graders": [{"type": "contains", "value": "a", "metric": "Acc"},
                     {"type": "not-icontains", "value": "b", "metric": "Acc"}],
         "threshold": 0.5},
    ]  # fmt: skip
    assert (out / "d.txt").read_text() == "a document"
    assert warnings(proc) == [
        f"{src / 'rows.csv'}:1: column __prefix: no equivalent here: the column is ignored"
    ]
