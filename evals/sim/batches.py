"""``/v1/batches``: the simulated Batch API (settings: ``batch:`` in ``evals.sim.config``).

A batch's state is computed from the clock whenever a client looks at it (no background
task): ``validating`` for ``validating_s``, then the lines are checked (JSON, a unique string
``custom_id``, ``method: POST``, ``url`` equal to the batch's endpoint, an object ``body``, at
most ``max_requests`` lines; any violation: ``failed`` with ``errors``), then ``in_progress``
until ``created + delay_s``, then ``completed`` (or ``expired`` with ``expire``).

Lines are answered in input order as the linear progress reaches them, each through the
very path of an online request (``answer`` from ``evals.sim.api``: model lookup, attempt
counting, faults, the endpoint's handler, a request-log record with ``batch_id``,
``custom_id`` and ``via: "batch"``), so an answer equals the online one for the same body;
only rate limits are a separate (unlimited) pool, as OpenAI's are. So ``request_counts``
are honest at every look. A line with ``stream: true`` fails with a 400 (a batch never
streams). A line chosen by ``fail_rate`` fails with ``fail_status`` (log ``fault:
"batch_fail"``); a fault that cannot be a status (disconnect, stall, stream_cut, malformed)
becomes a 500 line.

Result files (purpose ``batch_output``, only when non-empty, lines in a seeded shuffled order
with ``shuffle``) hold, per line ``{"id", "custom_id", "response", "error"}``: output
``response: {"status_code": 200, "request_id", "body": <the endpoint's JSON>}``,
``error: null``; a non-200 answer goes to the error file in the same shape with its status
and error body; a line never answered (expired / cancelled) has ``response: null`` and
``error: {"code": "batch_expired" | "batch_cancelled", "message"}``.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evals.sim.batch_files import (
    FileStore,
    Line,
    LogWrite,
    count_lines,
    not_found,
    page,
    parse_input,
    query_of,
)
from evals.sim.config import BatchConfig
from evals.sim.faults import STATUS_FAULTS, error_body
from evals.sim.reply import Reply, error_reply, json_reply
from evals.sim.reqlog import new_record
from evals.sim.textutil import unit_hash

ENDPOINTS = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings")
WINDOW_S = 24 * 3600
FINAL = ("completed", "failed", "expired", "cancelled")
UNANSWERED = {
    "expired": ("batch_expired", "This request could not be executed before the batch expired."),
    "cancelled": ("batch_cancelled", "This request was not executed: the batch was cancelled."),
}
# answer(url, body, failure, log fields) -> (status, JSON body): one line through the online
# path; ``failure`` (a prepared error Reply) replaces the endpoint handler when given.
Answer = Callable[[str, dict[str, Any], Reply | None, dict[str, Any]], tuple[int, Any]]


@dataclass(slots=True)
class Batch:
    """One batch: its input, its clock and the lines answered so far (in input order)."""

    id: str
    input_file_id: str
    data: bytes  # the input file's bytes (kept even if the file is deleted meanwhile)
    endpoint: str
    metadata: dict[str, Any] | None
    created: float
    ends: float  # created + delay_s (not before validation is over)
    expires: bool
    status: str = "validating"
    lines: list[Line] = field(default_factory=list)
    errors: list[dict[str, Any]] | None = None
    times: dict[str, float] = field(default_factory=dict)  # status -> when it was entered
    done: int = 0  # lines[:done] are answered
    output_file_id: str | None = None
    error_file_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        ok = [ln for ln in self.lines[: self.done] if ln.status == 200]
        failed = (len(self.lines) if self.status in FINAL else self.done) - len(ok)
        stamps = {f"{s}_at": _int(self.times.get(s)) for s in _STAMPED}
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created),
            "expires_at": int(self.created + WINDOW_S),
            **stamps,
            "request_counts": {"total": len(self.lines), "completed": len(ok), "failed": failed},
            "metadata": self.metadata,
            "usage": _usage([ln.payload for ln in ok]),
        }


_STAMPED = ("in_progress", "finalizing", "completed", "failed", "expired", "cancelling",
            "cancelled")  # fmt: skip


def _int(t: float | None) -> int | None:
    return None if t is None else int(t)


def _usage(payloads: list[Any]) -> dict[str, Any]:
    """Token sums over the answered lines, whichever endpoint's usage shape they carry."""
    total = {"input": 0, "cached": 0, "output": 0, "reasoning": 0}
    for body in payloads:
        usage = body.get("usage") if isinstance(body, dict) else None
        if not isinstance(usage, dict):
            continue
        ind = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
        outd = usage.get("output_tokens_details") or usage.get("completion_tokens_details") or {}
        total["input"] += usage.get("input_tokens", usage.get("prompt_tokens", 0)) or 0
        total["output"] += usage.get("output_tokens", usage.get("completion_tokens", 0)) or 0
        total["cached"] += ind.get("cached_tokens", 0) or 0
        total["reasoning"] += outd.get("reasoning_tokens", 0) or 0
    return {
        "input_tokens": total["input"],
        "input_tokens_details": {"cached_tokens": total["cached"]},
        "output_tokens": total["output"],
        "output_tokens_details": {"reasoning_tokens": total["reasoning"]},
        "total_tokens": total["input"] + total["output"],
    }


