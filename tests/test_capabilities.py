"""Capabilities table and request adaptation."""

from __future__ import annotations

import copy

import pytest

from evals.endpoints.capabilities import (
    Capabilities,
    adapt_request,
    capabilities_for,
    known_families,
)

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
