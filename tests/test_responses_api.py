"""`api: responses` on a model: the Responses API over real HTTP against `evals sim`.

Every figure is recomputed here from the sim's request log (what it was sent and what
usage it answered with) and the prices written in the runner profile, never copied
from the harness.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from evals.sim.server import start_in_thread
from tests.helpers import evals_cli, read_jsonl, stored_results, write

SIM = """\
models:
  resp-good: {accuracy: 0.7}
  resp-perfect: {accuracy: 1.0}
  resp-weak: {accuracy: 0.5}
  o3-pro: {accuracy: 0.9, reasoning: true, reasoning_tokens: 64, cache: true}
  streamer: {accuracy: 0.8, latency_ms: 30, tokens_per_s: 400}
"""
PRICES = {  # USD per 1M tokens: input, cached input, output
    "resp-good": (0.40, 0.10, 1.60),
    "resp-perfect": (0.40, 0.10, 1.60),
    "resp-weak": (0.10, 0.025, 0.40),
    "o3-pro": (20.0, 5.0, 80.0),
    "streamer": (0.40, 0.10, 1.60),
}
SYSTEM = "Reply with the number only."
ARITH = (
    f"""\
name: arith
prompt:
  - {{role: system, content: "{SYSTEM}"}}
  - {{role: user, content: "What is {{{{ a }}}} + {{{{ b }}}}?"}}
params: {{max_tokens: 300, temperature: 0}}
cases:
"""
    + "".join(
        f"  - {{id: c{i}, vars: {{a: {a}, b: {b}}}, expect: '{a + b}'}}\n"
        for i, (a, b) in enumerate(
            [(2, 3), (12, 30), (7, 8), (41, 1), (19, 23), (5, 5), (60, 7), (3, 9)]
        )
    )
    + "graders: [{type: exact}]\n"
)
TOOLS = """\
name: tools
prompt:
  - {role: system, content: "Use the tools to answer the question."}
  - {role: user, content: "{{ question }}"}
params: {max_tokens: 200, temperature: 0}
tools:
  - type: function
    function:
      name: get_weather
      description: The current weather in a city.
      parameters:
        type: object
        properties: {city: {type: string, description: "City name, e.g. Paris"}}
        required: [city]
  - type: function
    function:
      name: get_time
      description: The local time in a city.
      parameters: {type: object, properties: {city: {type: string}}, required: [city]}
cases:
  - id: single
    vars: {question: "What is the weather in Paris?"}
    expect_tool_calls: [{name: get_weather, arguments: {city: Paris}}]
  - id: other-tool
    vars: {question: "What is the time in Lima?"}
    expect_tool_calls: [{name: get_time, arguments: {city: Lima}}]
  - id: parallel
    vars: {question: "What is the weather in Paris and Tokyo?"}
    expect_tool_calls:
      - {name: get_weather, arguments: {city: Tokyo}}
      - {name: get_weather, arguments: {city: Paris}}
  - id: multi-step
    vars: {question: "What is the weather in Oslo?"}
    expect_tool_calls: [{name: get_weather, arguments: {city: Oslo}}]
    tool_results: {get_weather: {temperature_c: -3, sky: snow}}
    graders: [{type: contains, value: snow}]
graders: [{type: tool_calls}]
"""
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "city": {"type": "string"},
                   "year": {"type": "integer"}},
    "required": ["name", "city", "year"],
    "additionalProperties": False,
}  # fmt: skip
STRUCTURED = f"""\
name: structured
prompt: "Extract the person, their city and the year from: {{{{ text }}}}"
params: {{max_tokens: 100, temperature: 0}}
response_format: {{type: json_schema, name: person, strict: true, schema: {json.dumps(SCHEMA)}}}
cases:
  - id: ada
    vars: {{text: "Ada was born in London in 1815."}}
    expect: 1815
    graders: [{{type: exact, field: city, value: London}}]
  - id: alan
    vars: {{text: "Alan moved to Manchester in 1948."}}
    expect: 1948
    graders: [{{type: exact, field: name, value: Alan}}]
  - id: grace
    vars: {{text: "Grace worked in Arlington in 1952."}}
    expect: 1952
    graders: [{{type: exact, field: city, value: Arlington}}]
graders:
  - {{type: json_schema, schema: {json.dumps(SCHEMA)}}}
  - {{type: numeric, field: year}}
