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
