"""Every issue-4 reference suite over real HTTP against `evals sim`.

Figures are recomputed here from the sim's request log (what it was sent and
answered) or by asking the sim directly, never copied from the harness.
"""

from __future__ import annotations

import json
import math
import re
import wave
from pathlib import Path

import jsonschema
import pytest

from evals.sim.server import start_in_thread
from tests.helpers import REPO, chat_log, evals_cli, read_jsonl, stored_results, write

REF = REPO / "suites" / "reference"
SUITES = [
    "tools",
    "structured",
    "vision",
    "rubric",
    "similarity",
    "custom",
    "transcription",
    "embeddings",
]
SIM = """\
models:
  perfect: {accuracy: 1.0}
  weak: {accuracy: 0.5}
  judge: {accuracy: 1.0}
  garbage-judge: {accuracy: 1.0, judge_garbage: true}
  emb-small: {embedding_dimensions: 512, embedding_noise: 0.3}
  emb-large: {embedding_dimensions: 1024, embedding_noise: 0.1}
  ears: {kind: transcription, accuracy: 1.0}
"""
PRICES = {
    "perfect": (0.15, 0.60),
    "weak": (0.05, 0.20),
    "judge": (2.50, 10.0),
    "emb-small": (0.02, None),
    "emb-large": (0.13, None),
}