"""


def _runner(base_url: str, models: list[str]) -> str:
    lines = [f'endpoints:\n  sim: {{base_url: "{base_url}", max_concurrency: 4}}', "models:"]
    lines += [f"  - {m}" for m in models]
    lines.append("pricing:")
    for model, (inp, cached, out) in PRICES.items():
        lines.append(f"  {model}: {{input: {inp}, cached_input: {cached}, output: {out}}}")
    return "\n".join(lines) + "\n"


RESPONSES_MODELS = [
    "{id: resp-good, endpoint: sim, api: responses}",
    "{id: o3-pro, endpoint: sim, api: responses, params: {reasoning_effort: high}}",
    "{id: streamer, endpoint: sim, api: responses, stream: true}",
]


def _log(tmp: Path, model: str | None = None) -> list[dict]:
    entries = [e for e in read_jsonl(tmp / "sim.jsonl") if e["path"] != "/v1/models"]
    return [e for e in entries if model is None or e["model"] == model]


def _cost(entries: list[dict], model: str) -> float:
    """(input - cached) * input + cached * cached_input + output * output, per 1M tokens."""
    inp, cached_rate, out = PRICES[model]
    total = 0.0
    for e in entries:
        usage = e["usage"]
        cached = usage["input_tokens_details"]["cached_tokens"]
        total += (usage["input_tokens"] - cached) * inp + cached * cached_rate
        total += usage["output_tokens"] * out  # reasoning tokens are inside output_tokens
    return total / 1e6


@pytest.fixture(scope="module")
def arith_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("responses")
    config = write(tmp / "sim.yaml", SIM)
    suite = write(tmp / "arith.yaml", ARITH)
    with start_in_thread(config_path=str(config), log_path=str(tmp / "sim.jsonl")) as sim:
        runner = write(tmp / "r.yaml", _runner(sim.base_url, RESPONSES_MODELS))
        args = ("run", str(suite), "-r", str(runner), "--summary-json")
        first = evals_cli(tmp, *args, "s1.json")
        assert first.returncode == 0, first.stderr
        sent_first = len(_log(tmp))
        second = evals_cli(tmp, *args, "s2.json")
        assert second.returncode == 0, second.stderr
    summary = json.loads((tmp / "s1.json").read_text())
    rows = {r["model"]: r for r in summary["rows"]}
    replay = {r["model"]: r for r in json.loads((tmp / "s2.json").read_text())["rows"]}
    return tmp, rows, replay, sent_first


def test_plain_run_scores_and_counts_tokens_as_the_sim_logged(arith_run) -> None:
    tmp, rows, _, sent_first = arith_run
    log = _log(tmp)
    assert len(log) == sent_first == 3 * 8
    assert {e["path"] for e in log} == {"/v1/responses"}  # never /v1/chat/completions
    assert all(e["status"] == 200 for e in log)
    for model in ("resp-good", "o3-pro", "streamer"):
        entries = _log(tmp, model)
        row = rows[model]
        assert row["samples"] == 8 and row["errors"] == 0
        assert row["passed"] == sum(bool(e["correct"]) for e in entries)
        assert row["prompt_tokens"] == sum(e["usage"]["input_tokens"] for e in entries)
        assert row["completion_tokens"] == sum(e["usage"]["output_tokens"] for e in entries)
        assert row["cached_tokens"] == sum(
            e["usage"]["input_tokens_details"]["cached_tokens"] for e in entries
        )
        assert row["reasoning_tokens"] == sum(
            e["usage"]["output_tokens_details"]["reasoning_tokens"] for e in entries
        )
    # the answers stored are the output_text the sim sent
    fresh = [r for r in stored_results(tmp) if not r["cache_hit"]]
    for model in ("resp-good", "o3-pro", "streamer"):
        outputs = sorted(r["output"] for r in fresh if r["model"] == model)
        assert outputs == sorted(e["response_text"] for e in _log(tmp, model))


def test_reasoning_tokens_are_counted_and_priced(arith_run) -> None:
    tmp, rows, _, _ = arith_run
    entries = _log(tmp, "o3-pro")
    # 64 hidden tokens at medium; reasoning: {effort: high} doubles them (the sim's rule)
    assert all(e["usage"]["output_tokens_details"]["reasoning_tokens"] == 128 for e in entries)
    assert rows["o3-pro"]["reasoning_tokens"] == 8 * 128
    assert rows["o3-pro"]["cached_tokens"] > 0
    for model in ("resp-good", "o3-pro", "streamer"):
        assert rows[model]["cost_usd"] == pytest.approx(_cost(_log(tmp, model), model), rel=1e-9)


def test_the_sim_received_responses_requests(arith_run) -> None:
    tmp, _, _, _ = arith_run
    for e in _log(tmp):
        request = e["request"]
        assert "messages" not in request and "max_tokens" not in request
        assert request["instructions"] == SYSTEM  # the system message
        assert len(request["input"]) == 1
        item = request["input"][0]
        assert item["role"] == "user" and item["content"].startswith("What is ")
        assert request["max_output_tokens"] == 300
    for e in _log(tmp, "o3-pro"):
        # o3-pro's family rules still apply: temperature dropped; the effort is translated
        assert e["request"]["reasoning"] == {"effort": "high"}
        assert "temperature" not in e["request"] and "reasoning_effort" not in e["request"]
    for e in _log(tmp, "resp-good"):
        assert e["request"]["temperature"] == 0 and "reasoning" not in e["request"]
        assert e["stream"] is False


def test_streamed_run_records_time_to_first_token(arith_run) -> None:
    tmp, rows, _, _ = arith_run
    entries = _log(tmp, "streamer")
    assert entries and all(e["stream"] and e["request"]["stream"] is True for e in entries)
    row = rows["streamer"]
    # the sim waits 30 ms before the first byte: the first token cannot come sooner
    assert 0.03 <= row["ttft_p50_s"] <= row["latency_p50_s"]
    assert row["tokens_per_s_p50"] is not None and row["tokens_per_s_p50"] > 0
    stored = [r for r in stored_results(tmp) if r["model"] == "streamer" and not r["cache_hit"]]
    assert len(stored) == 8 and all(r["ttft_s"] >= 0.03 for r in stored)
    assert rows["resp-good"]["ttft_p50_s"] is None  # not streamed


def test_second_run_replays_from_the_cache(arith_run) -> None:
    tmp, rows, replay, sent_first = arith_run
    assert len(_log(tmp)) == sent_first  # the second run sent nothing
    second = [r for r in stored_results(tmp) if r["cache_hit"]]
    assert len(second) == 3 * 8
    for model, row in rows.items():
        for key in ("passed", "prompt_tokens", "completion_tokens", "reasoning_tokens"):
            assert replay[model][key] == row[key], (model, key)


def test_a_responses_answer_never_replays_for_chat(arith_run, tmp_path: Path) -> None:
    from evals.run.plan import request_hash

    body = {"model": "m", "input": [{"role": "user", "content": "hi"}]}
    assert request_hash("u", body, 0) != request_hash("u", body, 0, api="responses")
    # the same model sent to chat completions after a responses run is sent, not replayed
    tmp, _, _, _ = arith_run
    shutil.copytree(tmp / ".evals", tmp_path / ".evals")
    config = write(tmp_path / "sim.yaml", SIM)
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(
            tmp_path / "r.yaml", _runner(sim.base_url, ["{id: resp-good, endpoint: sim}"])
        )
        result = evals_cli(tmp_path, "run", str(tmp / "arith.yaml"), "-r", str(runner))
    assert result.returncode == 0, result.stderr
    assert [e["path"] for e in _log(tmp_path)] == ["/v1/chat/completions"] * 8


@pytest.fixture(scope="module")
def surfaces_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("responses-surfaces")
    config = write(tmp / "sim.yaml", SIM)
    suites = [write(tmp / "tools.yaml", TOOLS), write(tmp / "structured.yaml", STRUCTURED)]
    models = [
        "{id: resp-perfect, endpoint: sim, api: responses}",
        "{id: resp-weak, endpoint: sim, api: responses}",
        "{id: resp-weak-stream, model: resp-weak, endpoint: sim, api: responses, stream: true}",
    ]
    with start_in_thread(config_path=str(config), log_path=str(tmp / "sim.jsonl")) as sim:
        runner = write(tmp / "r.yaml", _runner(sim.base_url, models))
        result = evals_cli(
            tmp, "run", *map(str, suites), "-r", str(runner), "--summary-json", "s.json"
        )
        assert result.returncode in (0, 1), result.stderr
    summary = json.loads((tmp / "s.json").read_text())
    rows = {(r["suite"], r["model"]): r for r in summary["rows"]}
    return tmp, rows, stored_results(tmp)


def _by_case(results, suite: str, model: str) -> dict:
    return {r["case_id"]: r for r in results if r["suite"] == suite and r["model"] == model}


def test_tool_calls_are_graded_as_on_chat_completions(surfaces_run) -> None:
    tmp, rows, results = surfaces_run
    log = _log(tmp)
    expected = {
        "single": [("get_weather", "paris")],
        "other-tool": [("get_time", "lima")],
        "parallel": [("get_weather", "paris"), ("get_weather", "tokyo")],
        "multi-step": [("get_weather", "oslo")],
    }
    sent_calls = {c["id"]: c for e in log for c in e["tool_calls"] or []}
    for model in ("resp-perfect", "resp-weak", "resp-weak-stream"):
        stored = _by_case(results, "tools", model)
        for case_id, calls in expected.items():
            made = json.loads(stored[case_id]["tool_calls"] or "[]")
            for call in made:  # the chat shape, ids being the sim's call_id
                assert set(call) == {"id", "type", "function"} and call["type"] == "function"
                assert sent_calls[call["id"]]["function"] == call["function"]
            got = sorted(
                (c["function"]["name"], json.loads(c["function"]["arguments"])["city"].lower())
                for c in made
            )
            ok = got == sorted(calls)
            if case_id == "multi-step":
                ok = ok and "snow" in (stored[case_id]["output"] or "")
            assert bool(stored[case_id]["passed"]) == ok, (model, case_id, got)
    assert rows[("tools", "resp-perfect")]["passed"] == 4
    # what the sim was sent: Responses tools, and the multi-step follow-up as input items
    tool_requests = [e["request"] for e in log if "tools" in e["request"]]
    for request in tool_requests:
        assert request["instructions"] == "Use the tools to answer the question."
        assert request["tools"][0] == {
            "type": "function",
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
                "required": ["city"],
            },
        }
    follow_ups = [r for r in tool_requests if len(r["input"]) > 1]
    assert len(follow_ups) == 3  # one per model
    for request in follow_ups:
        user, call, output = request["input"]
        assert user["content"] == "What is the weather in Oslo?"
        assert call["type"] == "function_call" and call["name"] == "get_weather"
        assert output == {
            "type": "function_call_output",
            "call_id": call["call_id"],
            "output": json.dumps({"temperature_c": -3, "sky": "snow"}),
        }
    # a multi-step conversation costs both requests, priced from the logged usage
    for model in ("resp-perfect", "resp-weak"):
        entries = [e for e in log if e["model"] == model and "tools" in e["request"]]
        entries = [e for e in entries if e["stream"] is (model == "resp-weak-stream")]
        row = rows[("tools", model)]
        assert row["prompt_tokens"] == sum(e["usage"]["input_tokens"] for e in entries)
        assert row["cost_usd"] == pytest.approx(_cost(entries, model), rel=1e-9)


def test_structured_output_is_graded_as_on_chat_completions(surfaces_run) -> None:
    tmp, rows, results = surfaces_run
    sent = [e for e in _log(tmp) if "text" in e["request"]]
    assert sent
    for e in sent:
        assert "response_format" not in e["request"]
        assert e["request"]["text"] == {
            "format": {"type": "json_schema", "name": "person", "schema": SCHEMA, "strict": True}
        }
    checks = {
        "ada": ("city", "London", 1815),
        "alan": ("name", "Alan", 1948),
        "grace": ("city", "Arlington", 1952),
    }
    for model in ("resp-perfect", "resp-weak", "resp-weak-stream"):
        for case_id, (field, value, year) in checks.items():
            result = _by_case(results, "structured", model)[case_id]
            answer = json.loads(result["output"])
            try:
                jsonschema.validate(answer, SCHEMA)
                valid = True
            except jsonschema.ValidationError:
                valid = False
            ok = valid and answer.get(field) == value and answer.get("year") == year
            assert bool(result["passed"]) == ok, (model, case_id, answer)
    assert rows[("structured", "resp-perfect")]["passed"] == 3


def test_o3_pro_without_api_responses_is_refused_before_sending(tmp_path: Path) -> None:
    config = write(tmp_path / "sim.yaml", SIM)
    suite = write(tmp_path / "arith.yaml", ARITH)
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        bad = write(tmp_path / "bad.yaml", _runner(sim.base_url, ["{id: o3-pro, endpoint: sim}"]))
        good = write(tmp_path / "good.yaml", _runner(sim.base_url, [RESPONSES_MODELS[1]]))
        checked = evals_cli(tmp_path, "validate", str(bad))
        ran = evals_cli(tmp_path, "run", str(suite), "-r", str(bad))
        fine = evals_cli(tmp_path, "validate", str(good))
    for result in (checked, ran):
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "o3-pro" in result.stderr and "Responses API only" in result.stderr
        assert "set `api: responses`" in result.stderr
        assert "bad.yaml" in result.stderr
    assert fine.returncode == 0, fine.stderr
    assert not (tmp_path / "sim.jsonl").exists() or _log(tmp_path) == []


RUBRIC = """\
name: rubric
prompt: "Repeat: {{ statement }}"
params: {max_tokens: 64, temperature: 0}
cases:
  - id: capital
    vars: {statement: "The capital of France is Paris."}
    expect: "The capital of France is Paris."
