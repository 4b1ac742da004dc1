"""The sim's Files and Batch APIs over real HTTP with the openai SDK (``evals.sim.batches``).

The module sim has ``delay_s: 0.5`` (progress, cancel, the request log); ``fast_sim`` starts
further sims whose batches end at once, one per ``batch:`` setting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from evals.sim.config import ConfigError, load_config
from evals.sim.server import SimHandle, start_in_thread
from tests.helpers import read_jsonl

MODELS = """\
models:
  m: {accuracy: 1.0}
  dropper: {accuracy: 1.0, faults: [{kind: disconnect, rate: 1.0, times: 1}]}
  limited: {accuracy: 1.0, rpm: 1}
"""
CONFIG = MODELS + "batch: {delay_s: 0.5}\n"
CHAT = "/v1/chat/completions"
FINAL = ("completed", "failed", "expired", "cancelled")

FastSim = Callable[[str], tuple[OpenAI, Path]]


@pytest.fixture(scope="module")
def fast_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastSim]:
    """``fast_sim("fail_rate: 0.5")``: a client (and log) of a sim with those batch settings."""
    started: dict[str, tuple[SimHandle, OpenAI, Path]] = {}

    def start(settings: str) -> tuple[OpenAI, Path]:
        if settings not in started:
            root = tmp_path_factory.mktemp("batch")
            (root / "sim.yaml").write_text(MODELS + f"batch: {{{settings}}}\n")
            log = root / "requests.jsonl"
            handle = start_in_thread(config_path=str(root / "sim.yaml"), log_path=str(log))
            client = OpenAI(base_url=handle.base_url, api_key="x", max_retries=0, timeout=10)
            started[settings] = handle, client, log
        return started[settings][1], started[settings][2]

    yield start
    for handle, _, _ in started.values():
        handle.stop()


def chat_body(i: int, model: str = "m") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": f"What is {i} + {i}?"}]}


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def lines(bodies: list[dict[str, Any]], url: str = CHAT, prefix: str = "r") -> list[dict]:
    return [
        {"custom_id": f"{prefix}{i}", "method": "POST", "url": url, "body": b}
        for i, b in enumerate(bodies)
    ]


def submit(client: OpenAI, rows: list[dict[str, Any]], endpoint: str = CHAT) -> Any:
    upload = client.files.create(file=("in.jsonl", jsonl(rows)), purpose="batch")
    return client.batches.create(
        input_file_id=upload.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
        metadata={"suite": "t"},
    )


def wait(client: OpenAI, batch_id: str) -> Any:
    for _ in range(100):
        batch = client.batches.retrieve(batch_id)
        if batch.status in FINAL:
            return batch
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not finish")


def results(client: OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(x) for x in client.files.content(file_id).read().splitlines()]


def test_round_trip_matches_online(fast_sim: FastSim) -> None:
    client, _ = fast_sim("delay_s: 0")
    bodies = [chat_body(i) for i in range(8)]
    batch = wait(client, submit(client, lines(bodies)).id)
    assert (batch.status, batch.error_file_id, batch.metadata) == (
        "completed",
        None,
        {"suite": "t"},
    )
    assert (batch.request_counts.total, batch.request_counts.completed) == (8, 8)
    out = results(client, batch.output_file_id)
    assert sorted(r["custom_id"] for r in out) == sorted(f"r{i}" for i in range(8))
    assert [r["custom_id"] for r in out] != [f"r{i}" for i in range(8)]  # shuffled
    for row in out:
        assert row["id"].startswith("batch_req_sim") and row["error"] is None
        assert row["response"]["status_code"] == 200
        body = row["response"]["body"]
        online = client.chat.completions.create(**bodies[int(row["custom_id"][1:])])
        assert body["choices"][0]["message"]["content"] == online.choices[0].message.content
        assert body["usage"] == online.usage.model_dump(exclude_none=True)
    usage = [r["response"]["body"]["usage"] for r in out]
    assert batch.usage.input_tokens == sum(u["prompt_tokens"] for u in usage)
    assert batch.usage.output_tokens == sum(u["completion_tokens"] for u in usage)
    assert batch.usage.total_tokens == sum(u["total_tokens"] for u in usage)
    listed = client.files.list(purpose="batch_output").data
    assert batch.output_file_id in [f.id for f in listed]


def test_progress_and_request_log(client: OpenAI, paths: dict[str, Path]) -> None:
    created = submit(client, lines([chat_body(i) for i in range(20)], prefix="p"))
    assert created.status == "in_progress" and created.request_counts.completed == 0
    time.sleep(0.1)
    first = client.batches.retrieve(created.id).request_counts.completed
    time.sleep(0.1)
    second = client.batches.retrieve(created.id).request_counts.completed
    assert 0 < first < second < 20
    batch = wait(client, created.id)
    log = read_jsonl(paths["log"])
    upload = next(
        r for r in log if r["path"] == "/v1/files" and r.get("file_id") == batch.input_file_id
    )
    assert (upload["status"], upload["lines"], upload["purpose"]) == (200, 20, "batch")
    create = next(r for r in log if r["path"] == "/v1/batches" and r.get("batch_id") == batch.id)
    assert (create["input_file_id"], create["endpoint"], create["lines"]) == (
        batch.input_file_id, CHAT, 20,
    )  # fmt: skip
    answered = [r for r in log if r.get("batch_id") == batch.id and r.get("via") == "batch"]
    assert sorted(r["custom_id"] for r in answered) == sorted(f"p{i}" for i in range(20))
    assert all(r["path"] == CHAT and r["status"] == 200 and r["model"] == "m" for r in answered)
    assert sum(r["usage"]["prompt_tokens"] for r in answered) == batch.usage.input_tokens
    polled = [r for r in log if r["path"] == f"/v1/batches/{batch.id}"]
    assert polled[-1]["batch_status"] == "completed"


def test_cancel(client: OpenAI) -> None:
    created = submit(client, lines([chat_body(i) for i in range(10)], prefix="c"))
    time.sleep(0.15)
    cancelling = client.batches.cancel(created.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    assert client.batches.cancel(created.id).status == "cancelling"
    done = cancelling.request_counts.completed
    assert 0 < done < 10
    batch = client.batches.retrieve(created.id)
    assert batch.status == "cancelled" and batch.request_counts.completed == done
    assert batch.request_counts.failed == 10 - done
    assert len(results(client, batch.output_file_id)) == done
    errors = results(client, batch.error_file_id)
    assert len(errors) == 10 - done
    assert all(e["response"] is None and e["error"]["code"] == "batch_cancelled" for e in errors)
    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(created.id)


def test_fail_rate_then_retry_succeeds(fast_sim: FastSim) -> None:
    client, log = fast_sim("fail_rate: 0.5, fail_status: 429, fail_times: 1")
    rows = lines([chat_body(i) for i in range(12)], prefix="f")
    batch = wait(client, submit(client, rows).id)
    errors = results(client, batch.error_file_id)
    assert 0 < len(errors) < 12
    assert all(e["response"]["status_code"] == 429 and e["error"] is None for e in errors)
    assert errors[0]["response"]["body"]["error"]["code"] == "rate_limit_exceeded"
    counts = batch.request_counts
    assert (counts.completed, counts.failed) == (12 - len(errors), len(errors))
    assert len(results(client, batch.output_file_id)) == counts.completed
    failed_log = [r for r in read_jsonl(log) if r.get("fault") == "batch_fail"]
    assert sorted(r["custom_id"] for r in failed_log) == sorted(e["custom_id"] for e in errors)
    again = {e["custom_id"] for e in errors}
    retry = wait(client, submit(client, [r for r in rows if r["custom_id"] in again]).id)
    assert (retry.request_counts.completed, retry.error_file_id) == (len(again), None)


def test_fail_rate_always_fails_without_times(fast_sim: FastSim) -> None:
    client, _ = fast_sim("fail_rate: 1.0, fail_status: 500")
    rows = lines([chat_body(1)])
    for _ in range(2):
        batch = wait(client, submit(client, rows).id)
        assert (batch.request_counts.failed, batch.output_file_id) == (1, None)


def test_expire_then_retry_completes(fast_sim: FastSim) -> None:
    client, _ = fast_sim("expire: true, expire_completed: 0.5, expire_times: 1")
    rows = lines([chat_body(i) for i in range(6)], prefix="e")
    batch = wait(client, submit(client, rows).id)
    assert batch.status == "expired" and batch.expired_at is not None
    assert sorted(r["custom_id"] for r in results(client, batch.output_file_id)) == [
        "e0",
        "e1",
        "e2",
    ]
    errors = results(client, batch.error_file_id)
    assert sorted(e["custom_id"] for e in errors) == ["e3", "e4", "e5"]
    assert all(e["error"]["code"] == "batch_expired" for e in errors)
    assert (batch.request_counts.completed, batch.request_counts.failed) == (3, 3)
    retry = wait(client, submit(client, rows[3:]).id)
    assert retry.status == "completed" and retry.request_counts.completed == 3


def test_faulty_and_streamed_lines_fail(fast_sim: FastSim) -> None:
    client, log = fast_sim("delay_s: 0")
    stream = {**chat_body(1), "stream": True}
    rows = lines([chat_body(1, "dropper"), stream, chat_body(1, "nope"), chat_body(2, "limited"),
                  chat_body(3, "limited")], prefix="x")  # fmt: skip
    batch = wait(client, submit(client, rows).id)
    status = {
        e["custom_id"]: e["response"]["status_code"] for e in results(client, batch.error_file_id)
    }
    assert status == {"x0": 500, "x1": 400, "x2": 404}  # rpm: 1 is the online pool only
    dropped = [r for r in read_jsonl(log) if r.get("custom_id") == "x0"]
    assert (dropped[-1]["fault"], dropped[-1]["status"], dropped[-1]["attempt"]) == (
        "disconnect", 500, 1,
    )  # fmt: skip
    online = client.chat.completions.create(**chat_body(1, "dropper"))  # attempt 2 passes
    assert online.choices[0].message.content


def test_responses_and_embeddings_batches(fast_sim: FastSim) -> None:
    client, _ = fast_sim("delay_s: 0")
    body = {"model": "m", "input": "What is 2 + 3?"}
    batch = wait(client, submit(client, lines([body], "/v1/responses"), "/v1/responses").id)
    (row,) = results(client, batch.output_file_id)
    online = client.responses.create(**body)
    assert row["response"]["body"]["usage"] == online.usage.model_dump(exclude_none=True)
    assert row["response"]["body"]["output"][-1]["content"][0]["text"] == online.output_text
    assert batch.usage.input_tokens == online.usage.input_tokens
    emb = {"model": "m", "input": ["a cat", "a dog"]}
    batch = wait(client, submit(client, lines([emb], "/v1/embeddings"), "/v1/embeddings").id)
    (row,) = results(client, batch.output_file_id)
    online_emb = client.embeddings.create(**emb)
    assert len(row["response"]["body"]["data"]) == 2
    assert batch.usage.input_tokens == online_emb.usage.prompt_tokens


@pytest.mark.parametrize(
    ("rows", "code", "line"),
    [
        ([("a", CHAT), ("a", CHAT)], "duplicate_custom_id", 2),
        ([("a", CHAT), ("b", "/v1/embeddings")], "mismatched_url", 2),
        ([(f"n{i}", CHAT) for i in range(4)], "too_many_requests", None),
    ],
)
def test_validation_failures(
    fast_sim: FastSim, rows: list[tuple[str, str]], code: str, line: int | None
) -> None:
    client, _ = fast_sim("max_requests: 3")
    data = [{"custom_id": c, "method": "POST", "url": u, "body": chat_body(1)} for c, u in rows]
    batch = wait(client, submit(client, data).id)
    assert batch.status == "failed" and batch.failed_at is not None
    assert batch.output_file_id is None and batch.errors is not None
    assert (batch.errors.data[0].code, batch.errors.data[0].line) == (code, line)


def test_bad_line_json_and_method(fast_sim: FastSim) -> None:
    client, _ = fast_sim("max_requests: 3")
    data = b'{"custom_id": "a", "method": "GET", "url": "/v1/chat/completions", "body": {}}\nnope\n'
    upload = client.files.create(file=("in.jsonl", data), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint=CHAT, completion_window="24h")
    assert batch.errors is not None
    assert [(e.code, e.line) for e in batch.errors.data] == [
        ("invalid_method", 1), ("invalid_json_line", 2),
    ]  # fmt: skip


def test_upload_and_create_errors(fast_sim: FastSim) -> None:
    client, log = fast_sim("max_bytes: 100")
    with pytest.raises(openai.BadRequestError, match="purpose must be 'batch'"):
        client.files.create(file=("a.jsonl", b"{}\n"), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="too large"):
        client.files.create(file=("a.jsonl", b"x" * 101), purpose="batch")
    assert [r["status"] for r in read_jsonl(log) if r["path"] == "/v1/files"] == [400, 400]
    good = client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch")
    for kwargs in (
        {"input_file_id": "file-nope", "endpoint": CHAT, "completion_window": "24h"},
        {"input_file_id": good.id, "endpoint": "/v1/completions", "completion_window": "24h"},
        {"input_file_id": good.id, "endpoint": CHAT, "completion_window": "48h"},
    ):
        with pytest.raises(openai.BadRequestError):
            client.batches.create(**kwargs)  # type: ignore[arg-type]


def test_unknown_ids_and_lists(fast_sim: FastSim) -> None:
    client, _ = fast_sim("delay_s: 0")
    for call in (
        lambda: client.files.retrieve("file-nope"),
        lambda: client.files.content("file-nope"),
        lambda: client.files.delete("file-nope"),
        lambda: client.batches.retrieve("batch_nope"),
        lambda: client.batches.cancel("batch_nope"),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    ids = [submit(client, lines([chat_body(i)])).id for i in range(2)]
    page = client.batches.list(limit=1)
    assert ([b.id for b in page.data], page.has_more) == ([ids[-1]], True)
    upload = client.files.retrieve(client.batches.retrieve(ids[0]).input_file_id)
    assert upload.purpose == "batch" and upload.filename == "in.jsonl"
    assert upload.id in [f.id for f in client.files.list(purpose="batch").data]
    assert client.files.delete(upload.id).deleted
    assert upload.id not in [f.id for f in client.files.list().data]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("batch: {delay: 1}\n", r"bad.yaml:3: batch: unknown key 'delay'"),
        ("batch:\n  fail_rate: 2\n", r"bad.yaml:4: batch.fail_rate: must be within 0..1"),
        ("batch:\n  fail_status: 200\n", r"bad.yaml:4: batch.fail_status: must be an HTTP"),
        ("batch:\n  expire: 1\n", r"bad.yaml:4: batch.expire: expected bool"),
        ("batch:\n  fail_times: 0\n", r"bad.yaml:4: batch.fail_times: must be >= 1"),
        ("batch: [1]\n", r"bad.yaml:3: batch: expected a mapping"),
        ("batches: {}\n", r"bad.yaml:3: top level: unknown key 'batches'"),
    ],
)
def test_batch_config_errors(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  m: {}\n" + text)
    with pytest.raises(ConfigError, match=message):
        load_config(bad)


def test_batch_config_defaults() -> None:
    cfg = load_config(None).batch
    assert (cfg.delay_s, cfg.max_requests, cfg.max_bytes, cfg.shuffle) == (
        0.0, 50000, 209715200, True,
    )  # fmt: skip


def test_validating_then_cancel(fast_sim: FastSim) -> None:
    client, _ = fast_sim("validating_s: 5, delay_s: 10")
    created = submit(client, lines([chat_body(i) for i in range(3)], prefix="v"))
    assert (created.status, created.request_counts.total, created.in_progress_at) == (
        "validating", 0, None,
    )  # fmt: skip
    assert client.batches.cancel(created.id).status == "cancelling"
    batch = client.batches.retrieve(created.id)
    assert (batch.status, batch.output_file_id, batch.request_counts.failed) == (
        "cancelled",
        None,
        3,
    )
    assert {e["error"]["code"] for e in results(client, batch.error_file_id)} == {"batch_cancelled"}
