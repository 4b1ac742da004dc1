"""``/v1/files``: the in-memory file store behind the simulated Batch API, and the
validation of batch input files (``parse_input``).

Uploads (multipart ``purpose`` + ``file``, purpose ``batch`` only, at most
``batch.max_bytes``) and the output / error files the sim writes for finished batches
(purpose ``batch_output``) live in one dict for the life of the server; nothing touches disk.
Each request writes one log record (fields in ``evals.sim.reqlog``).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from evals.sim.config import BatchConfig
from evals.sim.multipart import MultipartError, parse
from evals.sim.reply import Reply, error_reply, json_reply
from evals.sim.reqlog import new_record

LogWrite = Callable[[dict[str, Any]], None]
MAX_ERRORS = 100  # validation errors reported per batch


@dataclass(slots=True)
class StoredFile:
    """One file: its bytes and the metadata of OpenAI's file object."""

    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "expires_at": None,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
        }


def count_lines(data: bytes) -> int:
    """Non-empty lines of a JSONL file."""
    return sum(1 for line in data.splitlines() if line.strip())


def query_of(target: str) -> dict[str, str]:
    """The query string's parameters (the first value of each)."""
    query = target.split("?", 1)[1] if "?" in target else ""
    return {k: v[0] for k, v in parse_qs(query).items()}