def outcome(reply: Reply) -> tuple[int, Any]:
    """A line's (status, JSON body) from the reply its endpoint gave; a fault that is not a
    status (disconnect, stall, cut, malformed JSON) is a 500, as it could not be answered."""
    try:
        payload = json.loads(reply.body) if reply.action is None else None
    except ValueError:
        payload = None
    if payload is None:
        _, message, type_, code = STATUS_FAULTS["500"]
        return 500, json.loads(error_body(message, type_, None, code))
    return reply.status, payload


def failure(status: int) -> Reply:
    """The error a ``fail_rate`` line gets, as the online endpoint would word that status."""
    known = STATUS_FAULTS.get(str(status))
    if known is not None:
        _, message, type_, code = known
        return error_reply(status, message, type_, None, code)
    return error_reply(status, "The request failed (simulated batch line failure).")


class Batches:
    """Every batch of one simulator, and the ``/v1/batches`` endpoints."""

    def __init__(
        self, cfg: BatchConfig, files: FileStore, answer: Answer, log: LogWrite | None
    ) -> None:
        self.cfg, self.files, self._answer, self._log = cfg, files, answer, log
        self._batches: dict[str, Batch] = {}
        self._ids = itertools.count(1)
        self._req_ids = itertools.count(1)
        self._runs: dict[str, int] = {}  # custom_id -> batches that answered it (fail_times)

    def handle(self, method: str, target: str, raw: bytes) -> Reply:
        """Route one ``/v1/batches...`` request and log it."""
        path = target.split("?", 1)[0]
        parts = path.split("/")[3:]  # after "/v1/batches"
        rec = new_record(path)
        rec["method"] = method
        action = (method if method != "HEAD" else "GET", *parts[1:])
        if parts:
            rec["batch_id"] = parts[0]
        batch = self._batches.get(parts[0]) if parts else None
        if not parts and method == "POST":
            reply = self._create(raw, rec)
        elif not parts and action == ("GET",):
            reply = self._list(query_of(target))
        elif action not in (("GET",), ("POST", "cancel")):
            reply = error_reply(404, f"Invalid URL ({method} {path})")
        elif batch is None:
            reply = not_found("Batch", parts[0])
        else:
            reply = self._cancel(batch) if action[-1] == "cancel" else self._retrieve(batch)
            rec["batch_status"] = batch.status
        rec["status"] = reply.status
        if self._log is not None:
            self._log(rec)
        return reply

    def _create(self, raw: bytes, rec: dict[str, Any]) -> Reply:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return error_reply(400, "We could not parse the JSON body of your request.")
        fid, endpoint = body.get("input_file_id"), body.get("endpoint")
        rec.update(input_file_id=fid, endpoint=endpoint)
        stored = self.files.get(fid) if isinstance(fid, str) else None
        problem = self._create_problem(body, stored is not None and stored.purpose == "batch")
        if problem is not None:
            return problem
        assert stored is not None
        now, n = time.time(), next(self._ids)
        expires = self.cfg.expire and (self.cfg.expire_times is None or n <= self.cfg.expire_times)
        ends = now + max(self.cfg.delay_s, self.cfg.validating_s)
        batch = Batch(f"batch_sim{n:06d}", stored.id, stored.data, endpoint,
                      body.get("metadata"), now, ends, expires)  # fmt: skip
        self._batches[batch.id] = batch
        rec.update(batch_id=batch.id, lines=count_lines(stored.data))
        return self._retrieve(batch)

    def _create_problem(self, body: dict[str, Any], file_ok: bool) -> Reply | None:
        def bad(message: str, param: str) -> Reply:
            return error_reply(400, message, param=param, code="invalid_value")

        if not file_ok:
            fid = body.get("input_file_id")
            return bad(f"No batch input file found with id {fid!r}.", "input_file_id")
        if body.get("endpoint") not in ENDPOINTS:
            allowed = ", ".join(f"'{e}'" for e in ENDPOINTS)
            return bad(f"Invalid 'endpoint': the simulator supports {allowed}.", "endpoint")
        if body.get("completion_window") != "24h":
            return bad("Invalid 'completion_window': only '24h' is supported.", "completion_window")
        if body.get("metadata") is not None and not isinstance(body["metadata"], dict):
            return bad("Invalid 'metadata': expected an object.", "metadata")
        return None

    def _list(self, query: dict[str, str]) -> Reply:
        now = time.time()
        for batch in self._batches.values():
            self._advance(batch, now)
        return json_reply(page(list(self._batches.values())[::-1], query, 20))

    def _retrieve(self, batch: Batch) -> Reply:
        self._advance(batch, time.time())
        return json_reply(batch.to_json())

    def _cancel(self, batch: Batch) -> Reply:
        now = time.time()
        if batch.status != "cancelling":  # cancelling twice answers the same
            self._advance(batch, now)
        if batch.status == "validating":
            self._validate(batch, now)
        if batch.status in FINAL:
            return error_reply(
                400, f"Cannot cancel a batch with status '{batch.status}'.", code="invalid_state"
            )
        if batch.status == "in_progress":
            self._answer_upto(batch, self._due(batch, now))
            batch.status, batch.times["cancelling"] = "cancelling", now
        return json_reply(batch.to_json())

    def _advance(self, batch: Batch, now: float) -> None:
        """Bring a batch to the state the clock says it is in, answering lines that are due."""
        if batch.status == "validating" and now >= batch.created + self.cfg.validating_s:
            self._validate(batch, batch.created + self.cfg.validating_s)
        if batch.status == "cancelling":
            self._finish(batch, "cancelled", now)
        elif batch.status == "in_progress":
            self._answer_upto(batch, self._due(batch, now))
            if now >= batch.ends:
                self._finish(batch, "expired" if batch.expires else "completed", batch.ends)

    def _validate(self, batch: Batch, at: float) -> None:
        lines, errors = parse_input(batch.data, batch.endpoint, self.cfg)
        if errors:
            batch.status, batch.errors, batch.lines = "failed", errors, []
            batch.times["failed"] = at
        else:
            batch.status, batch.lines = "in_progress", lines
            batch.times["in_progress"] = at

    def _due(self, batch: Batch, now: float) -> int:
        """Lines answered by ``now`` under linear progress (the expiring share, if expiring)."""
        quota = len(batch.lines)
        if batch.expires:
            quota = math.floor(quota * self.cfg.expire_completed)
        start = batch.times["in_progress"]
        span = batch.ends - start
        share = 1.0 if span <= 0 else min(1.0, max(0.0, (now - start) / span))
        return math.floor(quota * share)

    def _answer_upto(self, batch: Batch, count: int) -> None:
        for line in batch.lines[batch.done : count]:
            self._answer_line(batch, line)
        batch.done = max(batch.done, count)

    def _answer_line(self, batch: Batch, line: Line) -> None:
        cfg, runs = self.cfg, self._runs.get(line.custom_id, 0)
        self._runs[line.custom_id] = runs + 1
        extra: dict[str, Any] = {"batch_id": batch.id, "custom_id": line.custom_id, "via": "batch"}
        fail = None
        if line.body.get("stream"):
            fail = error_reply(400, "Streaming is not supported in a batch.", param="stream")
        elif (cfg.fail_times is None or runs < cfg.fail_times) and (
            unit_hash("batch", cfg.seed, line.custom_id) < cfg.fail_rate
        ):
            fail, extra["fault"] = failure(cfg.fail_status), "batch_fail"
        line.status, line.payload = self._answer(batch.endpoint, line.body, fail, extra)
        line.req = next(self._req_ids)

    def _finish(self, batch: Batch, status: str, at: float) -> None:
        """Enter a final state and write the output and error files."""
        batch.status, batch.times[status] = status, at
        if status == "completed":
            batch.times["finalizing"] = at
        out, err = [], []
        for line in batch.lines:
            if line.status is None:
                line.req = next(self._req_ids)
                code, message = UNANSWERED[status]
                err.append(_result(line, None, {"code": code, "message": message}))
            else:
                response = {"status_code": line.status, "request_id": f"req_sim{line.req:06d}",
                            "body": line.payload}  # fmt: skip
                (out if line.status == 200 else err).append(_result(line, response, None))
        batch.output_file_id = self._store(batch, "output", out)
        batch.error_file_id = self._store(batch, "error", err)

    def _store(self, batch: Batch, kind: str, rows: list[str]) -> str | None:
        if not rows:
            return None
        if self.cfg.shuffle and len(rows) > 1:
            shuffled = rows[:]
            random.Random(f"{self.cfg.seed}:{batch.id}:{kind}").shuffle(shuffled)
            rows = shuffled if shuffled != rows else rows[1:] + rows[:1]
        data = "".join(rows).encode()
        return self.files.add(f"{batch.id}_{kind}.jsonl", "batch_output", data).id


def _result(line: Line, response: dict[str, Any] | None, error: dict[str, Any] | None) -> str:
    row = {"id": f"batch_req_sim{line.req:06d}", "custom_id": line.custom_id,
           "response": response, "error": error}  # fmt: skip
    return json.dumps(row) + "\n"
