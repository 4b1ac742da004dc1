"""The request log (``log_path``): one JSON line per HTTP request handled, flushed at once::

    {"ts": 1730000000.123,          # time.time() when handled
     "model": "sim-good",           # the body's "model" (null for GET / unparsable bodies)
     "path": "/v1/chat/completions",  # request path, query string removed
     "body_sha256": "...",          # sha256 of the canonical JSON body (raw bytes if not JSON)
     "attempt": 1,                  # 1-based count of requests with this identical body
     "status": 200,                 # HTTP status sent; null for disconnect/stall faults
     "fault": null,                 # fault kind injected, or null
     "stream": false,
     "request": {...},              # the parsed JSON body (null when unparsable / GET)
     "response_text": "19",         # answer content (a transcription: the text heard); null
                                    # for errors, faults, embeddings and tool-call answers
     "usage": {...},                # usage object sent; null when none was sent (for a
                                    # transcription: the duration billed, whatever the format)
     "correct": true,               # checkable prompt answered right (False when cut by
                                    # max tokens; tool calls: no argument corrupted;
                                    # transcription: no word altered); null for canned
                                    # answers, judge verdicts, tool results, errors, faults
     "tool_calls": [...],           # the tool_calls sent (chat), else null
     "images": 0}                   # image parts in the chat request's messages, else null

A chat request to a model with ``slots`` (the load model) also has a ``load`` object with
the queue wait and the token deadlines it was given (absolute ``time.perf_counter()``
seconds; fields in ``evals.sim.loadmodel``); its record is written when the request is over,
so such records appear in order of completion.

For ``/v1/audio/transcriptions`` (multipart) ``request`` holds the form fields with the file
replaced by ``{"filename", "content_type", "bytes", "sha256"}``; ``body_sha256`` hashes that.

The Files and Batch APIs (``evals.sim.batch_files``, ``evals.sim.batches``) log every
request with the fields above (mostly null) plus ``method``, and:

- ``/v1/files`` POST: ``purpose``, ``filename``, ``bytes`` (the file's size; for a body too
  large to read, the body's), and on success ``file_id`` and ``lines`` (non-empty lines);
  ``/v1/files/{id}[/content]``: ``file_id``;
- ``/v1/batches`` POST: ``input_file_id``, ``endpoint``, and on success ``batch_id`` and
  ``lines``; ``/v1/batches/{id}`` and ``/v1/batches/{id}/cancel``: ``batch_id`` and
  ``batch_status`` (the status in the reply);
- each answered batch line: a record exactly like the online request's (``path`` = the
  line's ``url``, ``request`` = its ``body``, ``attempt``, ``usage``, ``response_text``, ...)
  plus ``batch_id``, ``custom_id`` and ``via: "batch"``; ``status`` is the line's status
  (500 for a disconnect / stall / cut / malformed fault), ``fault`` is ``"batch_fail"`` for
  a line failed by ``batch.fail_rate``. Lines are answered (and logged) when a client's
  look at the batch finds them due, so their ``ts`` is that look's time.

Tests use it to compute expected figures independently of the client. While logging, the
server keeps one attempt counter per distinct body, so memory grows with distinct bodies.
"""

from __future__ import annotations

import json
import time
from typing import Any


class RequestLog:
    """Append-only JSONL file, flushed per line so readers see every handled request."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (lives with the server)

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def new_record(path: str, status: int | None = None) -> dict[str, Any]:
    """A fresh log record with every field present."""
    return {
        "ts": time.time(),
        "model": None,
        "path": path,
        "body_sha256": None,
        "attempt": None,
        "status": status,
        "fault": None,
        "stream": False,
        "request": None,
        "response_text": None,
        "usage": None,
        "correct": None,
        "tool_calls": None,
        "images": None,
    }
