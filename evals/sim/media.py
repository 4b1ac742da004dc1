"""Endpoints beyond chat: ``/v1/embeddings`` and ``/v1/audio/transcriptions``.

Both follow the chat handler's order: validate -> quota and faults (``Admission.gate``) ->
rate limit (``Admission.limit``) -> answer -> log fields (``evals.sim.admission``).
Transcription requests are logged with the form fields as ``request`` and the file replaced
by ``{"filename", "content_type", "bytes", "sha256"}``; that dict is also what
``body_sha256`` hashes, so a retried upload counts as the same body even though multipart
boundaries differ.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from typing import Any

from evals.sim import payloads
from evals.sim.admission import Admission, apply_fault
from evals.sim.audio import FORMATS, Heard, hear, render, wav_info
from evals.sim.behaviour import latency_s
from evals.sim.config import ModelConfig
from evals.sim.embed import embedding
from evals.sim.multipart import Part
from evals.sim.reply import Reply, error_reply, json_reply
from evals.sim.textutil import text_tokens
from evals.sim.validate import check_embeddings

AUDIO_FORMATS = "['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']"


def embeddings(
    admission: Admission,
    model: ModelConfig,
    body: dict[str, Any],
    sha: str,
    attempt: int,
    rec: dict | None,
) -> Reply:
    """POST /v1/embeddings: hashed bag-of-words vectors (``evals.sim.embed``)."""
    problem = check_embeddings(model, body)
    if problem is not None:
        return error_reply(*problem)
    gated, fault = admission.gate(model, sha, attempt, rec)
    if gated is not None:
        return gated
    items = body["input"]
    if isinstance(items, str) or all(isinstance(t, int) for t in items):
        items = [items]
    tokens = sum(text_tokens(i) if isinstance(i, str) else len(i) for i in items)
    headers: list[tuple[str, str]] = []
    if fault is None:
        headers, limited = admission.limit(model, tokens)
        if limited is not None:
            return limited
    dims = body.get("dimensions")
    vectors = [embedding(model, item, dims) for item in items]
    out = payloads.embeddings(model.name, vectors, tokens, body.get("encoding_format"))
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    if rec is not None and fault is None:
        rec["usage"] = usage
    reply = Reply(body=out, headers=headers)
    if model.latency_ms or model.latency_jitter_ms:
        reply.delay_s = latency_s(model, json.dumps(items)[:200])
    return apply_fault(reply, fault)


def form_body(fields: dict[str, Part]) -> tuple[dict[str, Any], bytes]:
    """(request dict for validation, hashing and the log; the uploaded file's bytes)."""
    body: dict[str, Any] = {}
    for name, part in fields.items():
        if name == "file":
            continue
        value: Any = part.data.decode("utf-8", "replace")
        if name == "temperature":
            with contextlib.suppress(ValueError):
                value = float(value)
        body[name] = value
    upload = fields.get("file")
    if upload is None:
        return body, b""
    body["file"] = {
        "filename": upload.filename,
        "content_type": upload.content_type,
        "bytes": len(upload.data),
        "sha256": hashlib.sha256(upload.data).hexdigest(),
    }
    return body, upload.data


def _bad(message: str, param: str, code: str | None = "invalid_value") -> Reply:
    return error_reply(400, message, param=param, code=code)


def check_transcription(model: ModelConfig, body: dict[str, Any]) -> Reply | None:
    """OpenAI-style 400s for a transcription form."""
    if model.kind != "transcription":
        return _bad(
            f"The model `{model.name}` is a {model.kind} model and does not support audio "
            "transcriptions.",
            "model",
            "unsupported_model",
        )
    if "file" not in body:
        return _bad("Missing required parameter: 'file'.", "file", "missing_required_parameter")
    fmt = body.get("response_format", "json")
    if fmt not in FORMATS:
        allowed = ", ".join(f"'{f}'" for f in FORMATS[:-1]) + f", and '{FORMATS[-1]}'"
        return _bad(f"Invalid value: '{fmt}'. Supported values are: {allowed}.", "response_format")
    temp = body.get("temperature", 0.0)
    if not isinstance(temp, float) or not 0.0 <= temp <= 1.0:
        return _bad(
            f"Invalid 'temperature': expected a number between 0 and 1, got {temp!r}.",
            "temperature",
        )
    return None


def transcribe(
    admission: Admission,
    model: ModelConfig,
    body: dict[str, Any],
    sha: str,
    attempt: int,
    rec: dict | None,
    data: bytes = b"",
) -> Reply:
    """POST /v1/audio/transcriptions (rules in ``evals.sim.audio``)."""
    problem = check_transcription(model, body)
    if problem is not None:
        return problem
    info = wav_info(data)
    if info is None:
        return _bad(
            f"Invalid file format. Supported formats: {AUDIO_FORMATS} (the simulator reads "
            "WAV only).",
            "file",
        )
    gated, fault = admission.gate(model, sha, attempt, rec)
    if gated is not None:
        return gated
    headers: list[tuple[str, str]] = []
    if fault is None:
        headers, limited = admission.limit(model, 0)
        if limited is not None:
            return limited
    duration, transcript = info
    prompt = str(body.get("prompt") or "")
    text, altered = hear(model.name, model.seed, model.accuracy, transcript, prompt)
    heard = Heard(text, duration, altered)
    temperature = body.get("temperature", 0.0)
    fmt = body.get("response_format", "json")
    payload, plain = render(fmt, heard, body.get("language"), temperature)
    if rec is not None and fault is None:
        usage = {"type": "duration", "seconds": math.ceil(duration)}
        rec.update(response_text=text, usage=usage, correct=altered == 0)
    if payload is not None:
        reply = json_reply(payload, headers=headers)
    else:
        reply = Reply(body=(plain or "").encode(), headers=headers, content_type="text/plain")
    if model.latency_ms or model.latency_jitter_ms:
        reply.delay_s = latency_s(model, sha)
    return apply_fault(reply, fault)