graders:
  - {type: llm_rubric, rubric: "The answer restates the statement.", threshold: 0.5}
"""


def test_a_judge_can_use_the_responses_api(tmp_path: Path) -> None:
    config = write(tmp_path / "sim.yaml", SIM)
    suite = write(tmp_path / "rubric.yaml", RUBRIC)
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        text = _runner(sim.base_url, ["{id: resp-perfect, endpoint: sim, api: responses}"])
        text += "judge: {id: judge, endpoint: sim, model: resp-good, api: responses}\n"
        runner = write(tmp_path / "r.yaml", text)
        result = evals_cli(
            tmp_path, "run", str(suite), "-r", str(runner), "--summary-json", "s.json"
        )
    assert result.returncode == 0, result.stderr
    judged = _log(tmp_path, "resp-good")
    assert len(judged) == 1 and judged[0]["path"] == "/v1/responses"
    fmt = judged[0]["request"]["text"]["format"]
    assert fmt["type"] == "json_schema" and {"score", "reason"} <= set(fmt["schema"]["properties"])
    [row] = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert row["passed"] == 1
    assert row["grader_cost_usd"] == pytest.approx(_cost(judged, "resp-good"), rel=1e-9)


def test_translation_of_parts_formats_and_dropped_parameters() -> None:
    from evals.endpoints.responses import to_responses

    body = {
        "model": "m",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "system", "content": [{"type": "text", "text": "Answer in JSON."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
                ],
            },
        ],
        "max_completion_tokens": 50,
        "response_format": {"type": "json_object"},
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "stop": ["\n"],
        "seed": 1,
        "top_p": 0.5,
    }
    out, notes = to_responses(body)
    assert out == {
        "model": "m",
        "instructions": "Be brief.\n\nAnswer in JSON.",
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {
                        "type": "input_image",
                        "image_url": "data:image/png;base64,AA",
                        "detail": "auto",
                    },
                ],
            }
        ],
        "max_output_tokens": 50,
        "text": {"format": {"type": "json_object"}},
        "tool_choice": {"type": "function", "name": "f"},
        "top_p": 0.5,
    }
    assert notes == [
        "stop dropped: the Responses API has no such parameter",
        "seed dropped: the Responses API has no such parameter",
    ]
    assert body["messages"][0]["role"] == "developer"  # the input is not mutated


def test_logprobs_and_the_output_token_minimum_are_translated() -> None:
    from evals.endpoints.responses import to_responses

    body = {"model": "m", "messages": [], "max_tokens": 1, "logprobs": True, "top_logprobs": 3}
    out, notes = to_responses(body)
    assert out["include"] == ["message.output_text.logprobs"] and out["top_logprobs"] == 3
    assert out["max_output_tokens"] == 16 and "logprobs" not in out
    assert notes == ["max_output_tokens raised from 1 to 16: the Responses API's minimum"]
    out, notes = to_responses({"model": "m", "messages": [], "max_tokens": 16, "top_logprobs": 3})
    assert out["max_output_tokens"] == 16 and "top_logprobs" not in out and "include" not in out
    assert notes == ["top_logprobs dropped: logprobs is not true"]


def test_cut_streams_and_server_errors_are_retried(tmp_path: Path) -> None:
    config = write(
        tmp_path / "sim.yaml",
        "models:\n"
        "  cut: {accuracy: 1.0, faults: [{kind: stream_cut, rate: 1.0, times: 1}]}\n"
        "  flaky: {accuracy: 1.0, faults: [{kind: '500', rate: 1.0, times: 1}]}\n",
    )
    suite = write(tmp_path / "arith.yaml", ARITH)
    models = [
        "{id: cut, endpoint: sim, api: responses, stream: true}",
        "{id: flaky, endpoint: sim, api: responses}",
    ]
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        text = f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\nmodels:\n'
        runner = write(tmp_path / "r.yaml", text + "".join(f"  - {m}\n" for m in models))
        result = evals_cli(
            tmp_path, "run", str(suite), "-r", str(runner), "--summary-json", "s.json"
        )
    assert result.returncode == 0, result.stderr
    log = _log(tmp_path)
    assert {e["fault"] for e in log} == {"stream_cut", "500", None}
    stored = stored_results(tmp_path)
    assert len(stored) == 16 and all(r["error"] is None and r["attempts"] == 2 for r in stored)
    assert all(r["passed"] for r in stored)
