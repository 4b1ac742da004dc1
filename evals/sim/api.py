"""Endpoint handlers: parse, validate, then quota -> faults -> rate limit -> answer -> log.

Handlers are synchronous and run on the event loop thread, so the shared state (attempt
counts, rate windows, the log file) needs no locks. Waiting (latency, pacing, stalls) is
left to the HTTP layer through the returned ``Reply``.

The request log format is described in ``evals.sim.reqlog``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import time
from typing import Any

from evals.sim import media, payloads, responses
from evals.sim.admission import Admission, apply_fault
from evals.sim.answering import answer_request
from evals.sim.batch_files import FileStore
from evals.sim.batches import Batches, outcome
from evals.sim.config import ModelConfig, SimConfig
from evals.sim.faults import AttemptCounter, canonical_sha256
from evals.sim.loadmodel import LoadModel
from evals.sim.multipart import MultipartError, parse
from evals.sim.reply import Reply, error_reply, json_reply
from evals.sim.reqlog import RequestLog, new_record

HEALTH_BODY = b'{"status": "ok"}'


class App:
    """All endpoint logic and state of one simulator instance."""

    def __init__(self, config: SimConfig, log_path: str | None = None) -> None:
        self.models = config.models
        self.admission = Admission(self.models)
        self.attempts = AttemptCounter()
        self.load = LoadModel(self.models)
        self.log = RequestLog(log_path) if log_path else None
        self._ids = itertools.count(1)
        self._routes = self._json_routes(self.admission)
        self._batch_routes = self._json_routes(Admission({}))  # batches: their own rate pool
        write = self.log.write if self.log is not None else None
        self.files = FileStore(config.batch.max_bytes, write)
        self.batches = Batches(config.batch, self.files, self._answer_line, write)
        listing = {"object": "list", "data": [payloads.model_object(n) for n in self.models]}
        self._models_body = json.dumps(listing).encode()

    def close(self) -> None:
        if self.log is not None:
            self.log.close()

    def _json_routes(self, admission: Admission) -> dict[str, Any]:
        """The JSON endpoints' handlers, checking rates against ``admission``'s windows."""
        return {
            "/v1/chat/completions": functools.partial(self._chat, admission),
            "/v1/responses": functools.partial(responses.serve, admission, self._ids),
            "/v1/embeddings": functools.partial(media.embeddings, admission),
        }

    def body_limit(self, target: str) -> int | None:
        """Largest body the server should read for ``target``; None: the server's default."""
        if target.split("?", 1)[0] == "/v1/files":
            return self.files.max_bytes + 1024 * 1024  # the multipart framing around the file
        return None

    def oversized(self, target: str, length: int) -> Reply | None:
        """The reply to a body over ``body_limit`` (None: the server's plain 413)."""
        return self.files.oversized(length) if self.body_limit(target) is not None else None

    def handle(self, method: str, target: str, raw: bytes, content_type: str = "") -> Reply:
        """Route one HTTP request."""
        path = target.split("?", 1)[0]
        if path == "/v1/files" or path.startswith("/v1/files/"):
            return self.files.handle(method, target, raw, content_type)
        if path == "/v1/batches" or path.startswith("/v1/batches/"):
            return self.batches.handle(method, target, raw)
        if method == "POST":
            handler = self._routes.get(path)
            if handler is not None:
                return self._post(path, raw, handler)
            if path == "/v1/audio/transcriptions":
                return self._post_form(path, raw, content_type)
        reply = self._get(path) if method in ("GET", "HEAD") else None
        if reply is None:
            reply = error_reply(404, f"Invalid URL ({method} {path})")
        if self.log is not None:
            self.log.write(new_record(path, status=reply.status))
        return reply

    def _get(self, path: str) -> Reply | None:
        if path == "/v1/models":
            return Reply(body=self._models_body)
        if path.startswith("/v1/models/"):
            name = path[len("/v1/models/") :]
            if name in self.models:
                return json_reply(payloads.model_object(name))
            return _no_model(name)
        if path in ("/health", "/healthz"):
            return Reply(body=HEALTH_BODY)
        return None

    def _post_form(self, path: str, raw: bytes, content_type: str) -> Reply:
        """multipart/form-data POST: parse, then the shared path with the file bytes bound."""
        try:
            body, data = media.form_body(parse(raw, content_type))
        except MultipartError as exc:
            return self._post(path, raw, None, problem=str(exc))
        return self._post(
            path, raw, functools.partial(media.transcribe, self.admission, data=data), body
        )

    def _post(
        self, path: str, raw: bytes, handler: Any, body: Any = None, problem: str = ""
    ) -> Reply:
        """Shared POST path: body parsing, model lookup, attempt counting, logging.

        ``body`` is given for form posts (already parsed); otherwise ``raw`` is JSON.
        """
        reply, rec = self._serve(path, raw, handler, body, problem)
        if rec is not None and self.log is not None:
            if reply.load is not None:
                reply.load.record(rec, self.log)  # written when the request is over
            else:
                self.log.write(rec)
        return reply

    def _answer_line(
        self, url: str, body: dict[str, Any], failure: Reply | None, extra: dict[str, Any]
    ) -> tuple[int, Any]:
        """One batch line through the online path (``failure`` in place of the endpoint's
        answer when given); its log record gets ``extra``. Delays and load plans are moot."""
        handler = self._batch_routes[url] if failure is None else lambda *_: failure
        reply, rec = self._serve(url, b"", handler, body)
        status, payload = outcome(reply)
        if rec is not None and self.log is not None:
            rec.update(extra, status=status)
            self.log.write(rec)
        return status, payload

    def _serve(
        self, path: str, raw: bytes, handler: Any, body: Any = None, problem: str = ""
    ) -> tuple[Reply, dict[str, Any] | None]:
        """``_post`` up to the log record, which is returned filled but not written."""
        log = self.log
        rec = new_record(path) if log is not None else None
        if body is None and not problem:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                problem = (
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON.)"
                )
        if problem or not isinstance(body, dict):
            sha = hashlib.sha256(raw).hexdigest()
            attempt = self.attempts.next(sha) if log is not None else 0
            reply = error_reply(400, problem)
        else:
            name = body.get("model")
            model = self.models.get(name) if isinstance(name, str) else None
            sha, attempt = "", 0
            if log is not None or (model is not None and (model.faults or model.resample)):
                sha = canonical_sha256(body)
                attempt = self.attempts.next(sha)
            if rec is not None:
                rec.update(model=name, request=body)
            if name is None:
                reply = error_reply(
                    400,
                    "you must provide a model parameter",
                    param="model",
                    code="missing_required_parameter",
                )
            elif model is None:
                reply = _no_model(str(name))
            else:
                reply = handler(model, body, sha, attempt, rec)
        if rec is not None:
            rec.update(body_sha256=sha, attempt=attempt)
            if reply.action not in ("disconnect", "stall"):
                rec["status"] = reply.status
        return reply, rec

    def _chat(
        self,
        admission: Admission,
        model: ModelConfig,
        body: dict[str, Any],
        sha: str,
        attempt: int,
        rec: dict | None,
    ) -> Reply:
        answered = answer_request(
            admission, self._ids, model, body, sha, attempt, rec,
            lambda ans: ans.usage(model.usage_details),
        )  # fmt: skip
        if isinstance(answered, Reply):
            return answered
        ans, usage, headers, fault = answered.ans, answered.usage, answered.headers, answered.fault
        stream, delay, gap = answered.stream, answered.delay_s, answered.gap_s
        cid = f"chatcmpl-sim{answered.number:012x}"
        created = int(time.time())
        load = self.load.plan(model, ans, stream, delay, answered.logprobs)
        if load is not None:  # the plan waits for a slot and paces the tokens itself
            delay, gap = 0.0, 0.0
        if stream:
            opts = body.get("stream_options")
            include = isinstance(opts, dict) and bool(opts.get("include_usage"))
            events = payloads.stream_events(
                cid, created, model.name, ans, usage, include, answered.logprobs
            )
            reply = Reply(
                events=events,
                headers=headers,
                content_type="text/event-stream",
                delay_s=delay,
                load=load,
            )
            reply.event_gap_s, reply.paced_events = gap, len(events) - (4 if include else 3)
            if fault is not None and fault.kind == "malformed":
                reply.events = [events[0], payloads.MALFORMED_EVENT, payloads.DONE_EVENT]
            elif fault is not None:  # stream_cut: the first half of the frames, then close
                reply.events, reply.action = events[: max(2, len(events) // 2)], "cut"
            return reply
        body_bytes = payloads.completion(cid, created, model.name, ans, usage, answered.logprobs)
        reply = Reply(body=body_bytes, headers=headers, delay_s=delay, load=load)
        return apply_fault(reply, fault)


def _no_model(name: str) -> Reply:
    return error_reply(
        404,
        f"The model `{name}` does not exist or you do not have access to it.",
        code="model_not_found",
    )
