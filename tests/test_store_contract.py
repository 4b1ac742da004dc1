"""The behaviour every store backend must show (evals.store.base.ResultStore).

Each test runs once per backend (SQLite, and PostgreSQL on a throwaway server started
by the test session: tests/pg.py); a new backend adds a name to BACKENDS and a branch
to `_open`, and must pass everything here unchanged. The
expected numbers are computed by hand from the rows each test writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evals.store import ResponseCache, ResultRecord, ResultRow, ResultStore, open_store

BACKENDS = ["sqlite", "postgres"]


def _open(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> ResultStore:
    if name == "sqlite":
        return open_store(tmp_path / "evals.sqlite")
    if name == "postgres":  # a fresh database of the session's throwaway server
        return open_store(request.getfixturevalue("pg_url"))
    raise AssertionError(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResultStore]:
    store = _open(request.param, request, tmp_path)
    try:
        yield store
    finally:
        store.close()


def record(case_id: str = "c1", repeat: int = 0, **fields: Any) -> ResultRecord:
    """A successful, passing sample of run r1, group (s, p, m), unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "run_id": "r1",
        "suite": "s",
        "case_id": case_id,
        "prompt": "p",
        "model": "m",
        "repeat": repeat,
        "request_hash": f"h-{case_id}-{repeat}",
        "request": json.dumps({"messages": [{"role": "user", "content": case_id}]}),
        "vars": json.dumps({"a": 1}),
        "expect": json.dumps("42"),
        "output": "42",
        "tool_calls": None,
        "finish_reason": "stop",
        "prompt_tokens": 10,
        "cached_tokens": 0,
        "completion_tokens": 2,
        "reasoning_tokens": 0,
        "latency_s": 0.5,
        "cost_usd": 0.001,
        "error": None,
        "error_class": None,
        "attempts": 1,
        "passed": True,
        "score": 1.0,
        "grades": json.dumps([{"type": "exact", "passed": True, "score": 1.0, "reason": ""}]),
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    values.update(fields)
    return ResultRecord(**values)


def failed(case_id: str, repeat: int = 0, **fields: Any) -> ResultRecord:
    """A sample whose request failed: no answer, no verdict."""
    base = {"error": "HTTP 500", "error_class": "server", "passed": None, "score": None}
    return record(case_id, repeat, output=None, cost_usd=None, **{**base, **fields})


def start(store: ResultStore, run_id: str = "r1", started_at: str = "2026-01-01T00:00:00") -> None:
    store.start_run(run_id, ["s"], started_at, {"argv": ["run"], "suite_kinds": {"s": "chat"}})


def test_the_backend_implements_the_protocols(backend: ResultStore) -> None:
    assert isinstance(backend, ResultStore)
    assert isinstance(backend.cache, ResponseCache)


# --------------------------------------------------------------------------- runs


def test_start_and_finish_a_run(backend: ResultStore) -> None:
    backend.start_run("r1", ["a", "b"], "2026-01-01T00:00:00", {"argv": ["x"], "n": 1})
    run = backend.run("r1")
    assert run is not None
    assert run["suites"] == ["a", "b"] and run["config"] == {"argv": ["x"], "n": 1}
    assert run["complete"] is False and run["finished_at"] is None
    assert run["planned"] is None and run["stopped_reason"] is None

    backend.set_planned("r1", 12)
    backend.finish_run("r1", "2026-01-01T00:05:00", False, "budget")
    run = backend.run("r1")
    assert run["planned"] == 12 and run["finished_at"] == "2026-01-01T00:05:00"
    assert run["complete"] is False and run["stopped_reason"] == "budget"

    backend.finish_run("r1", "2026-01-01T00:09:00", True)
    run = backend.run("r1")
    assert run["complete"] is True and run["stopped_reason"] is None
    assert backend.run("nope") is None


def test_runs_are_listed_newest_first(backend: ResultStore) -> None:
    assert backend.runs() == [] and backend.latest_run_id() is None
    start(backend, "r-old", "2026-01-01T00:00:00")
    start(backend, "r-b", "2026-01-02T00:00:00")
    start(backend, "r-a", "2026-01-02T00:00:00")  # same start: the larger id comes first
    backend.add_result(record(run_id="r-a"))
    backend.add_result(record("c2", run_id="r-a"))
    runs = backend.runs()
    assert [run["run_id"] for run in runs] == ["r-b", "r-a", "r-old"]
    assert [run["results"] for run in runs] == [0, 2, 0]
    assert backend.latest_run_id() == "r-b"


