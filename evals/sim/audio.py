"""Audio transcription: what the sim "hears" in a WAV file, and the response formats.

The sim cannot recognise speech, so it reads the transcript a fixture carries in a
``LIST``/``INFO`` chunk, entry ``ICMT`` (comment); see ``suites/data/media/make_fixtures.py``.
A WAV without one is heard as silence (``""``). The duration comes from the WAV header
(stdlib ``wave``; ``data`` size / byte rate for formats ``wave`` rejects).

Mistakes (deterministic): word i of the transcript (split on spaces) is altered when
``u("asr", model, seed, transcript, i) < 1 - accuracy``, so accuracy 0.9 alters about 10% of
words and 1.0 none. An altered word is dropped (when a second hash is < 0.3) or misheard:
its first vowel shifts (a->e->i->o->u->a; ``metoprolol`` -> ``mitoprolol``) or, for a
number, it becomes number + 1. **Domain terms:** a transcript word whose normalised form
(lower-case, letters/digits only) occurs among the words of the request's ``prompt`` is never
altered, so a prompt naming the domain terms measurably lowers the word error rate.

Formats: ``json`` -> ``{"text", "usage": {"type": "duration", "seconds": ceil(duration)}}``;
``text`` -> the text and a newline (``text/plain``); ``verbose_json`` -> ``{"task",
"language", "duration", "text", "segments", "usage"}`` with one segment per sentence, times
split by character share; ``srt``/``vtt`` -> subtitles of those segments.
"""

from __future__ import annotations

import io
import math
import re
import struct
import wave
from dataclasses import dataclass
from typing import Any

from evals.sim.textutil import unit_hash, words

FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
LANGUAGES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "ja": "japanese",
    "zh": "chinese",
}
_VOWELS = "aeiou"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class Heard:
    """A transcription result before formatting."""

    text: str
    duration: float
    altered: int


def wav_info(data: bytes) -> tuple[float, str] | None:
    """(duration in seconds, ICMT transcript or "") of a WAV file, or None if not a WAV."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    comment, byte_rate, data_size = "", 0, 0
    pos = 12
    while pos + 8 <= len(data):
        tag, size = struct.unpack("<4sI", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if tag == b"fmt " and len(body) >= 12:
            byte_rate = struct.unpack("<I", body[8:12])[0]
        elif tag == b"data":
            data_size = min(size, len(data) - pos - 8)
        elif tag == b"LIST" and body[:4] == b"INFO":
            comment = _info_comment(body[4:]) or comment
        pos += 8 + size + (size & 1)
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            duration = w.getnframes() / w.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError, struct.error):
        duration = data_size / byte_rate if byte_rate else 0.0
    return duration, comment


def _info_comment(info: bytes) -> str | None:
    """The ICMT entry of a LIST/INFO chunk body."""
    pos = 0
    while pos + 8 <= len(info):
        tag, size = struct.unpack("<4sI", info[pos : pos + 8])
        if tag == b"ICMT":
            raw = info[pos + 8 : pos + 8 + size].split(b"\0", 1)[0]
            try:
                return raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                return raw.decode("latin-1").strip()
        pos += 8 + size + (size & 1)
    return None


def _mishear(word: str) -> str:
    """One word misheard: a number + 1, else the first vowel shifted."""
    m = re.search(r"\d+", word)
    if m:
        return word[: m.start()] + str(int(m.group(0)) + 1) + word[m.end() :]
    for i, ch in enumerate(word):
        low = ch.lower()
        if low in _VOWELS:
            new = _VOWELS[(_VOWELS.index(low) + 1) % len(_VOWELS)]
            return word[:i] + (new.upper() if ch.isupper() else new) + word[i + 1 :]
    return ""


def hear(name: str, seed: int, accuracy: float, transcript: str, prompt: str) -> tuple[str, int]:
    """(text heard, words altered) for a transcript (rules in the module docstring)."""
    protected = set(words(prompt))
    out, altered = [], 0
    for i, word in enumerate(transcript.split(" ")):
        norm = "".join(words(word))
        if not norm or norm in protected:
            out.append(word)
            continue
        if unit_hash("asr", name, seed, transcript, i) >= 1 - accuracy:
            out.append(word)
            continue
        altered += 1
        drop = unit_hash("asr-drop", name, seed, transcript, i) < 0.3
        new = "" if drop else _mishear(word)
        if new:
            out.append(new)
    return " ".join(out), altered


def segments(text: str, duration: float, temperature: float) -> list[dict[str, Any]]:
    """One verbose_json segment per sentence; times split by character share."""
    parts = [p for p in _SENTENCE.split(text.strip()) if p] if text.strip() else []
    total = sum(len(p) for p in parts) or 1
    out, start = [], 0.0
    for i, part in enumerate(parts):
        end = duration if i == len(parts) - 1 else start + duration * len(part) / total
        out.append(
            {
                "id": i,
                "seek": 0,
                "start": round(start, 2),
                "end": round(end, 2),
                "text": " " + part,
                "tokens": [],
                "temperature": temperature,
                "avg_logprob": -0.2,
                "compression_ratio": 1.0,
                "no_speech_prob": 0.01,
            }
        )
        start = end
    return out


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def render(
    fmt: str, heard: Heard, language: str | None, temperature: float
) -> tuple[Any, str | None]:
    """(JSON payload, None) or (None, text body) for a response format."""
    usage = {"type": "duration", "seconds": math.ceil(heard.duration)}
    if fmt == "json":
        return {"text": heard.text, "usage": usage}, None
    if fmt == "text":
        return None, heard.text + "\n"
    segs = segments(heard.text, heard.duration, temperature)
    if fmt == "verbose_json":
        lang = LANGUAGES.get((language or "en").lower(), language or "english")
        payload = {
            "task": "transcribe",
            "language": lang,
            "duration": round(heard.duration, 3),
            "text": heard.text,
            "segments": segs,
            "usage": usage,
        }
        return payload, None
    sep = "," if fmt == "srt" else "."
    cues = []
    for i, seg in enumerate(segs, 1):
        timing = f"{_stamp(seg['start'], sep)} --> {_stamp(seg['end'], sep)}"
        cues.append((f"{i}\n" if fmt == "srt" else "") + f"{timing}\n{seg['text'].strip()}\n")
    head = "WEBVTT\n\n" if fmt == "vtt" else ""
    return None, head + "\n".join(cues)
