"""`evals sim` tool calling, structured output and judge behaviour, over real HTTP.

Expected values are worked out here from the documented rules (entities, token formulas,
overlap arithmetic), not read back from the simulator's helpers. Media surfaces (vision,
transcription, embeddings) are in test_sim_media.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
from openai import OpenAI

from tests.helpers import read_jsonl

CONFIG = """\
models:
  sim-perfect: {accuracy: 1.0}
  sim-wrong: {accuracy: 0.0}
  sim-half: {accuracy: 0.5}
  judge-garbage: {accuracy: 1.0, judge_garbage: true}
"""

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Local time in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
CONVERT = {
    "type": "function",
    "function": {
        "name": "convert_currency",
        "description": "Convert an amount of money",
        "parameters": {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "source": {"type": "string"},
                "target": {"type": "string"},
            },
            "required": ["amount", "source", "target"],
        },
    },
}
TOOLS = [WEATHER, TIME, CONVERT]
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "city": {"type": "string"},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}
VERDICT = {
    "type": "object",
    "properties": {"score": {"type": "number"}, "reason": {"type": "string"}},
    "required": ["score", "reason"],
    "additionalProperties": False,
}


def chat(client: OpenAI, model: str, text: str, **kw: Any) -> Any:
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}], **kw
    )


def calls_of(resp: Any) -> list[tuple[str, dict[str, Any]]]:
    return [
        (c.function.name, json.loads(c.function.arguments))
        for c in resp.choices[0].message.tool_calls or []
    ]


def tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def schema_format(schema: dict[str, Any], strict: bool, name: str = "out") -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": name, "schema": schema, "strict": strict},
    }


# ---------------------------------------------------------------- tool calls


def test_single_tool_call(client: OpenAI, paths: dict[str, Path]) -> None:
    text = "What's the weather in Paris?"
    resp = chat(client, "sim-perfect", text, tools=TOOLS)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert calls_of(resp) == [("get_weather", {"city": "Paris"})]
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.id.startswith("call_") and len(call.id) == 29
    assert call.function.arguments == '{"city":"Paris"}'
    assert resp.usage.prompt_tokens == 4 + tokens(text) + tokens(json.dumps(TOOLS))
    assert resp.usage.completion_tokens == tokens("get_weather") + tokens('{"city":"Paris"}')
    again = chat(client, "sim-perfect", text, tools=TOOLS)
    assert again.choices[0].message.tool_calls[0].id == call.id  # ids are deterministic
    line = [x for x in read_jsonl(paths["log"]) if x["request"] and x["request"].get("tools")][-1]
    assert line["tool_calls"] == [call.model_dump()] and line["response_text"] is None
    assert line["correct"] is True and line["images"] == 0


def test_parallel_calls_per_entity(client: OpenAI) -> None:
    text = "What's the weather in Paris and Tokyo in fahrenheit?"
    resp = chat(client, "sim-perfect", text, tools=TOOLS)
    assert calls_of(resp) == [
        ("get_weather", {"city": "Paris", "unit": "fahrenheit"}),
        ("get_weather", {"city": "Tokyo", "unit": "fahrenheit"}),
    ]
    ids = [c.id for c in resp.choices[0].message.tool_calls]
    assert len(set(ids)) == 2
    single = chat(client, "sim-perfect", text, tools=TOOLS, parallel_tool_calls=False)
    assert calls_of(single) == [("get_weather", {"city": "Paris", "unit": "fahrenheit"})]


def test_tied_tools_share_entities(client: OpenAI) -> None:
    resp = chat(
        client, "sim-perfect", "What is the weather in Paris and the time in Tokyo?", tools=TOOLS
    )
    assert calls_of(resp) == [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Tokyo"})]
    money = chat(client, "sim-perfect", "Please convert 250 USD to EUR.", tools=TOOLS)
    assert calls_of(money) == [
        ("convert_currency", {"amount": 250, "source": "USD", "target": "EUR"})
    ]


def test_tool_choice(client: OpenAI) -> None:
    text = "What's the weather in Paris?"
    forced = {"type": "function", "function": {"name": "get_time"}}
    resp = chat(client, "sim-perfect", text, tools=TOOLS, tool_choice=forced)
    assert calls_of(resp) == [("get_time", {"city": "Paris"})]
    none = chat(client, "sim-perfect", "What is 2 + 3?", tools=TOOLS, tool_choice="none")
    assert none.choices[0].message.content == "5" and not none.choices[0].message.tool_calls
    plain = chat(client, "sim-perfect", "What is 2 + 3?", tools=TOOLS)
    assert plain.choices[0].message.content == "5" and plain.choices[0].finish_reason == "stop"
    required = chat(client, "sim-perfect", "Tell me a joke.", tools=TOOLS, tool_choice="required")
    assert calls_of(required) == [("get_weather", {"city": ""})]
    with pytest.raises(openai.BadRequestError, match="only allowed when 'tools'"):
        chat(client, "sim-perfect", text, tool_choice="auto")
    missing = {"type": "function", "function": {"name": "nope"}}
    with pytest.raises(openai.BadRequestError) as err:
        chat(client, "sim-perfect", text, tools=TOOLS, tool_choice=missing)
    assert err.value.param == "tool_choice"


def test_wrong_answer_corrupts_one_argument(client: OpenAI) -> None:
    for text in ("What's the weather in Paris?", "Please convert 250 USD to EUR."):
        right = dict(calls_of(chat(client, "sim-perfect", text, tools=TOOLS)))
        wrong = dict(calls_of(chat(client, "sim-wrong", text, tools=TOOLS)))
        assert right.keys() == wrong.keys()
        (name,) = right
        diff = [k for k in right[name] if right[name][k] != wrong[name][k]]
        assert len(diff) == 1
        before, after = right[name][diff[0]], wrong[name][diff[0]]
        assert after == (before + 1 if isinstance(before, int) else before + before[-1])


def test_accuracy_rate_for_tool_calls(client: OpenAI) -> None:
    cities = [f"City{chr(65 + i)}{chr(97 + j)}" for i in range(10) for j in range(10)]
    right = 0
    for city in cities:
        (call,) = calls_of(chat(client, "sim-half", f"What's the weather in {city}?", tools=TOOLS))
        right += call[1] == {"city": city}
    assert 35 <= right <= 65


def multi_step(client: OpenAI, results: dict[str, str], swap: bool = False) -> Any:
    first = [{"role": "user", "content": "What's the weather in Paris and Tokyo?"}]
    resp = client.chat.completions.create(model="sim-perfect", messages=first, tools=TOOLS)
    message = resp.choices[0].message
    calls = message.tool_calls
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Tokyo"]
    ids = [c.id for c in calls][::-1] if swap else [c.id for c in calls]
    tool_msgs = [
        {"role": "tool", "tool_call_id": call_id, "content": results[city]}
        for call_id, city in zip(ids, ["Paris", "Tokyo"], strict=True)
    ]
    messages = [*first, message.model_dump(exclude_none=True), *tool_msgs]
    return client.chat.completions.create(model="sim-perfect", messages=messages, tools=TOOLS)


def test_multi_step_results_in_call_order(client: OpenAI) -> None:
    results = {"Paris": "Paris 18C", "Tokyo": "Tokyo 25C"}
    final = multi_step(client, results)
    assert final.choices[0].message.content == "Result: Paris 18C; Tokyo 25C"
    assert final.choices[0].finish_reason == "stop"
    # results attached to the wrong tool_call ids come back visibly reordered
    swapped = multi_step(client, results, swap=True)
    assert swapped.choices[0].message.content == "Result: Tokyo 25C; Paris 18C"


def test_missing_tool_result_is_400(client: OpenAI) -> None:
    first = [{"role": "user", "content": "What's the weather in Paris and Tokyo?"}]
    message = (
        client.chat.completions.create(model="sim-perfect", messages=first, tools=TOOLS)
        .choices[0]
        .message
    )
    second_id = message.tool_calls[1].id
    partial = [
        *first,
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "18C"},
    ]
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="sim-perfect", messages=partial, tools=TOOLS)
    assert "must be followed by tool messages" in err.value.message
    assert second_id in err.value.message and err.value.param == "messages.[1].role"
    stray = [*first, {"role": "tool", "tool_call_id": "call_x", "content": "18C"}]
    with pytest.raises(openai.BadRequestError, match="must be a response to a preceeding"):
        client.chat.completions.create(model="sim-perfect", messages=stray, tools=TOOLS)


def test_streamed_tool_call_deltas(client: OpenAI) -> None:
    text = "What's the weather in Paris and Tokyo?"
    plain = chat(client, "sim-perfect", text, tools=TOOLS)
    chunks = list(
        chat(
            client,
            "sim-perfect",
            text,
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].usage == plain.usage and chunks[-2].choices[0].finish_reason == "tool_calls"
    built: dict[int, dict[str, Any]] = {}
    arg_pieces: dict[int, int] = {}
    for chunk in chunks[:-1]:
        for delta in chunk.choices[0].delta.tool_calls or []:
            slot = built.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
            if delta.id:
                slot["id"] = delta.id
                slot["name"] = delta.function.name
            if delta.function.arguments:
                slot["arguments"] += delta.function.arguments
                arg_pieces[delta.index] = arg_pieces.get(delta.index, 0) + 1
    expect = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in plain.choices[0].message.tool_calls
    ]
    assert [built[i] for i in sorted(built)] == expect
    assert arg_pieces == {0: 2, 1: 2}


# ---------------------------------------------------------------- structured output


def test_json_schema_fills_from_message(client: OpenAI) -> None:
    text = "Extract: Alice is 30 and lives in Berlin."
    resp = chat(client, "sim-perfect", text, response_format=schema_format(PERSON, True))
    content = resp.choices[0].message.content
    assert json.loads(content) == {"name": "Alice", "age": 30, "city": "Berlin"}
    assert content == '{"name":"Alice","age":30,"city":"Berlin"}'
    fmt = schema_format(PERSON, True)
    assert resp.usage.prompt_tokens == 4 + tokens(text) + tokens(json.dumps(fmt["json_schema"]))
    assert resp.usage.completion_tokens == tokens(content)


def test_json_schema_task_answer_and_nesting(client: OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "answer": {"type": "number"},
            "meta": {
                "type": "object",
                "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
                "required": ["tags"],
                "additionalProperties": False,
            },
        },
        "required": ["reasoning", "answer", "meta"],
        "additionalProperties": False,
    }
    right = json.loads(
        chat(client, "sim-perfect", "What is 12 + 7?", response_format=schema_format(schema, True))
        .choices[0]
        .message.content
    )
    jsonschema.validate(right, schema)
    assert right["answer"] == 19 and right["meta"] == {"tags": [""]}
    wrong = json.loads(
        chat(client, "sim-wrong", "What is 12 + 7?", response_format=schema_format(schema, True))
        .choices[0]
        .message.content
    )
    jsonschema.validate(wrong, schema)  # strict: still conforms ...
    assert wrong["answer"] in (18, 20)  # ... but the value is wrong


def test_wrong_answers_strict_vs_not(client: OpenAI) -> None:
    texts = [
        f"Extract: {n} is {a} and lives in {c}."
        for n, a, c in [("Alice", 30, "Berlin"), ("Bob", 41, "Rome"), ("Carol", 25, "Oslo")]
    ]
    for text in texts:
        strict = json.loads(
            chat(client, "sim-wrong", text, response_format=schema_format(PERSON, True))
            .choices[0]
            .message.content
        )
        jsonschema.validate(strict, PERSON)
        right = json.loads(
            chat(client, "sim-perfect", text, response_format=schema_format(PERSON, True))
            .choices[0]
            .message.content
        )
        assert sum(strict[k] != right[k] for k in right) == 1
        loose = json.loads(
            chat(client, "sim-wrong", text, response_format=schema_format(PERSON, False))
            .choices[0]
            .message.content
        )
        with pytest.raises(jsonschema.ValidationError, match="is a required property"):
            jsonschema.validate(loose, PERSON)
        assert len(loose) == 2 and all(loose[k] == right[k] for k in loose)


def test_json_object(client: OpenAI) -> None:
    resp = chat(
        client,
        "sim-perfect",
        "What is 12 + 7? Reply in JSON.",
        response_format={"type": "json_object"},
    )
    assert json.loads(resp.choices[0].message.content) == {"answer": 19}
    echo = chat(
        client,
        "sim-perfect",
        "Repeat: hi there\nAnswer as JSON.",
        response_format={"type": "json_object"},
    )
    assert json.loads(echo.choices[0].message.content) == {"answer": "hi there"}
    with pytest.raises(openai.BadRequestError, match="must contain the word 'json'"):
        chat(client, "sim-perfect", "What is 1 + 1?", response_format={"type": "json_object"})


def test_strict_schema_rules(client: OpenAI) -> None:
    open_schema = {**PERSON, "additionalProperties": True}
    with pytest.raises(openai.BadRequestError, match="'additionalProperties' is required"):
        chat(client, "sim-perfect", "x", response_format=schema_format(open_schema, True))
    partial = {**PERSON, "required": ["name"]}
    with pytest.raises(openai.BadRequestError, match="Missing 'age'"):
        chat(client, "sim-perfect", "x", response_format=schema_format(partial, True))
    ok = chat(
        client, "sim-perfect", "Extract: Bob is 4.", response_format=schema_format(partial, False)
    )
    assert json.loads(ok.choices[0].message.content) == {"name": "Bob", "age": 4, "city": ""}
    with pytest.raises(openai.BadRequestError) as err:
        chat(
            client,
            "sim-perfect",
            "x",
            response_format={"type": "json_schema", "json_schema": {"schema": PERSON}},
        )
    assert err.value.param == "response_format.json_schema.name"


# ---------------------------------------------------------------- judge


def judge(client: OpenAI, model: str, body: str, schema: dict[str, Any] = VERDICT) -> str:
    resp = chat(
        client,
        model,
        f"Grade the answer.\n{body}",
        response_format=schema_format(schema, True, "verdict"),
    )
    return resp.choices[0].message.content


def test_judge_overlap_score(client: OpenAI) -> None:
    body = (
        "<answer>Paris is the capital of France.</answer>\n"
        "<expected>The capital of France is Lyon</expected>"
    )
    verdict = json.loads(judge(client, "sim-perfect", body))
    # reference words: the capital of france is lyon -> 5 of 6 found
    assert verdict["score"] == round(5 / 6, 2) == 0.83
    assert verdict["reason"].startswith("5 of 6") and "lyon" in verdict["reason"]
    assert json.loads(judge(client, "sim-wrong", body)) == verdict  # accuracy does not apply
    rubric = json.loads(
        judge(client, "sim-perfect", "<answer>It is sunny</answer><rubric>mentions rain</rubric>")
    )
    assert rubric["score"] == 0.0
    scale = {
        **VERDICT,
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "reason": {"type": "string"},
        },
    }
    scaled = json.loads(judge(client, "sim-perfect", body, scale))
    assert scaled["score"] == round(1 + 0.83 * 4) == 4


def test_judge_garbage(client: OpenAI) -> None:
    body = "<answer>Paris</answer><expected>Paris</expected>"
    assert judge(client, "judge-garbage", body) == "I think it is fine"
    assert json.loads(judge(client, "sim-perfect", body))["score"] == 1.0
    plain = chat(client, "judge-garbage", "What is 2 + 2?")
    assert plain.choices[0].message.content == "4"  # garbage only when acting as a judge
