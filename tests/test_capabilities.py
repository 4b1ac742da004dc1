"""Capabilities table and request adaptation."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.config.runner import load_runner
from evals.endpoints.capabilities import (
    Capabilities,
    adapt_request,
    capabilities_for,
    known_families,
    reasoning_effort_problem,
)
from evals.errors import InputError

MSGS = [
    {"role": "system", "content": "Reply with the number only."},
    {"role": "user", "content": "What is 2 + 2?"},
]


def test_table_lists_the_families() -> None:
    expected = {
        "o1", "o1-mini", "o1-preview", "o1-pro", "o3", "o3-mini", "o3-pro", "o4-mini",
        "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1", "gpt-5.2", "gpt-5.4",
        "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5.5", "gpt-4o", "gpt-4o-mini", "gpt-4.1",
        "gpt-4.1-mini", "gpt-4.1-nano",
    }  # fmt: skip
    assert set(known_families()) == expected


def test_unknown_model_gets_permissive_defaults() -> None:
    caps = capabilities_for("smollm2-135m-instruct")
    assert caps == Capabilities(model="smollm2-135m-instruct", family=None)
    assert caps.max_tokens_param == "max_tokens"
    assert caps.temperature and caps.top_p and caps.stop
    assert caps.system_role == "system"
    assert not caps.reasoning_effort


def test_snapshot_resolves_to_family() -> None:
    caps = capabilities_for("o3-mini-2025-01-31")
    assert caps.family == "o3-mini"
    assert caps.max_tokens_param == "max_completion_tokens"
    assert caps.reasoning_effort and not caps.temperature
    assert caps.stop  # o3-mini accepts stop, unlike o3


def test_no_substring_guessing() -> None:
    assert capabilities_for("gpt-4o-mini").family == "gpt-4o-mini"
    assert capabilities_for("my-o3-finetune").family is None
    assert capabilities_for("o3-mini-high").family is None


def test_reasoning_vs_classic_families() -> None:
    assert capabilities_for("gpt-5.4").max_tokens_param == "max_completion_tokens"
    assert not capabilities_for("o3").stop
    assert capabilities_for("o1-mini").system_role == "user"
    assert capabilities_for("gpt-4o").system_role == "system"
    assert capabilities_for("gpt-4.1-2025-04-14").temperature


def test_override_turns_local_model_into_reasoning_style() -> None:
    caps = capabilities_for(
        "qwen3-8b",
        {
            "max_tokens_param": "max_completion_tokens",
            "temperature": False,
            "system_role": "developer",
            "reasoning_effort": True,
        },
    )
    assert caps.family is None
    assert caps.max_tokens_param == "max_completion_tokens"
    assert caps.reasoning_effort and not caps.temperature and caps.top_p
    msgs, params, _ = adapt_request(MSGS, {"max_tokens": 64, "reasoning_effort": "low"}, caps)
    assert params == {"max_completion_tokens": 64, "reasoning_effort": "low"}
    assert msgs[0]["role"] == "developer"


def test_override_on_known_family() -> None:
    caps = capabilities_for("o3", {"stop": True})
    assert caps.stop and caps.family == "o3" and not caps.temperature


def test_override_unknown_key_is_named() -> None:
    with pytest.raises(ValueError, match="unknown key 'temprature'"):
        capabilities_for("gpt-4o", {"temprature": False})


@pytest.mark.parametrize(
    "bad", [{"system_role": "assistant"}, {"temperature": "no"}, {"max_tokens_param": "n"}]
)
def test_override_bad_value(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        capabilities_for("gpt-4o", bad)


# --- adapt_request --------------------------------------------------------------


def test_max_tokens_renamed_for_reasoning_model() -> None:
    caps = capabilities_for("o4-mini")
    _, params, notes = adapt_request(MSGS, {"max_tokens": 32}, caps)
    assert params == {"max_completion_tokens": 32}
    assert "max_tokens sent as max_completion_tokens" in notes


def test_max_completion_tokens_renamed_for_classic_model() -> None:
    caps = capabilities_for("llama-local")
    _, params, notes = adapt_request(MSGS, {"max_completion_tokens": 32}, caps)
    assert params == {"max_tokens": 32}
    assert "max_completion_tokens sent as max_tokens" in notes


def test_both_token_limits_keep_the_wanted_one() -> None:
    both = {"max_tokens": 10, "max_completion_tokens": 99}
    _, params, notes = adapt_request(MSGS, both, capabilities_for("o3"))
    assert params == {"max_completion_tokens": 99}
    assert any(n.startswith("max_tokens dropped") for n in notes)
    _, params, _ = adapt_request(MSGS, both, capabilities_for("gpt-4o"))
    assert params == {"max_tokens": 10}


def test_unsupported_sampling_params_dropped() -> None:
    caps = capabilities_for("o3-mini")
    params_in = {"temperature": 0, "top_p": 0.9, "stop": ["\n"], "seed": 7}
    _, params, notes = adapt_request(MSGS, params_in, caps)
    assert params == {"stop": ["\n"], "seed": 7}  # o3-mini accepts stop; seed passes through
    assert "temperature dropped: not supported by o3-mini" in notes
    assert "top_p dropped: not supported by o3-mini" in notes


def test_stop_dropped_for_o3() -> None:
    _, params, notes = adapt_request(MSGS, {"stop": ["END"]}, capabilities_for("o3"))
    assert params == {}
    assert "stop dropped: not supported by o3" in notes


def test_reasoning_effort_dropped_when_unsupported() -> None:
    _, params, notes = adapt_request(MSGS, {"reasoning_effort": "high"}, capabilities_for("gpt-4o"))
    assert params == {}
    assert "reasoning_effort dropped: not supported by gpt-4o" in notes
    _, params, notes = adapt_request(MSGS, {"reasoning_effort": "high"}, capabilities_for("o3"))
    assert params == {"reasoning_effort": "high"} and notes[-1:] != ["reasoning_effort dropped"]


def test_system_sent_as_developer() -> None:
    msgs, _, notes = adapt_request(MSGS, {}, capabilities_for("gpt-5"))
    assert [m["role"] for m in msgs] == ["developer", "user"]
    assert msgs[0]["content"] == MSGS[0]["content"]
    assert any("system sent as developer" in n for n in notes)


def test_developer_sent_as_system_for_classic_model() -> None:
    dev = [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    msgs, _, notes = adapt_request(dev, {}, capabilities_for("gpt-4o-mini"))
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert any("developer sent as system" in n for n in notes)


def test_system_folded_into_first_user_message() -> None:
    msgs, _, notes = adapt_request(MSGS, {}, capabilities_for("o1-preview"))
    assert msgs == [{"role": "user", "content": "Reply with the number only.\n\nWhat is 2 + 2?"}]
    assert any("folded into the first user message" in n for n in notes)


def test_fold_with_content_parts_and_later_system() -> None:
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Rule A"}]},
        {"role": "developer", "content": "Rule B"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]},
        {"role": "assistant", "content": "ok"},
        {"role": "system", "content": "Now stop."},
    ]
    msgs, _, notes = adapt_request(messages, {}, capabilities_for("o1-mini-2024-09-12"))
    assert msgs[0] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Rule A\n\nRule B"},
            {"type": "image_url", "image_url": {"url": "data:x"}},
        ],
    }
    assert msgs[1] == {"role": "assistant", "content": "ok"}
    assert msgs[2] == {"role": "user", "content": "Now stop."}
    assert len(notes) == 2


def test_fold_without_user_message() -> None:
    msgs, _, _ = adapt_request(
        [{"role": "system", "content": "Say hi."}], {}, capabilities_for("o1-mini")
    )
    assert msgs == [{"role": "user", "content": "Say hi."}]


def test_nothing_to_change_gives_no_notes() -> None:
    msgs, params, notes = adapt_request(
        MSGS, {"max_tokens": 5, "temperature": 0}, capabilities_for("gpt-4o")
    )
    assert msgs == MSGS and params == {"max_tokens": 5, "temperature": 0} and notes == []


def test_inputs_not_mutated() -> None:
    messages = copy.deepcopy(MSGS)
    params = {"max_tokens": 5, "temperature": 0, "stop": ["x"], "extra_body": {"a": [1]}}
    before_m, before_p = copy.deepcopy(messages), copy.deepcopy(params)
    for model in ("o1-mini", "o3", "gpt-5", "gpt-4o", "local"):
        msgs, new_params, _ = adapt_request(messages, params, capabilities_for(model))
        new_params.get("extra_body", {}).setdefault("b", 1)
        msgs[0]["content"] = "changed"
    assert messages == before_m and params == before_p


# --- reasoning_effort values per family ---------------------------------------------

O_SERIES = ("low", "medium", "high")
GPT5 = ("minimal", "low", "medium", "high")


@pytest.mark.parametrize(
    ("model", "efforts"),
    [
        ("o1", O_SERIES),
        ("o3", O_SERIES),
        ("o3-mini-2025-01-31", O_SERIES),
        ("o4-mini", O_SERIES),
        ("gpt-5", GPT5),
        ("gpt-5-mini", GPT5),
        ("gpt-5-nano-2025-08-07", GPT5),
        ("gpt-5.1", ("none", "low", "medium", "high")),
        ("gpt-5.2", ("none", "low", "medium", "high", "xhigh")),
        ("gpt-5.4", ("none", "low", "medium", "high", "xhigh")),
        ("o1-mini", ()),
        ("gpt-4o", ()),
    ],
)
def test_reasoning_efforts_per_family(model: str, efforts: tuple[str, ...]) -> None:
    caps = capabilities_for(model)
    assert caps.reasoning_efforts == efforts
    assert caps.reasoning_effort == bool(efforts)


def test_effort_problem_names_value_and_allowed_values() -> None:
    o3 = capabilities_for("o3-2025-04-16")
    assert reasoning_effort_problem(o3, "high") is None
    assert reasoning_effort_problem(o3, "minimal") == (
        "reasoning_effort 'minimal' is not accepted; o3 takes low, medium, high"
    )
    assert reasoning_effort_problem(capabilities_for("gpt-5-mini"), "minimal") is None
    assert reasoning_effort_problem(capabilities_for("gpt-5"), "none") == (
        "reasoning_effort 'none' is not accepted; gpt-5 takes minimal, low, medium, high"
    )
    assert reasoning_effort_problem(capabilities_for("gpt-5.1"), "minimal") is not None
    assert reasoning_effort_problem(capabilities_for("gpt-5.2"), "xhigh") is None
    assert "not a string" in reasoning_effort_problem(o3, 2)


def test_effort_unchecked_for_unknown_models_and_dropped_for_classic() -> None:
    local = capabilities_for("qwen3-8b", {"reasoning_effort": True})
    assert local.reasoning_effort and local.reasoning_efforts is None
    assert reasoning_effort_problem(local, "anything") is None
    assert reasoning_effort_problem(capabilities_for("qwen3-8b"), "minimal") is None
    # gpt-4o takes none at all: not a value problem, adapt_request drops it.
    assert reasoning_effort_problem(capabilities_for("gpt-4o"), "high") is None


def test_effort_overrides_list_and_legacy_boolean() -> None:
    # A list replaces the family's values (a table that is out of date).
    caps = capabilities_for("o3", {"reasoning_efforts": ["low", "medium", "high", "xhigh"]})
    assert caps.reasoning_efforts == ("low", "medium", "high", "xhigh") and caps.reasoning_effort
    assert reasoning_effort_problem(caps, "xhigh") is None
    caps = capabilities_for("qwen3-8b", {"reasoning_efforts": ["none", "high"]})
    assert reasoning_effort_problem(caps, "low") == (
        "reasoning_effort 'low' is not accepted; qwen3-8b takes none, high"
    )
    # The older boolean: true keeps the family's values, false drops the parameter.
    assert capabilities_for("o3", {"reasoning_effort": True}).reasoning_efforts == O_SERIES
    off = capabilities_for("o3", {"reasoning_effort": False})
    assert not off.reasoning_effort and off.reasoning_efforts == ()
    _, params, notes = adapt_request(MSGS, {"reasoning_effort": "high"}, off)
    assert params == {} and "reasoning_effort dropped: not supported by o3" in notes
    # true on a family without values: sent, unchecked.
    on = capabilities_for("gpt-4o", {"reasoning_effort": True})
    assert on.reasoning_effort and on.reasoning_efforts is None


@pytest.mark.parametrize(
    "bad",
    [
        {"reasoning_efforts": "low"},
        {"reasoning_efforts": ["low", "low"]},
        {"reasoning_efforts": ["", "low"]},
        {"reasoning_efforts": [1]},
        {"reasoning_effort": False, "reasoning_efforts": ["low"]},
    ],
)
def test_effort_override_bad_value(bad: dict) -> None:
    with pytest.raises(ValueError, match="reasoning_effort"):
        capabilities_for("o3", bad)


def test_disallowed_effort_from_suite_params_is_kept_with_a_note() -> None:
    _, params, notes = adapt_request(MSGS, {"reasoning_effort": "minimal"}, capabilities_for("o3"))
    assert params == {"reasoning_effort": "minimal"}
    assert (
        "reasoning_effort 'minimal' is not accepted; o3 takes low, medium, high: "
        "o3 will likely reject the request"
    ) in notes


# --- the runner-profile check at load time ---------------------------------------------

RUNNER_BAD_EFFORT = """\
endpoints:
  openai: {base_url: "https://api.openai.com/v1", api_key_env: OPENAI_API_KEY}