def test_batch_state_is_kept_per_run(backend: ResultStore) -> None:
    from evals.store import BatchState

    start(backend)
    start(backend, "r2")
    assert backend.batches("r1") == []
    first = BatchState("r1", 1, "sample", "e", "m", "/v1/chat/completions", "/f1", 3, 90)
    second = BatchState("r1", 2, "judge", "e", "j", "/v1/chat/completions", "/f2", 1, 30, round=1)
    backend.add_batch(second)
    backend.add_batch(first)
    backend.add_batch(BatchState("r2", 1, "sample", "e", "m", "/v1/responses", "/g", 5, 50))
    backend.update_batch("r1", 1, file_id="file-1", state="uploaded", reserved_usd=0.25)
    backend.update_batch("r1", 1, batch_id="b-1", state="submitted", status="in_progress")
    got = backend.batches("r1")
    assert [b.batch_no for b in got] == [1, 2]  # by number, whatever the insertion order
    one = got[0]
    assert (one.file_id, one.batch_id, one.state, one.status) == (
        "file-1",
        "b-1",
        "submitted",
        "in_progress",
    )
    assert one.reserved_usd == 0.25 and one.requests == 3 and one.bytes == 90
    assert got[1] == second  # untouched fields come back as written
    assert [b.url for b in backend.batches("r2")] == ["/v1/responses"]
    with pytest.raises(KeyError):
        backend.update_batch("r1", 1, no_such_field=1)


def test_result_state_says_what_a_stored_sample_holds(backend: ResultStore) -> None:
    start(backend)
    backend.add_result(record("ok"))
    backend.add_result(failed("down", error_class="server:500"))
    backend.add_result(record("waiting", error="later", error_class="ungraded", passed=None))
    backend.add_result(failed("odd", error_class=None))
    states = {
        case: backend.result_state("r1", "s", case, "p", "m", 0)
        for case in ("ok", "down", "waiting", "odd", "absent")
    }
    assert states == {
        "ok": "ok",
        "down": "server:500",
        "waiting": "ungraded",
        "odd": "error",
        "absent": None,
    }


def test_batch_columns_are_summed_per_group(backend: ResultStore) -> None:
    start(backend)
    backend.add_result(record("a", via="batch", cost_usd=0.5, online_cost_usd=1.0))
    backend.add_result(record("b", via="file", cost_usd=0.25, online_cost_usd=0.5))
    backend.add_result(record("c", cost_usd=0.125))  # online: it cost what it cost online
    (group,) = backend.groups("r1")
    assert group.batch_samples == 2
    assert group.online_cost_usd == pytest.approx(1.0 + 0.5 + 0.125)
    assert [row.via for row in backend.results("r1")] == ["batch", "file", None]


def test_unfinished_runs_of_exactly_these_suites(backend: ResultStore) -> None:
    backend.start_run("r1", ["a", "b"], "2026-01-01T00:00:00", {})
    backend.start_run("r2", ["b", "a"], "2026-01-02T00:00:00", {})
    backend.start_run("r3", ["a"], "2026-01-03T00:00:00", {})
    backend.start_run("r4", ["a", "b"], "2026-01-04T00:00:00", {})
    backend.finish_run("r4", "2026-01-04T00:01:00", True)
    assert [run["run_id"] for run in backend.unfinished_runs(["b", "a"])] == ["r2", "r1"]
    assert [run["run_id"] for run in backend.unfinished_runs(["a"])] == ["r3"]
    assert backend.unfinished_runs(["c"]) == []


# --------------------------------------------------------------------------- writing


def test_a_result_and_its_cache_entry_are_stored_together(backend: ResultStore) -> None:
    start(backend)
    backend.add_result(record("c1"), '{"output": "42"}')
    backend.add_result(record("c2"))
    assert backend.cache.get("h-c1-0") == '{"output": "42"}'
    assert backend.cache.get("h-c2-0") is None
    assert backend.count_results("r1") == 2