def page(items: Sequence[Any], query: dict[str, str], default_limit: int) -> dict[str, Any]:
    """A cursor page as the SDK reads it: ``items`` newest first, ``after`` an id, ``limit``."""
    ordered = list(items)
    after = query.get("after")
    if after is not None:
        ids = [i.id for i in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    try:
        limit = max(1, int(query.get("limit", default_limit)))
    except ValueError:
        limit = default_limit
    data = [i.to_json() for i in ordered[:limit]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(ordered) > limit,
    }


def not_found(kind: str, id_: str) -> Reply:
    return error_reply(404, f"No such {kind} object: {id_}", param="id", code="not_found")


class FileStore:
    """The uploaded and generated files, and the ``/v1/files`` endpoints."""

    def __init__(self, max_bytes: int, log: LogWrite | None) -> None:
        self.max_bytes = max_bytes
        self._log = log
        self._files: dict[str, StoredFile] = {}
        self._ids = itertools.count(1)

    def add(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        stored = StoredFile(
            f"file-sim{next(self._ids):06d}", filename, purpose, data, int(time.time())
        )
        self._files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def handle(self, method: str, target: str, raw: bytes, content_type: str) -> Reply:
        """Route one ``/v1/files...`` request and log it."""
        path = target.split("?", 1)[0]
        parts = path.split("/")[3:]  # after "/v1/files"
        rec = new_record(path)
        rec["method"] = method
        if method == "POST" and not parts:
            reply = self._upload(raw, content_type, rec)
        elif method in ("GET", "HEAD") and not parts:
            purpose = query_of(target).get("purpose")
            files = [f for f in self._files.values() if purpose in (None, f.purpose)]
            reply = json_reply(page(files[::-1], query_of(target), 10000))
        else:
            reply = self._one(method, parts, rec)
        rec["status"] = reply.status
        if self._log is not None:
            self._log(rec)
        return reply

    def oversized(self, length: int) -> Reply:
        """The 400 for an upload whose body the server would not even read."""
        rec = new_record("/v1/files", status=400)
        rec.update(method="POST", bytes=length)
        if self._log is not None:
            self._log(rec)
        return self._too_large(length)

    def _too_large(self, size: int) -> Reply:
        return error_reply(
            400,
            f"The upload is too large: {size} bytes; the maximum is {self.max_bytes} bytes "
            "(batch.max_bytes).",
            param="file",
            code="file_too_large",
        )

    def _one(self, method: str, parts: list[str], rec: dict[str, Any]) -> Reply:
        """GET / DELETE one file, GET its content."""
        stored = self._files.get(parts[0]) if parts else None
        rec["file_id"] = parts[0] if parts else None
        if len(parts) > 2 or (len(parts) == 2 and parts[1] != "content"):
            return error_reply(404, f"Invalid URL ({method} {rec['path']})")
        if stored is None:
            return not_found("File", parts[0] if parts else "")
        if len(parts) == 2 and method in ("GET", "HEAD"):
            return Reply(body=stored.data, content_type="application/octet-stream")
        if len(parts) == 1 and method in ("GET", "HEAD"):
            return json_reply(stored.to_json())
        if len(parts) == 1 and method == "DELETE":
            del self._files[stored.id]
            return json_reply({"id": stored.id, "object": "file", "deleted": True})
        return error_reply(404, f"Invalid URL ({method} {rec['path']})")

    def _upload(self, raw: bytes, content_type: str, rec: dict[str, Any]) -> Reply:
        try:
            fields = parse(raw, content_type)
        except MultipartError as exc:
            return error_reply(400, str(exc))
        purpose_part, upload = fields.get("purpose"), fields.get("file")
        purpose = purpose_part.data.decode("utf-8", "replace") if purpose_part else None
        rec["purpose"] = purpose
        if purpose is None:
            return _missing("purpose")
        if upload is None:
            return _missing("file")
        rec.update(filename=upload.filename, bytes=len(upload.data))
        if purpose != "batch":
            return error_reply(
                400,
                f"Invalid value for purpose: '{purpose}'. The simulator stores files for the "
                "Batch API only, so purpose must be 'batch'.",
                param="purpose",
                code="invalid_value",
            )
        if len(upload.data) > self.max_bytes:
            return self._too_large(len(upload.data))
        stored = self.add(upload.filename or "upload.jsonl", purpose, upload.data)
        rec.update(file_id=stored.id, lines=count_lines(stored.data))
        return json_reply(stored.to_json())


def _missing(param: str) -> Reply:
    return error_reply(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


@dataclass(slots=True)
class Line:
    """One request of a batch, and its answer once given."""

    number: int  # 1-based line in the input file
    custom_id: str
    body: dict[str, Any]
    status: int | None = None  # None until answered
    payload: Any = None
    req: int = 0  # for the result ids


def _check(number: int, obj: Any, endpoint: str, seen: set[str]) -> dict[str, Any] | None:
    """The validation error of one input line, or None."""

    def err(code: str, message: str, param: str | None = None) -> dict[str, Any]:
        return {"code": code, "message": message, "param": param, "line": number}

    if not isinstance(obj, dict):
        return err("invalid_json_line", "This line is not parseable as valid JSON.")
    cid = obj.get("custom_id")
    if not isinstance(cid, str):
        return err("missing_required_parameter", "Missing or invalid 'custom_id'.", "custom_id")
    if cid in seen:
        return err("duplicate_custom_id", f"The custom_id '{cid}' is not unique.", "custom_id")
    seen.add(cid)
    if obj.get("method") != "POST":
        return err("invalid_method", "Only the POST method is supported.", "method")
    if obj.get("url") != endpoint:
        return err(
            "mismatched_url",
            f"The url '{obj.get('url')}' does not match the batch's endpoint '{endpoint}'.",
            "url",
        )
    if not isinstance(obj.get("body"), dict):
        return err("invalid_body", "The 'body' of a request must be a JSON object.", "body")
    return None


def _file_error(code: str, message: str) -> list[dict[str, Any]]:
    return [{"code": code, "message": message, "param": None, "line": None}]


def parse_input(data: bytes, endpoint: str, cfg: BatchConfig) -> tuple[list[Line], list[dict]]:
    """Validate a batch input file: (its valid lines, at most MAX_ERRORS errors)."""
    count = count_lines(data)
    if count > cfg.max_requests:  # before parsing: such a file may be huge
        message = (f"The file has {count} requests; the maximum is {cfg.max_requests} "
                   "(batch.max_requests).")  # fmt: skip
        return [], _file_error("too_many_requests", message)
    if count == 0:
        return [], _file_error("empty_file", "The input file has no requests.")
    lines, errors, seen = [], [], set()
    for number, text in enumerate(data.splitlines(), 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        problem = _check(number, obj, endpoint, seen)
        if problem is None:
            lines.append(Line(number, obj["custom_id"], obj["body"]))
        elif len(errors) < MAX_ERRORS:
            errors.append(problem)
    return lines, errors