models:
  - {id: gpt-5-minimal, endpoint: openai, model: gpt-5, params: {reasoning_effort: minimal}}
  - id: o3-high
    endpoint: openai
    model: o3
    params:
      max_tokens: 512
      reasoning_effort: minimal
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "runner.yaml"
    path.write_text(text)
    return path


def test_load_runner_refuses_an_effort_the_family_does_not_take(tmp_path: Path) -> None:
    path = _write(tmp_path, RUNNER_BAD_EFFORT)
    with pytest.raises(InputError) as err:
        load_runner(path)
    assert err.value.line == 10  # the reasoning_effort line of o3-high
    assert err.value.render() == (
        f"{path}:10: model 'o3-high' (o3): reasoning_effort 'minimal' is not accepted; "
        "o3 takes low, medium, high"
    )


def test_load_runner_accepts_allowed_and_unchecked_efforts(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
endpoints:
  openai: {base_url: "https://api.openai.com/v1", api_key_env: OPENAI_API_KEY}
  local: {base_url: "http://127.0.0.1:8080/v1"}
models:
  - {id: o3-high, endpoint: openai, model: o3-2025-04-16, params: {reasoning_effort: high}}
  - {id: nano-min, endpoint: openai, model: gpt-5-nano, params: {reasoning_effort: minimal}}
  - {id: qwen, endpoint: local, params: {reasoning_effort: none},
     capabilities: {reasoning_effort: true, max_tokens_param: max_completion_tokens}}
  - {id: o3-xhigh, endpoint: openai, model: o3, params: {reasoning_effort: xhigh},
     capabilities: {reasoning_efforts: [low, medium, high, xhigh]}}
""",
    )
    assert [m.id for m in load_runner(path).models] == ["o3-high", "nano-min", "qwen", "o3-xhigh"]


def test_load_runner_checks_the_judge_and_capability_overrides(tmp_path: Path) -> None:
    head = 'endpoints:\n  openai: {base_url: "https://api.openai.com/v1"}\n'
    models = "models:\n  - {id: a, endpoint: openai, model: gpt-4o}\n"
    judge = "judge: {id: j, endpoint: openai, model: o4-mini, params: {reasoning_effort: max}}\n"
    with pytest.raises(InputError, match=r"model 'j' \(o4-mini\): reasoning_effort 'max'") as e:
        load_runner(_write(tmp_path, head + models + judge))
    assert e.value.line == 5  # the judge line
    typo = "models:\n  - {id: a, endpoint: openai, model: o3,\n     capabilities: {stopp: true}}\n"
    with pytest.raises(InputError, match="model 'a': .*unknown key 'stopp'") as e:
        load_runner(_write(tmp_path, head + typo))
    assert e.value.line == 5


def test_validate_cli_exits_2_naming_the_values(tmp_path: Path) -> None:
    path = _write(tmp_path, RUNNER_BAD_EFFORT)
    proc = subprocess.run(
        [sys.executable, "-m", "evals", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        f"error: {path}:10: model 'o3-high' (o3): reasoning_effort 'minimal' is not accepted; "
        "o3 takes low, medium, high"
    ) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_suite_reasoning_effort_the_model_rejects_stops_before_the_run(tmp_path: Path) -> None:
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "name: t\nprompt: 'What is {{ a }}?'\nparams: {reasoning_effort: minimal}\n"
        "cases:\n  - {vars: {a: 1}, expect: '1'}\ngraders:\n  - {type: exact}\n"
    )
    runner = _write(
        tmp_path,
        'endpoints:\n  sim: {base_url: "http://127.0.0.1:9/v1"}\n'
        "models:\n  - {id: r, endpoint: sim, model: o3}\n",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "evals", "run", str(suite), "-r", str(runner), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "EVALS_HOME": str(tmp_path / ".evals")},
    )
    assert proc.returncode == 2, proc.stderr
    assert "suite 't' params: reasoning_effort 'minimal' is not accepted" in proc.stderr
    assert "o3 takes low, medium, high" in proc.stderr and "Traceback" not in proc.stderr


def test_logprobs_dropped_for_reasoning_models() -> None:
    asked = {"logprobs": True, "top_logprobs": 5, "max_tokens": 1}
    _, params, notes = adapt_request(MSGS, asked, capabilities_for("o4-mini"))
    assert "logprobs" not in params and "top_logprobs" not in params
    assert "logprobs and top_logprobs dropped: not supported by o4-mini" in notes
    _, params, notes = adapt_request(MSGS, asked, capabilities_for("gpt-4o-mini"))
    assert params == asked and not notes
    local = capabilities_for("my-local-model", {"logprobs": False})
    assert "logprobs" not in adapt_request(MSGS, asked, local)[1]