def test_a_result_that_cannot_be_stored_leaves_no_cache_entry(backend: ResultStore) -> None:
    start(backend)
    with pytest.raises(Exception):  # noqa: B017  (each backend raises its own error)
        backend.add_result(record("c1", request=None), '{"output": "42"}')  # request: NOT NULL
    assert backend.cache.get("h-c1-0") is None
    assert backend.count_results("r1") == 0
    backend.add_result(record("c1"), '{"output": "42"}')  # the store still works
    assert backend.cache.get("h-c1-0") == '{"output": "42"}'


def test_a_result_with_the_same_key_replaces_the_old_one(backend: ResultStore) -> None:
    start(backend)
    backend.add_result(failed("c1"))
    assert not backend.has_result("r1", "s", "c1", "p", "m", 0)
    backend.add_result(record("c1", output="retried"))
    assert backend.count_results("r1") == 1
    assert backend.has_result("r1", "s", "c1", "p", "m", 0)
    assert [row.output for row in backend.results("r1")] == ["retried"]


def test_has_result_counts_only_results_without_an_error(backend: ResultStore) -> None:
    start(backend)
    backend.add_result(record("ok"))
    backend.add_result(failed("http"))
    backend.add_result(record("graded", error="grader error: bad regex", error_class="grader"))
    assert backend.has_result("r1", "s", "ok", "p", "m", 0)
    assert not backend.has_result("r1", "s", "http", "p", "m", 0)
    assert not backend.has_result("r1", "s", "graded", "p", "m", 0)  # resume grades it again
    assert not backend.has_result("r1", "s", "ok", "p", "m", 1)  # another repeat
    assert not backend.has_result("r1", "s", "ok", "p", "other", 0)
    assert not backend.has_result("r2", "s", "ok", "p", "m", 0)


def test_the_response_cache(backend: ResultStore) -> None:
    cache = backend.cache
    assert cache.get("k") is None
    cache.put("k", '{"a": 1}')
    assert cache.get("k") == '{"a": 1}'
    cache.put("k", '{"a": 2}')  # a newer answer replaces the old one
    assert cache.get("k") == '{"a": 2}'


# --------------------------------------------------------------------------- reading


def _one_group(store: ResultStore) -> None:
    """Group (s, p, m) of run r1: four samples (one failed) and one corpus row."""
    start(store)
    store.add_result(
        record(
            "c1",
            0,
            prompt_tokens=10,
            cached_tokens=2,
            completion_tokens=5,
            reasoning_tokens=1,
            cost_usd=0.01,
            spend_usd=0.01,
            latency_s=0.1,
            backoff_s=0.0,
            grader_cost_usd=0.001,
        )
    )
    store.add_result(
        record(
            "c1",
            1,
            passed=False,
            score=0.0,
            prompt_tokens=20,
            completion_tokens=6,
            cost_usd=0.02,
            spend_usd=0.0,
            cache_hit=True,
            latency_s=0.3,
            attempts=3,
            backoff_s=1.5,
        )
    )
    store.add_result(
        failed(
            "c2",
            0,
            error="timeout after 30s",
            error_class="timeout",
            prompt_tokens=None,
            cached_tokens=None,
            completion_tokens=None,
            reasoning_tokens=None,
            latency_s=9.0,
            attempts=2,
            backoff_s=0.5,
        )
    )
    store.add_result(
        record(
            "c2",
            1,
            score=0.5,
            prompt_tokens=30,
            cached_tokens=4,
            completion_tokens=7,
            reasoning_tokens=2,
            cost_usd=0.03,
            spend_usd=0.03,
            latency_s=0.2,
            grader_cost_usd=None,
        )
    )
    store.add_result(
        record(
            "__corpus__",
            role="corpus",
            passed=None,
            score=None,
            grades="[]",
            prompt_tokens=100,
            cached_tokens=None,
            completion_tokens=None,
            reasoning_tokens=None,
            cost_usd=0.05,
            spend_usd=0.05,
            latency_s=None,
        )
    )