def _runner(base_url: str, judge: str = "judge") -> str:
    lines = [
        f'endpoints:\n  sim: {{base_url: "{base_url}", max_concurrency: 8}}',
        "models:",
        "  - {id: perfect, endpoint: sim}",
        "  - {id: weak, endpoint: sim}",
        "  - {id: emb-small, endpoint: sim, kind: embeddings}",
        "  - {id: emb-large, endpoint: sim, kind: embeddings}",
        "  - {id: ears, endpoint: sim, kind: transcription}",
        f"judge: {{id: judge, endpoint: sim, model: {judge}}}",
        "embedder: {id: embedder, endpoint: sim, model: emb-large}",
        "pricing:",
    ]
    for model, (inp, out) in PRICES.items():
        lines.append(f"  {model}: {{input: {inp}" + (f", output: {out}}}" if out else "}"))
    lines.append("  embedder: {input: 0.13}")
    lines.append("  ears: {audio_per_minute: 0.006}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("surfaces")
    config = write(tmp / "sim.yaml", SIM)
    with start_in_thread(config_path=str(config), log_path=str(tmp / "sim.jsonl")) as sim:
        runner = write(tmp / "r.yaml", _runner(sim.base_url))
        result = evals_cli(
            tmp,
            "run",
            *(str(REF / f"{name}.yaml") for name in SUITES),
            "-r",
            str(runner),
            "--summary-json",
            "s.json",
        )
        assert result.returncode == 0, result.stderr
        vectors = _direct_embeddings(sim.base_url)
    summary = json.loads((tmp / "s.json").read_text())
    rows = {(r["suite"], r["prompt"], r["model"]): r for r in summary["rows"]}
    return tmp, rows, stored_results(tmp), read_jsonl(tmp / "sim.jsonl"), vectors


def _direct_embeddings(base_url: str) -> dict:
    """Ask the sim for the corpus and query vectors ourselves (for recall/MRR by hand)."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="x", max_retries=0)
    corpus = read_jsonl(REPO / "suites/data/retrieval/corpus.jsonl")
    queries = read_jsonl(REPO / "suites/data/retrieval/queries.jsonl")
    out = {}
    for model in ("emb-small", "emb-large"):
        for dims in (16, 256):

            def embed(texts, model=model, dims=dims):
                data = client.embeddings.create(model=model, input=texts, dimensions=dims).data
                return [d.embedding for d in data]

            out[(model, dims)] = (
                [d["id"] for d in corpus],
                embed([d["text"] for d in corpus]),
                [(q["id"], q["expect"]) for q in queries],
                embed([q["vars"]["query"] for q in queries]),
            )
    return out


def _results(results, suite: str, model: str):
    return {r["case_id"]: r for r in results if r["suite"] == suite and r["model"] == model}


def _chat_cost(entries, model: str) -> float:
    inp, out = PRICES[model]
    return sum(
        (e["usage"]["prompt_tokens"] * inp + e["usage"]["completion_tokens"] * out) / 1e6
        for e in entries
    )


def test_tool_calls_single_parallel_and_multi_step(run) -> None:
    _, rows, results, log, _ = run
    expected = {  # by hand, from suites/reference/tools.yaml
        "single": [("get_weather", "paris")],
        "other-tool": [("get_time", "lima")],
        "parallel": [("get_weather", "paris"), ("get_weather", "tokyo")],
        "multi-step": [("get_weather", "oslo")],
    }
    for model in ("perfect", "weak"):
        stored = _results(results, "ref-tools", model)
        for case_id, calls in expected.items():
            made = json.loads(stored[case_id]["tool_calls"] or "[]")
            got = sorted(
                (
                    c["function"]["name"],
                    json.loads(c["function"]["arguments"]).get("city", "").lower(),
                )
                for c in made
            )
            ok = got == sorted(calls)
            if case_id == "multi-step":
                ok = ok and "snow" in (stored[case_id]["output"] or "")
            assert bool(stored[case_id]["passed"]) == ok, (model, case_id, got)
    assert rows[("ref-tools", "default", "perfect")]["passed"] == 4
    # the multi-step case sent the canned result back, answered to the model's call id
    follow_ups = [
        e
        for e in chat_log_entries(log)
        if any(m["role"] == "tool" for m in e["request"]["messages"])
    ]
    assert follow_ups
    for entry in follow_ups:
        messages = entry["request"]["messages"]
        call_ids = [c["id"] for c in messages[-2]["tool_calls"]]
        assert [messages[-1]["tool_call_id"]] == call_ids
        assert json.loads(messages[-1]["content"]) == {"temperature_c": -3, "sky": "snow"}


def chat_log_entries(log):
    return [e for e in log if e["path"].endswith("/chat/completions") and e["status"] == 200]


def test_structured_output_and_field_graders(run) -> None:
    _, _, results, log, _ = run
    schema = json.loads((REPO / "suites/data/person.schema.json").read_text())
    sent = [
        e
        for e in chat_log_entries(log)
        if e["request"].get("response_format", {}).get("json_schema", {}).get("name") == "person"
    ]
    assert sent and all(
        e["request"]["response_format"]["json_schema"]["schema"] == schema
        and e["request"]["response_format"]["json_schema"]["strict"] is True
        for e in sent
    )
    checks = {"ada": ("city", "London", 1815), "alan": ("name", "Alan", 1948)}
    for model in ("perfect", "weak"):
        for case_id, (field, value, year) in checks.items():
            result = _results(results, "ref-structured", model)[case_id]
            answer = json.loads(result["output"])
            try:
                jsonschema.validate(answer, schema)
                valid = True
            except jsonschema.ValidationError:
                valid = False
            ok = valid and answer.get(field) == value and answer.get("year") == year
            assert bool(result["passed"]) == ok, (model, case_id, answer)


def test_vision_sends_images_as_data_urls(run) -> None:
    _, rows, results, log, _ = run
    vision = [
        e
        for e in chat_log_entries(log)
        if isinstance(e["request"]["messages"][-1]["content"], list)
    ]
    assert len(vision) == 4
    for entry in vision:
        parts = entry["request"]["messages"][-1]["content"]
        image = next(p for p in parts if p["type"] == "image_url")["image_url"]
        assert image["url"].startswith("data:image/png;base64,") and image["detail"] == "low"
    for model in ("perfect", "weak"):
        stored = _results(results, "ref-vision", model)
        for case_id, words in {
            "red-square": ("red", "square"),
            "blue-circle": ("blue", "circle"),
        }.items():
            output = stored[case_id]["output"].lower()
            assert bool(stored[case_id]["passed"]) == all(w in output for w in words)


def test_model_graded_cost_is_separate(run) -> None:
    _, rows, results, log, _ = run
    chats = chat_log_entries(log)
    judge_calls = [e for e in chats if e["model"] == "judge"]
    assert judge_calls  # the judge was asked, through the engine
    for model in ("perfect", "weak"):
        row = rows[("ref-rubric", "default", model)]
        candidate = [
            e
            for e in chats
            if e["model"] == model
            and str(e["request"]["messages"][-1]["content"]).startswith("Repeat: ")
            and any(s in e["request"]["messages"][-1]["content"] for s in ("France", "boils"))
        ]
        assert row["cost_usd"] == pytest.approx(_chat_cost(candidate, model), rel=1e-9)
        # each result books the judge calls made about its answer (a call replayed from
        # the cache for another model's identical answer is booked at its original cost)
        expected = 0.0
        for answer in (e["response_text"] for e in candidate):
            about = {
                e["body_sha256"]: e
                for e in judge_calls
                if f"<answer>\n{answer}\n</answer>" in e["request"]["messages"][-1]["content"]
            }
            assert len(about) == 2  # closedqa and llm_rubric
            expected += _chat_cost(about.values(), "judge")
        assert row["grader_cost_usd"] == pytest.approx(expected, rel=1e-9)
        assert row["grader_cost_usd"] > 0
    assert rows[("ref-rubric", "default", "perfect")]["passed"] == 2


def test_similarity_graders_use_the_embedder(run) -> None:
    _, rows, results, log, _ = run
    embeds = [e for e in log if e["path"].endswith("/embeddings") and e["model"] == "emb-large"]
    row = rows[("ref-similarity", "default", "perfect")]
    assert row["grader_cost_usd"] > 0
    stored = _results(results, "ref-similarity", "perfect")
    # `same` and `near-spelling` echo exactly: similar passes; levenshtein by hand below
    assert stored["same"]["passed"]
    a, b = "colour of the sky", "color of the sky"
    distance = 1  # one deleted "u"
    assert (1 - distance / max(len(a), len(b))) >= 0.8 and stored["near-spelling"]["passed"]
    assert embeds


def test_custom_and_composite_graders(run) -> None:
    _, rows, results, _, _ = run
    stored = _results(results, "ref-custom", "perfect")
    # perfect answers "...\nAnswer: 6" etc.: all groups pass; odd-sum is negated-python on 5
    assert all(stored[c]["passed"] for c in ("even", "odd-sum", "any-form")), {
        c: json.loads(r["grades"]) for c, r in stored.items()
    }


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s]", "", text.lower()).split()


def test_transcription_wer_and_cost_per_minute(run) -> None:
    _, rows, results, log, _ = run
    row = rows[("ref-transcription", "default", "ears")]
    seconds = 0.0
    for name in ("metoprolol.wav", "room42.wav", "fox.wav"):
        with wave.open(str(REPO / "suites/data/media" / name)) as audio:
            seconds += audio.getnframes() / audio.getframerate()
    assert row["cost_usd"] == pytest.approx(seconds / 60 * 0.006, rel=1e-9)
    assert row["audio_seconds"] == pytest.approx(seconds)
    sent = [e for e in log if e["path"].endswith("/audio/transcriptions")]
    assert len(sent) == 3
    assert row["passed"] == 3  # accuracy 1.0: the exact transcripts


def test_embeddings_recall_and_mrr_match_a_direct_computation(run) -> None:
    _, rows, _, _, vectors = run
    for (model, dims), (doc_ids, docs, queries, query_vectors) in vectors.items():
        recall_1 = recall_3 = rr = 0.0
        for (_qid, relevant), q in zip(queries, query_vectors, strict=True):
            scores = [
                sum(a * b for a, b in zip(q, d, strict=True))
                / (math.dist(q, [0] * len(q)) * math.dist(d, [0] * len(d)))
                for d in docs
            ]
            order = [doc_ids[i] for i in sorted(range(len(docs)), key=lambda i: -scores[i])]
            recall_1 += len(set(relevant) & set(order[:1])) / len(relevant)
            recall_3 += len(set(relevant) & set(order[:3])) / len(relevant)
            first = next(i for i, d in enumerate(order, 1) if d in relevant)
            rr += 1 / first
        n = len(queries)
        row = rows[("ref-embeddings", f"dims-{dims}", model)]
        assert row["recall_at_k"]["1"] == pytest.approx(recall_1 / n)
        assert row["recall_at_k"]["3"] == pytest.approx(recall_3 / n)
        assert row["mrr"] == pytest.approx(rr / n)
        assert row["cost_per_1m_tokens"] == pytest.approx(PRICES[model][0])
    small = rows[("ref-embeddings", "dims-16", "emb-small")]
    large = rows[("ref-embeddings", "dims-256", "emb-large")]
    assert large["mrr"] >= small["mrr"]


def test_a_garbage_judge_is_a_grader_error_and_the_run_goes_on(tmp_path: Path) -> None:
    config = write(tmp_path / "sim.yaml", SIM)
    with start_in_thread(config_path=str(config), log_path=str(tmp_path / "sim.jsonl")) as sim:
        runner = write(tmp_path / "r.yaml", _runner(sim.base_url, judge="garbage-judge"))
        result = evals_cli(
            tmp_path,
            "run",
            str(REF / "rubric.yaml"),
            "-r",
            str(runner),
            "-m",
            "perfect",
            "--summary-json",
            "s.json",
        )
    assert result.returncode == 0, result.stderr
    row = json.loads((tmp_path / "s.json").read_text())["rows"][0]
    assert row["errors"] == row["samples"] == 2
    for stored in stored_results(tmp_path):
        assert stored["error_class"] == "grader" and "no verdict" in stored["error"]
    assert len(chat_log(tmp_path / "sim.jsonl")) >= 2


def test_a_grader_that_raises_is_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    write(
        tmp_path / "mygraders.py", "def boom(output, ctx):\n    raise KeyError('no such thing')\n"
    )
    suite = write(
        tmp_path / "s.yaml",
        'name: boom\nprompt: "Repeat: {{ x }}"\n'
        "cases: [{vars: {x: a}, expect: a}, {vars: {x: b}, expect: b}]\n"
        'graders: [{type: exact}, {type: python, value: "mygraders:boom"}]\n',
    )
    with start_in_thread() as sim:
        runner = write(
            tmp_path / "r.yaml",
            f'endpoints:\n  sim: {{base_url: "{sim.base_url}"}}\n'
            "models:\n  - {id: sim-perfect, endpoint: sim}\n",
        )
        result = evals_cli(tmp_path, "run", str(suite), "-r", str(runner))
    assert result.returncode == 0, result.stderr
    stored = stored_results(tmp_path)
    assert len(stored) == 2
    for row in stored:
        assert row["error_class"] == "grader" and "KeyError" in row["error"]
        assert row["output"] is not None  # the answer is kept


def test_report_shows_grader_cost_and_retrieval_in_the_browser(run) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import chromium

    tmp, rows, _, _, _ = run
    [html] = list((tmp / "reports").glob("*/index.html"))
    with chromium() as driver:
        driver.get(html.as_uri())
        seen = []
        for tr in driver.find_elements(By.CSS_SELECTOR, "table.comparison tbody tr"):
            key = (
                tr.get_attribute("data-suite"),
                tr.get_attribute("data-prompt"),
                tr.get_attribute("data-model"),
            )
            seen.append(key)
            section = tr.find_element(By.XPATH, "ancestor::section[1]")
            assert section.get_attribute("data-suite") == key[0], key  # in its suite's table
            cell = tr.find_element(By.CSS_SELECTOR, "td.grader-cost").text
            if rows[key]["grader_cost_usd"]:
                assert cell.startswith("$") and cell != "$0.00", (key, cell)
            if rows[key].get("mrr") is not None:  # embeddings rows show recall@k and MRR
                text = tr.find_element(By.CSS_SELECTOR, ".retrieval").text
                assert f"MRR {rows[key]['mrr']:.2f}" in text, (key, text)
                assert f"R@1 {rows[key]['recall_at_k']['1']:.2f}" in text, (key, text)
        assert sorted(seen) == sorted(rows)  # every row, once
