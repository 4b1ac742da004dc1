"""Units of the promptfoo importer: the `__expected` shorthand (rules from promptfoo's
src/csv.ts), Nunjucks -> jinja2, provider -> runner mapping and assertion mapping."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from evals.config.expected import parse_expected
from evals.importers.context import Context
from evals.importers.nunjucks import convert
from evals.importers.pf_asserts import map_assertion
from evals.importers.providers import (
    ProviderSkip,
    map_provider,
    runner_profile,
    shared_params,
)

# ---- parse_expected ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("contains: foo", {"type": "contains", "value": "foo"}),
        ("equals:test", {"type": "equals", "value": "test"}),
        ("not-contains: x", {"type": "not-contains", "value": "x"}),
        ("icontains-any: a, b ,c", {"type": "icontains-any", "value": ["a", "b", "c"]}),
        ("contains-all:a,b", {"type": "contains-all", "value": ["a", "b"]}),
        ("similar(0.9): text", {"type": "similar", "value": "text", "threshold": 0.9}),
        ("similar: text", {"type": "similar", "value": "text", "threshold": 0.8}),
        ("starts-with: Hi", {"type": "starts-with", "value": "Hi", "threshold": 0.75}),
        ("rouge-n(0.6): ref", {"type": "rouge-n", "value": "ref", "threshold": 0.6}),
        ("latency(500)", {"type": "latency", "threshold": 500.0}),
        ("levenshtein(3): Hello", {"type": "levenshtein", "value": "Hello", "max_distance": 3}),
        ("grade: is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("llm-rubric: is polite", {"type": "llm-rubric", "value": "is polite"}),
        ("python: len(output) < 10", {"type": "python", "value": "len(output) < 10"}),
        ("file://check.py", {"type": "python", "value": "file://check.py"}),
        ("file://check.py:grade", {"type": "python", "value": "file://check.py:grade"}),
        ("regex: ^\\d+$", {"type": "regex", "value": "^\\d+$"}),
        ("is-json", {"type": "is-json"}),
        ("not-is-json", {"type": "not-is-json"}),
        ("contains-json: {\"type\": \"object\"}",
         {"type": "contains-json", "value": " {\"type\": \"object\"}"}),
        ("word-count(5): 10", {"type": "word-count", "value": "10"}),  # (5) ignored as promptfoo
        ("Paris", {"type": "equals", "value": "Paris"}),
        ("Answer: Paris", {"type": "equals", "value": "Answer: Paris"}),  # unknown prefix
        ("containsfoo", {"type": "equals", "value": "containsfoo"}),
        ("  contains: padded  ", {"type": "contains", "value": "padded"}),
    ],
)  # fmt: skip
def test_parse_expected(text: str, spec: dict) -> None:
    assert parse_expected(text) == spec


@pytest.mark.parametrize(
    "text", ["javascript: output.length > 3", "fn: output === 'a'", "eval: 1", "file://a.js:f"]
)
def test_parse_expected_refuses_javascript(text: str) -> None:
    with pytest.raises(ValueError, match="unsupported assertion type javascript"):
        parse_expected(text)


# ---- Nunjucks -> jinja2 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("nunjucks", "jinja"),
    [
        ("Hello {{ name }}!", "Hello {{ name }}!"),
        ("{{ items | dump }}", "{{ items | tojson }}"),
        ("{{ obj | dump(2) }}", "{{ obj | tojson(2) }}"),
        ("{% if a === 'x' %}y{% elseif a !== 'z' %}w{% endif %}",
         "{% if a == 'x' %}y{% elif a != 'z' %}w{% endif %}"),
        ("{% for m in msgs %}{{ loop.index }}: {{ m }}{% endfor %}",
         "{% for m in msgs %}{{ loop.index }}: {{ m }}{% endfor %}"),
        ("{{ name | default('x') | safe }}", "{{ name | default('x') | safe }}"),
        ("{{ items.length }} items", "{{ items | length }} items"),
        ("{{ name.toUpperCase() }}", "{{ name.upper() }}"),
        ("{% verbatim %}{{ raw }}{% endverbatim %}", "{% raw %}{{ raw }}{% endraw %}"),
        ("{% raw %}{{ x | dump }}{% endraw %}", "{% raw %}{{ x | dump }}{% endraw %}"),
    ],
)  # fmt: skip
def test_nunjucks_converts(nunjucks: str, jinja: str) -> None:
    result = convert(nunjucks)
    assert result.error is None
    assert result.text == jinja
    jinja2.Environment().parse(result.text)


def test_nunjucks_conversion_renders_like_nunjucks() -> None:
    result = convert("{{ data | dump }} {{ xs.length }}")
    rendered = jinja2.Environment().from_string(result.text).render(data={"a": 1}, xs=[1, 2])
    assert rendered == '{"a": 1} 2'


@pytest.mark.parametrize(
    ("nunjucks", "why"),
    [
        ("History: {{ _conversation }}", "special variable `_conversation`"),
        ("Key: {{ env.API_KEY }}", "special variable `env`"),
        ("{% if name.includes('a') %}x{% endif %}", "JavaScript method `.includes()`"),
        ("{{ text | replace(r/a+/g, 'b') }}", "regex literal"),
        ("{% if x %}unclosed", "not valid jinja2"),
    ],
)
def test_nunjucks_untranslatable(nunjucks: str, why: str) -> None:
    result = convert(nunjucks)
    assert result.error is not None and why in result.error


# ---- providers -------------------------------------------------------------------------


def test_openai_forms() -> None:
    for raw in ("openai:gpt-4o-mini", "openai:chat:gpt-4o-mini", {"id": "openai:gpt-4o-mini"},
                {"openai:gpt-4o-mini": {"config": {}}}):  # fmt: skip
        model = map_provider(raw)
        assert (model.label, model.model, model.endpoint.name) == (
            "gpt-4o-mini", "gpt-4o-mini", "openai"
        )  # fmt: skip
        assert model.endpoint.base_url == "https://api.openai.com/v1"
        assert model.endpoint.api_key_env == "OPENAI_API_KEY"


def test_config_params_label_and_custom_base_url() -> None:
    model = map_provider({
        "id": "openai:chat:qwen2.5",
        "label": "qwen local",
        "config": {"apiBaseUrl": "http://127.0.0.1:8001/v1/", "apiKeyEnvar": "MY_KEY",
                   "temperature": 0.2, "max_tokens": 64, "apiKey": "sk-secret", "foo": 1},
    })  # fmt: skip
    assert model.label == "qwen local"
    assert model.params == {"temperature": 0.2, "max_tokens": 64}
    assert model.endpoint.base_url == "http://127.0.0.1:8001/v1"
    assert model.endpoint.api_key_env == "MY_KEY"
    assert model.endpoint.kind is None
    assert [key for key, _ in model.dropped] == ["apiKey", "foo"]
    assert "sk-secret" not in repr(runner_profile([model], None))


@pytest.mark.parametrize(
    ("pid", "endpoint", "base_url", "key", "model"),
    [
        ("groq:llama-3.1-8b-instant", "groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY",
         "llama-3.1-8b-instant"),
        ("togetherai:meta-llama/Llama-3-8b", "together", "https://api.together.xyz/v1",
         "TOGETHER_API_KEY", "meta-llama/Llama-3-8b"),
        ("together:x", "together", "https://api.together.xyz/v1", "TOGETHER_API_KEY", "x"),
        ("fireworks:accounts/fireworks/models/llama-v3p1-8b-instruct", "fireworks",
         "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY",
         "accounts/fireworks/models/llama-v3p1-8b-instruct"),
        ("vllm:meta-llama/Llama-3-8b", "vllm", "http://localhost:8000/v1", None,
         "meta-llama/Llama-3-8b"),
        ("ollama:chat:llama3.2:3b", "ollama", "http://localhost:11434/v1", None, "llama3.2:3b"),
        ("ollama:llama3", "ollama", "http://localhost:11434/v1", None, "llama3"),
        ("localai:chat:vicuna", "localai", "http://localhost:8080/v1", None, "vicuna"),
    ],
)  # fmt: skip
def test_openai_compatible(pid, endpoint, base_url, key, model) -> None:
    mapped = map_provider(pid)
    assert (mapped.endpoint.name, mapped.endpoint.base_url, mapped.endpoint.api_key_env,
            mapped.model) == (endpoint, base_url, key, model)  # fmt: skip


def test_responses_api() -> None:
    model = map_provider("openai:responses:o3-pro")
    assert (model.model, model.api) == ("o3-pro", "responses")
    assert runner_profile([model], None)["models"] == [
        {"id": "o3-pro", "endpoint": "openai", "api": "responses"}
    ]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("anthropic:messages:claude-3-5-sonnet", "no OpenAI-compatible API"),
        ("vertex:gemini-pro", "no OpenAI-compatible API"),
        ("file://provider.js", "custom provider"),
        ("python:provider.py", "custom provider"),
        ("https://example.com/api", "HTTP provider"),
        ("openai:embedding:text-embedding-3-small", "not a chat model"),
        ("openai:completion:davinci-002", "completions API"),
        (42, "not a provider id"),
    ],
)
def test_providers_skipped(raw, why: str) -> None:
    with pytest.raises(ProviderSkip, match=why):
        map_provider(raw)


def test_params_go_to_the_suite_only_when_all_agree() -> None:
    same = [map_provider({"id": f"openai:{m}", "config": {"temperature": 0}}) for m in "ab"]
    assert shared_params(same) == {"temperature": 0}
    profile = runner_profile(same, shared_params(same))
    assert all("params" not in m for m in profile["models"])
    mixed = [*same, map_provider({"id": "openai:c", "config": {"temperature": 1}})]
    assert shared_params(mixed) is None
    profile = runner_profile(mixed, None)
    assert [m["params"] for m in profile["models"]] == [
        {"temperature": 0}, {"temperature": 0}, {"temperature": 1}
    ]  # fmt: skip


def test_duplicate_labels_get_unique_ids() -> None:
    models = [map_provider("openai:gpt-4o"), map_provider("openai:chat:gpt-4o")]
    assert [m["id"] for m in runner_profile(models, None)["models"]] == ["gpt-4o", "gpt-4o-2"]


# ---- assertions ---------------------------------------------------------------------------


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    config = tmp_path / "promptfooconfig.yaml"
    config.write_text("{}")
    return Context(config, tmp_path / "out")


@pytest.mark.parametrize(
    ("raw", "spec"),
    [
        ({"type": "levenshtein", "value": "x"},
         {"type": "levenshtein", "value": "x", "max_distance": 5}),
        ({"type": "similar", "value": "x"}, {"type": "similar", "value": "x", "threshold": 0.75}),
        ({"type": "similar:cosine", "value": "x", "threshold": 0.9},
         {"type": "similar", "value": "x", "threshold": 0.9}),
        ({"type": "model-graded-factuality", "value": "f"}, {"type": "factuality", "value": "f"}),
        ({"type": "not-regex", "value": "\\d", "weight": 0, "metric": "M"},
         {"type": "not-regex", "value": "\\d", "weight": 0, "metric": "M"}),
        ({"type": "cost", "threshold": 0.001}, {"type": "cost", "threshold": 0.001}),
        ({"type": "assert-set", "threshold": 0.5, "assert": [
            {"type": "contains", "value": "a"}, {"type": "contains", "value": "b"}]},
         {"type": "any", "graders": [{"type": "contains", "value": "a"},
                                     {"type": "contains", "value": "b"}]}),
    ],
)  # fmt: skip
def test_assertion_mapping(ctx: Context, raw: dict, spec: dict) -> None:
    assert map_assertion(raw, ctx, 3) == spec
    assert ctx.skipped == []


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({"type": "javascript", "value": "output.length"}, "JavaScript"),
        ({"type": "contains", "value": "a", "transform": "output.trim()"}, "`transform`"),
        ({"type": "perplexity", "threshold": 2}, "no grader of this type"),
        ({"type": "select-best", "value": "best"}, "compares outputs"),
        ({"type": "assert-set", "threshold": 0.7, "assert": [
            {"type": "contains", "value": "a"}, {"type": "contains", "value": "b"}]},
         "neither all nor any"),
        ({"type": "assert-set", "assert": [
            {"type": "contains", "value": "a"}, {"type": "javascript", "value": "1"}]},
         "not every assertion in it carries over"),
        ({"type": "python", "value": "file://missing.py"}, "does not exist"),
    ],
)  # fmt: skip
def test_assertions_skipped(ctx: Context, raw: dict, why: str) -> None:
    assert map_assertion(raw, ctx, 7) is None
    [skipped] = ctx.skipped
    assert skipped.line == 7 and why in skipped.why, skipped


def test_python_file_is_copied_and_text_value_inlined(ctx: Context) -> None:
    (ctx.base / "g.py").write_text("def f(o, c):\n    return True\n")
    (ctx.base / "rubric.txt").write_text("Be kind.")
    assert map_assertion({"type": "python", "value": "file://g.py:f"}, ctx, 1) == {
        "type": "python", "value": "file://g.py:f"
    }  # fmt: skip
    assert map_assertion({"type": "llm-rubric", "value": "file://rubric.txt"}, ctx, 2) == {
        "type": "llm-rubric", "value": "Be kind."
    }  # fmt: skip
    assert [p.name for p in ctx.write_copies()] == ["g.py"]
    assert (ctx.out / "g.py").is_file()


def test_provider_on_an_assertion_is_a_note(ctx: Context) -> None:
    spec = map_assertion({"type": "llm-rubric", "value": "ok", "provider": "openai:o3"}, ctx, 4)
    assert spec == {"type": "llm-rubric", "value": "ok"}
    [note] = ctx.skipped
    assert (note.what, note.line) == ("assertion llm-rubric: provider", 4)
    assert ctx.model_graded