def test_counts(backend: ResultStore) -> None:
    _one_group(backend)
    backend.add_result(record("g", error="grader error: x", error_class="grader", passed=None))
    backend.add_result(record("c9", model="m2"))
    assert backend.count_results("r1") == 6  # samples only: the corpus row is not one
    assert backend.count_results("r1", errors=False) == 4
    assert backend.count_answered("r1") == 5  # a grader error still had an answer
    assert backend.count_group("r1", "s", "p", "m") == 3
    assert backend.count_group("r1", "s", "p", "m2") == 1
    assert backend.count_model_results("r1", "m") == 3
    assert backend.count_results("r2") == 0


def test_spent_sums_every_role(backend: ResultStore) -> None:
    assert backend.spent("r1") == 0.0  # nothing stored yet
    _one_group(backend)
    assert backend.spent("r1") == pytest.approx(0.01 + 0.0 + 0.03 + 0.05)


def test_group_sums(backend: ResultStore) -> None:
    _one_group(backend)
    backend.add_result(record("c1", model="a-model", cost_usd=None, audio_s=4.0))
    groups = backend.groups("r1")
    assert [(g.suite, g.prompt, g.model) for g in groups] == [
        ("s", "p", "a-model"),
        ("s", "p", "m"),
    ]
    other, group = groups
    assert (group.cases, group.samples, group.errors, group.passed) == (2, 4, 1, 2)
    assert group.mean_score == pytest.approx((1.0 + 0.0 + 0.5) / 3)
    assert group.prompt_tokens == 10 + 20 + 30 + 100  # the corpus row's tokens count
    assert group.cached_tokens == 2 + 0 + 4
    assert group.completion_tokens == 5 + 6 + 7
    assert group.reasoning_tokens == 1 + 0 + 2
    assert group.cost_usd == pytest.approx(0.01 + 0.02 + 0.03 + 0.05)
    assert group.unpriced == 0 and group.no_usage == 0
    assert group.spend_usd == pytest.approx(0.01 + 0.0 + 0.03 + 0.05)
    assert group.cache_hits == 1
    assert group.retries == 2 + 1  # attempts beyond the first
    assert group.backoff_s == pytest.approx(0.0 + 1.5 + 0.5)
    assert group.grader_cost_usd == pytest.approx(0.001)
    assert group.grader_unpriced == 1  # c2/1 succeeded with an unknown grader cost
    assert group.audio_s is None
    assert group.repeats == 2
    assert (other.samples, other.errors, other.unpriced, other.audio_s) == (1, 0, 1, 4.0)
    assert other.repeats == 1 and other.passed == 1


def test_group_sums_of_a_group_of_errors(backend: ResultStore) -> None:
    start(backend)
    backend.add_result(failed("c1", prompt_tokens=None, cached_tokens=None))
    [group] = backend.groups("r1")
    assert (group.samples, group.errors, group.passed, group.mean_score) == (1, 1, 0, None)
    assert group.cost_usd is None and group.spend_usd is None and group.unpriced == 0


def test_timing_percentiles(backend: ResultStore) -> None:
    _one_group(backend)
    # error-free latencies 0.1, 0.3, 0.2 (the failed sample's 9.0 is left out), sorted:
    # [0.1, 0.2, 0.3]; p95 sits at position 2 * 0.95 = 1.9: 0.2 + 0.9 * (0.3 - 0.2)
    pct = backend.timing_percentile
    assert pct("r1", "s", "p", "m", "latency_s", 50) == pytest.approx(0.2)
    assert pct("r1", "s", "p", "m", "latency_s", 95) == pytest.approx(0.29)
    assert pct("r1", "s", "p", "m", "latency_s", 0) == pytest.approx(0.1)
    assert pct("r1", "s", "p", "m", "latency_s", 100) == pytest.approx(0.3)
    assert pct("r1", "s", "p", "m", "ttft_s", 50) is None  # no sample streamed
    assert pct("r1", "s", "p", "other", "latency_s", 50) is None
    with pytest.raises(ValueError):
        pct("r1", "s", "p", "m", "cost_usd", 50)


