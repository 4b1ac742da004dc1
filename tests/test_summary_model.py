"""The typed summary writes the summary JSON contract: keys, their order and null-ness."""

from __future__ import annotations

import json
from pathlib import Path

from evals.report.model import ErrorKind, Summary, SummaryRow
from evals.report.summary import build_summary
from evals.report.writer import write_report
from evals.store import ResultRecord, open_store

ROW_KEYS = [
    "suite", "prompt", "model", "cases", "samples", "errors", "passed", "accuracy", "ci_low",
    "ci_high", "ci_method", "mean_score", "latency_p50_s", "latency_p95_s", "ttft_p50_s",
    "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_usd",
    "grader_cost_usd", "spend_usd", "cache_hits", "retries", "backoff_s", "ttft_p95_s",
    "tokens_per_s_p50", "repeats", "audio_seconds", "samples_without_usage",
    # added by the decisions work (issue 7)
    "clustered", "mean_score_ci_low", "mean_score_ci_high", "mean_score_ci_method", "mde",
    "mde_basis",
]  # fmt: skip
REPEAT_KEYS = [
    "pass_at_1", "pass_at_k", "consistency", "pass_at_k_cases", "cases_short", "variance",
]  # fmt: skip
RETRIEVAL_KEYS = ["recall_at_k", "mrr", "cost_per_1m_tokens"]
TOP_KEYS = [
    "run_id", "suites", "started_at", "finished_at", "complete", "rows", "spend_usd",
    "stopped_reason", "warnings",
]  # fmt: skip


def _row(**optional) -> SummaryRow:
    values = dict.fromkeys(ROW_KEYS)
    values.update(suite="s", prompt="p", model="m", ci_method="wilson", clustered=False)
    return SummaryRow(**values, **optional)


def test_optional_row_keys_appear_only_with_their_group() -> None:
    assert list(_row().to_json()) == ROW_KEYS
    kinds = [ErrorKind("timeout", 2, "timed out")]
    data = _row(error_kinds=kinds, pass_at_k_cases=0, recall_at_k={}).to_json()
    assert list(data) == [*ROW_KEYS, "error_kinds", *REPEAT_KEYS, *RETRIEVAL_KEYS]
    assert data["error_kinds"] == [{"kind": "timeout", "count": 2, "example": "timed out"}]
    assert data["pass_at_1"] is None and data["mrr"] is None  # present, and null


def test_optional_top_level_keys() -> None:
    summary = Summary("r1", ["s"], "t0", None, False, [], 0.0, None)
    assert list(summary.to_json()) == TOP_KEYS
    summary.prices_as_of, summary.prices = "2026-01-01", []
    summary.suite_fingerprints = {"s": "ab"}
    assert list(summary.to_json()) == [*TOP_KEYS, "prices_as_of", "prices", "suite_fingerprints"]


def _record(case_id: str, repeat: int, suite: str, **fields) -> ResultRecord:
    values = {
        "run_id": "r1", "suite": suite, "case_id": case_id, "prompt": "p", "model": "m",
        "repeat": repeat, "request_hash": f"{suite}{case_id}{repeat}", "request": "{}",
        "vars": "{}", "expect": "1", "output": "1", "tool_calls": None, "finish_reason": "stop",
        "prompt_tokens": 4, "cached_tokens": 0, "completion_tokens": 1, "reasoning_tokens": 0,
        "latency_s": 0.25, "cost_usd": 0.5, "error": None, "error_class": None, "attempts": 1,
        "passed": True, "score": 1.0, "created_at": "t",
        "grades": json.dumps([{"type": "recall@3", "passed": True, "score": 1.0}]),
    }  # fmt: skip
    return ResultRecord(**{**values, **fields})


def test_build_summary_from_a_store(tmp_path: Path) -> None:
    store = open_store(tmp_path / "evals.sqlite")
    config = {"suite_kinds": {"emb": "embeddings"}, "suite_fingerprints": {"chat": "f00d"}}
    store.start_run("r1", ["chat", "emb"], "t0", config)
    store.add_result(_record("c1", 0, "chat"))
    store.add_result(_record("c1", 1, "chat", error="boom", passed=None, error_class="server"))
    store.add_result(_record("q1", 0, "emb"))
    store.finish_run("r1", "t1", True)
    summary = build_summary(store, "r1")
    chat, emb = summary.rows
    assert (chat.samples, chat.errors, chat.passed, chat.accuracy) == (2, 1, 1, 1.0)
    assert chat.error_kinds == [ErrorKind("server", 1, "boom")] and chat.pass_at_k_cases == 0
    assert emb.recall_at_k == {"3": 1.0} and emb.cost_per_1m_tokens == 0.5 / 4 * 1e6
    data = summary.to_json()
    assert list(data) == [*TOP_KEYS, "suite_fingerprints", "per_suite"]
    assert data["suite_fingerprints"] == {"chat": "f00d"}
    assert list(data["rows"][0]) == [*ROW_KEYS, "error_kinds", *REPEAT_KEYS]
    assert list(data["rows"][1]) == [*ROW_KEYS, *RETRIEVAL_KEYS]

    returned = write_report(store, "r1", tmp_path / "out")
    written = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert written == returned.to_json() == json.loads(json.dumps(data))
    store.close()