def test_per_case_passes_and_error_kinds(backend: ResultStore) -> None:
    _one_group(backend)
    assert sorted(backend.per_case_passes("r1", "s", "p", "m")) == [(1, 1), (2, 1)]
    assert backend.error_kinds("r1", "s", "p", "m") == [("timeout", 1, "timeout after 30s")]
    backend.add_result(failed("x1", model="m2", error="b", error_class=None))
    backend.add_result(failed("x2", model="m2", error="a", error_class=None))
    backend.add_result(failed("x3", model="m2", error="429", error_class="rate_limit"))
    backend.add_result(failed("x4", model="m2", error="z", error_class="auth"))
    assert backend.error_kinds("r1", "s", "p", "m2") == [
        ("error", 2, "a"),  # commonest first; one (the least) message as the example
        ("auth", 1, "z"),
        ("rate_limit", 1, "429"),
    ]
    assert list(backend.per_case_passes("r1", "s", "p", "m2")) == []


def test_grade_means(backend: ResultStore) -> None:
    start(backend)

    def grades(*pairs: tuple[str, float | None]) -> str:
        return json.dumps([{"type": t, "passed": True, "score": s, "reason": ""} for t, s in pairs])

    backend.add_result(record("q1", grades=grades(("recall@1", 1.0), ("mrr", 1.0))))
    backend.add_result(record("q2", grades=grades(("recall@1", 0.0), ("mrr", 0.5))))
    backend.add_result(record("q3", grades=grades(("recall@1", None), ("mrr", 0.0))))
    backend.add_result(failed("q4", grades=grades(("recall@1", 1.0))))  # errors: left out
    means = backend.grade_means("r1", "s", "p", "m")
    assert means == {"recall@1": pytest.approx(0.5), "mrr": pytest.approx(0.5)}


def test_result_rows_are_decoded(backend: ResultStore) -> None:
    start(backend)
    calls = [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    backend.add_result(
        record(
            "c1",
            vars=json.dumps({"a": [1, 2]}),
            expect=json.dumps({"k": None}),
            tool_calls=json.dumps(calls),
            cache_hit=True,
        )
    )
    backend.add_result(failed("c2", expect="null"))
    first, second = backend.results("r1")
    assert isinstance(first, ResultRow)
    assert first.vars == {"a": [1, 2]} and first.expect == {"k": None}
    assert first.request == {"messages": [{"role": "user", "content": "c1"}]}
    assert first.grades == [{"type": "exact", "passed": True, "score": 1.0, "reason": ""}]
    assert first.tool_calls == calls
    assert first.passed is True and first.cache_hit is True
    assert (first.run_id, first.suite, first.case_id, first.prompt, first.model) == (
        "r1",
        "s",
        "c1",
        "p",
        "m",
    )
    assert (first.repeat, first.attempts, first.role, first.latency_s) == (0, 1, "sample", 0.5)
    assert second.passed is None and second.cache_hit is False
    assert second.tool_calls is None and second.expect is None
    assert (second.error, second.error_class) == ("HTTP 500", "server")
    unpassed = record("c3", passed=False)
    backend.add_result(unpassed)
    assert [row.passed for row in backend.results("r1")][-1] is False


def test_results_order_roles_and_limit(backend: ResultStore) -> None:
    _one_group(backend)
    backend.add_result(record("b", suite="a-suite"))
    order = [(row.suite, row.case_id, row.repeat) for row in backend.results("r1")]
    assert order == [("a-suite", "b", 0), ("s", "c1", 0), ("s", "c1", 1), ("s", "c2", 0)] + [
        ("s", "c2", 1)
    ]  # suite, prompt, model, then as stored; the corpus row is not a sample
    problems = [(row.case_id, row.repeat) for row in backend.results("r1", problems_first=True)]
    assert problems[:2] == [("c2", 0), ("c1", 1)]  # the error, then the failure
    assert len(list(backend.results("r1", problems_first=True, limit=2))) == 2


def test_sample_texts_are_the_results_with_json_as_stored(backend: ResultStore) -> None:
    _one_group(backend)
    backend.add_result(record("b", suite="a-suite", tags=json.dumps(["x", "y"]), cache_hit=True))
    rows = list(backend.results("r1"))
    texts = list(backend.sample_texts("r1"))
    assert [(t.suite, t.case_id, t.repeat) for t in texts] == [
        (r.suite, r.case_id, r.repeat) for r in rows
    ]  # the same samples in the same order (no corpus row)
    first = texts[0]
    assert isinstance(first.request, str) and isinstance(first.grades, str)
    assert json.loads(first.tags) == ["x", "y"] and first.cache_hit is True
    for text, row in zip(texts, rows, strict=True):
        for name in ("request", "vars", "expect", "grades", "tags"):
            assert json.loads(getattr(text, name)) == getattr(row, name)
        assert (text.passed, text.error, text.output) == (row.passed, row.error, row.output)
        assert (text.latency_s, text.ttft_s, text.cost_usd) == (
            row.latency_s,
            row.ttft_s,
            row.cost_usd,
        )
    problems = [(t.case_id, t.repeat) for t in backend.sample_texts("r1", problems_first=True)]
    assert problems[:2] == [("c2", 0), ("c1", 1)]  # the error, then the failure
    assert len(list(backend.sample_texts("r1", problems_first=True, limit=2))) == 2
    assert [row.tags for row in rows][0] == ["x", "y"]  # a row's tags are decoded too


# --------------------------------------------------------------------------- grading apart


def _verdict(**fields: Any) -> dict[str, Any]:
    verdict = {
        "passed": True,
        "score": 1.0,
        "grades": json.dumps([{"type": "judge", "passed": True, "score": 1.0, "reason": "ok"}]),
        "error": None,
        "error_class": None,
        "grader_cost_usd": 0.002,
    }
    return {**verdict, **fields}


def test_set_grade_replaces_a_verdict(backend: ResultStore) -> None:
    start(backend)
    ungraded = "not graded yet", "ungraded"
    backend.add_result(record("c1", error=ungraded[0], error_class=ungraded[1], passed=None))
    assert not backend.has_result("r1", "s", "c1", "p", "m", 0)
    backend.set_grade("r1", "s", "c1", "p", "m", 0, **_verdict())
    assert backend.has_result("r1", "s", "c1", "p", "m", 0)
    [row] = backend.results("r1")
    assert (row.passed, row.score, row.error, row.error_class) == (True, 1.0, None, None)
    assert row.grades[0]["type"] == "judge" and row.grader_cost_usd == 0.002
    assert row.output == "42" and row.cost_usd == 0.001  # the answer itself is untouched

    backend.set_grade(
        "r1",
        "s",
        "c1",
        "p",
        "m",
        0,
        **_verdict(passed=None, score=None, error="grader error: x")
        | {"error_class": "grader", "grader_cost_usd": None},
    )
    [row] = backend.results("r1")
    assert (row.passed, row.score, row.error_class, row.grader_cost_usd) == (
        None,
        None,
        "grader",
        None,
    )
    assert backend.count_answered("r1") == 1 and backend.count_results("r1", errors=False) == 0
    with pytest.raises(KeyError):
        backend.set_grade("r1", "s", "c1", "p", "m", 1, **_verdict())


def test_answered_results_are_what_a_regrade_reads(backend: ResultStore) -> None:
    start(backend)
    backend.add_result(record("a"))
    backend.add_result(failed("b"))  # never answered: nothing to grade
    backend.add_result(record("c", error="grader error: x", error_class="grader", passed=None))
    backend.add_result(record("d", suite="another", passed=False))
    backend.add_result(record("e", role="corpus", passed=None))
    backend.add_result(record("f", run_id="r2"))
    answered = list(backend.answered_results("r1"))
    assert all(isinstance(row, ResultRow) for row in answered)
    assert [row.case_id for row in answered] == ["a", "c", "d"]  # as stored
    assert answered[0].request == {"messages": [{"role": "user", "content": "a"}]}
    assert list(backend.answered_results("r1")) == answered  # a stable order


def test_answered_results_can_be_graded_while_read(backend: ResultStore) -> None:
    start(backend)
    n = 1203  # more than a page or two of any sensible page size
    for i in range(n):
        backend.add_result(record(f"c{i:04d}", passed=False, score=0.0))
    seen = []
    for row in backend.answered_results("r1"):
        seen.append(row.case_id)
        backend.set_grade(
            row.run_id, row.suite, row.case_id, row.prompt, row.model, row.repeat, **_verdict()
        )
    assert seen == [f"c{i:04d}" for i in range(n)]  # each once, in order
    [group] = backend.groups("r1")
    assert group.passed == n
