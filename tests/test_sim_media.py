"""`evals sim` vision, audio transcription and embeddings, over real HTTP.

Fixtures come from suites/data/media (made by make_fixtures.py). Expected captions,
transcripts and durations are read from the files here with the standard library, and
token counts are worked out by hand from OpenAI's documented image rule.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import struct
import wave
import zlib
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from evals.sim.config import ConfigError, load_config
from evals.sim.server import SimHandle, start_in_thread
from tests.helpers import read_jsonl

MEDIA = Path(__file__).resolve().parent.parent / "suites" / "data" / "media"
TRANSCRIPTS = {
    "metoprolol.wav": "The patient was given metoprolol twice daily.",
    "room42.wav": "Room 42 needs 3 new chairs.",
    "fox.wav": "The quick brown fox jumps over the lazy dog.",
}
CONFIG = """\
models:
  sim-perfect: {accuracy: 1.0}
  sim-wrong: {accuracy: 0.0}
  asr-perfect: {kind: transcription, accuracy: 1.0}
  asr-90: {kind: transcription, accuracy: 0.9}
  asr-deaf: {kind: transcription, accuracy: 0.0}
  asr-flaky: {kind: transcription, accuracy: 1.0, faults: [{kind: "500", times: 1}]}
  emb: {embedding_dimensions: 512}
  emb-noisy: {embedding_dimensions: 512, embedding_noise: 0.8}
"""


# ---------------------------------------------------------------- vision


def png(width: int, height: int, caption: str | None) -> bytes:
    """A valid all-black RGB PNG written by hand (zlib + struct), optional Description."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = zlib.compress(b"\0" * ((width * 3 + 1) * height))
    text = [chunk(b"tEXt", b"Description\0" + caption.encode())] if caption else []
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        [chunk(b"IHDR", ihdr), *text, chunk(b"IDAT", rows), chunk(b"IEND", b"")]
    )


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def look(client: OpenAI, model: str, images: list[tuple[str, str]], text: str) -> Any:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": u, "detail": d}} for u, d in images]
    return client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": parts}]
    )


def caption_of(path: Path) -> str:
    """The tEXt Description of a PNG, read independently of the simulator."""
    data, pos = path.read_bytes(), 8
    while pos < len(data):
        length, tag = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if tag == b"tEXt" and body.startswith(b"Description\0"):
            return body.split(b"\0", 1)[1].decode("latin-1")
        pos += 12 + length
    raise AssertionError(f"{path} has no Description")


def test_fixture_sizes() -> None:
    for path in MEDIA.iterdir():
        if path.suffix in (".wav", ".png"):
            assert path.stat().st_size < 100_000, path


def test_vision_caption_and_tokens(client: OpenAI, paths: dict[str, Path]) -> None:
    red, blue = MEDIA / "red_square.png", MEDIA / "blue_circle.png"
    assert (caption_of(red), caption_of(blue)) == ("a red square", "a blue circle")
    question = "What is in this image?"
    low = look(client, "sim-perfect", [(data_url(red.read_bytes()), "low")], question)
    assert low.choices[0].message.content == "a red square"
    assert low.usage.prompt_tokens == 4 + math.ceil(len(question) / 4) + 85
    assert low.usage.prompt_tokens_details.image_tokens == 85
    # 64x64 at high detail: no scaling, one 512-px tile -> 85 + 170
    high = look(client, "sim-perfect", [(data_url(red.read_bytes()), "high")], question)
    assert high.usage.prompt_tokens_details.image_tokens == 255
    both = look(
        client,
        "sim-perfect",
        [(data_url(red.read_bytes()), "auto"), (data_url(blue.read_bytes()), "low")],
        "Describe.",
    )
    assert both.choices[0].message.content == "a red square; a blue circle"
    assert both.usage.prompt_tokens_details.image_tokens == 255 + 85
    assert read_jsonl(paths["log"])[-1]["images"] == 2


def test_vision_tiles_by_hand(client: OpenAI) -> None:
    # 1024x600: fits 2048, shortest side 600 <= 768 -> 2 x 2 tiles -> 85 + 4 * 170 = 765
    wide = look(client, "sim-perfect", [(data_url(png(1024, 600, "a wide sky")), "high")], "?")
    assert wide.usage.prompt_tokens_details.image_tokens == 765
    assert wide.choices[0].message.content == "a wide sky"
    # OpenAI's example: 2048x4096 -> 1024x2048 -> 768x1536 -> 2 x 3 tiles -> 1105
    tall = look(client, "sim-perfect", [(data_url(png(2048, 4096, None)), "high")], "?")
    assert tall.usage.prompt_tokens_details.image_tokens == 1105


def test_vision_wrong_and_unseen(client: OpenAI) -> None:
    red = data_url((MEDIA / "red_square.png").read_bytes())
    wrong = look(client, "sim-wrong", [(red, "low")], "What is in this image?")
    assert wrong.choices[0].message.content == "a blue square"  # red -> blue
    url = look(client, "sim-perfect", [("https://example.com/cat.png", "auto")], "What is it?")
    assert url.choices[0].message.content == "I cannot see that image"
    assert url.usage.prompt_tokens_details.image_tokens == 255  # unknown size: one tile


# ---------------------------------------------------------------- transcription


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def transcribe(client: OpenAI, model: str, name: str, **kw: Any) -> Any:
    with open(MEDIA / name, "rb") as f:
        return client.audio.transcriptions.create(model=model, file=f, **kw)


def wer(ref: str, hyp: str) -> float:
    """Word error rate by edit distance over lower-cased words (punctuation stripped)."""
    r = ["".join(ch for ch in w.lower() if ch.isalnum()) for w in ref.split()]
    h = ["".join(ch for ch in w.lower() if ch.isalnum()) for w in hyp.split()]
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i]
        for j, hw in enumerate(h, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw)))
        prev = cur
    return prev[-1] / len(r)


def test_transcription_formats(client: OpenAI, paths: dict[str, Path]) -> None:
    name, text = "metoprolol.wav", TRANSCRIPTS["metoprolol.wav"]
    seconds = wav_duration(MEDIA / name)
    as_json = transcribe(client, "asr-perfect", name)
    assert as_json.text == text
    assert as_json.usage.type == "duration" and as_json.usage.seconds == math.ceil(seconds)
    assert transcribe(client, "asr-perfect", name, response_format="text") == text + "\n"
    verbose = transcribe(client, "asr-perfect", name, response_format="verbose_json", language="en")
    assert verbose.text == text and verbose.language == "english"
    assert math.isclose(verbose.duration, seconds, abs_tol=0.001)
    assert verbose.segments[0].text.strip() == text
    assert math.isclose(verbose.segments[-1].end, seconds, abs_tol=0.01)
    srt = transcribe(client, "asr-perfect", name, response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:02,") and text in srt
    line = read_jsonl(paths["log"])[-1]
    assert line["path"] == "/v1/audio/transcriptions" and line["response_text"] == text
    assert line["request"]["file"]["bytes"] == (MEDIA / name).stat().st_size
    assert line["usage"] == {"type": "duration", "seconds": math.ceil(seconds)}
    assert line["correct"] is True


def test_transcription_accuracy_and_domain_prompt(client: OpenAI) -> None:
    for name, text in TRANSCRIPTS.items():
        assert transcribe(client, "asr-perfect", name).text == text
        noisy = transcribe(client, "asr-90", name).text
        assert noisy == transcribe(client, "asr-90", name).text  # deterministic
        assert wer(text, noisy) <= 0.5
    text = TRANSCRIPTS["metoprolol.wav"]
    deaf = transcribe(client, "asr-deaf", "metoprolol.wav").text
    assert "metoprolol" not in deaf.split() and wer(text, deaf) == 1.0  # every word altered
    helped = transcribe(client, "asr-deaf", "metoprolol.wav", prompt="Drugs: metoprolol.").text
    assert "metoprolol" in helped.split()
    assert math.isclose(wer(text, helped), 6 / 7)  # only the protected word survives


def post_form(sim: SimHandle, fields: dict[str, str], file: bytes | None) -> tuple[int, dict]:
    boundary = "simtestboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    if file is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n".encode()
            + file
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    conn.request("POST", "/v1/audio/transcriptions", body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, json.loads(resp.read())
    conn.close()
    return out


def test_transcription_retry_is_the_same_body(sim: SimHandle, paths: dict[str, Path]) -> None:
    wav = (MEDIA / "room42.wav").read_bytes()
    assert post_form(sim, {"model": "asr-flaky"}, wav)[0] == 500
    status, body = post_form(sim, {"model": "asr-flaky"}, wav)
    assert status == 200 and body["text"] == TRANSCRIPTS["room42.wav"]
    mine = [x for x in read_jsonl(paths["log"]) if x["model"] == "asr-flaky"]
    assert [(x["attempt"], x["fault"], x["status"]) for x in mine] == [
        (1, "500", 500),
        (2, None, 200),
    ]


def test_transcription_errors(sim: SimHandle, client: OpenAI) -> None:
    wav = (MEDIA / "fox.wav").read_bytes()
    status, body = post_form(sim, {"model": "asr-perfect"}, wav)
    assert status == 200 and body["text"] == TRANSCRIPTS["fox.wav"]
    status, body = post_form(sim, {"model": "asr-perfect"}, None)
    assert status == 400 and body["error"]["param"] == "file"
    status, body = post_form(sim, {"model": "asr-perfect"}, b"ID3 not a wav")
    assert status == 400 and "Invalid file format" in body["error"]["message"]
    status, body = post_form(sim, {"model": "asr-perfect", "response_format": "xml"}, wav)
    assert status == 400 and body["error"]["param"] == "response_format"
    with pytest.raises(openai.NotFoundError):
        transcribe(client, "no-such-model", "fox.wav")
    with pytest.raises(openai.BadRequestError, match="does not support audio transcriptions"):
        transcribe(client, "sim-perfect", "fox.wav")
    with pytest.raises(openai.BadRequestError, match="does not support chat completions"):
        client.chat.completions.create(
            model="asr-perfect", messages=[{"role": "user", "content": "hi"}]
        )


# ---------------------------------------------------------------- embeddings

CORPUS = [
    "How to reset your account password from the settings page",
    "Shipping times for international orders and delivery tracking",
    "Refund policy: returns are accepted within 30 days of purchase",
    "Change the language of the mobile app in preferences",
    "Our office hours and public holiday closures",
]
QUERIES = [
    ("I forgot my password, how do I reset it?", 0),
    ("where is my international delivery", 1),
    ("can I get a refund after 30 days", 2),
    ("switch app language", 3),
    ("are you open on a public holiday", 4),
]


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def vectors(client: OpenAI, model: str, texts: list[str], **kw: Any) -> list[list[float]]:
    resp = client.embeddings.create(model=model, input=texts, encoding_format="float", **kw)
    return [d.embedding for d in resp.data]


def hits_at_1(client: OpenAI, model: str, **kw: Any) -> int:
    docs = vectors(client, model, CORPUS, **kw)
    qs = vectors(client, model, [q for q, _ in QUERIES], **kw)
    return sum(
        max(range(len(docs)), key=lambda i: cos(q, docs[i])) == want
        for q, (_, want) in zip(qs, QUERIES, strict=True)
    )


def test_embeddings_mean_something(client: OpenAI, paths: dict[str, Path]) -> None:
    a, b, c = vectors(
        client,
        "emb",
        ["the cat sat on the mat", "a cat sat on a mat", "quarterly revenue grew strongly"],
    )
    assert len(a) == 512 and math.isclose(cos(a, a), 1.0, rel_tol=1e-9)
    # 4 of 6 unigrams and 2 of 5 bigrams shared -> clearly similar; nothing shared -> ~0
    assert cos(a, b) > 0.4 and abs(cos(a, c)) < 0.15
    assert hits_at_1(client, "emb") == len(QUERIES)
    assert hits_at_1(client, "emb", dimensions=8) < len(QUERIES)  # collisions hurt
    assert hits_at_1(client, "emb-noisy") < len(QUERIES)
    with start_in_thread(config_path=str(paths["config"])) as other:
        again = OpenAI(base_url=other.base_url, api_key="x", max_retries=0)
        assert vectors(again, "emb", ["the cat sat on the mat"])[0] == a


def test_embedding_truncation(client: OpenAI) -> None:
    (full,) = vectors(client, "emb", ["reset my password"])
    (cut,) = vectors(client, "emb", ["reset my password"], dimensions=64)
    norm = math.sqrt(sum(v * v for v in full[:64]))
    assert len(cut) == 64 and all(
        math.isclose(x, y / norm, abs_tol=1e-12) for x, y in zip(cut, full[:64], strict=True)
    )
    packed = (
        client.embeddings.create(
            model="emb", input="reset my password", dimensions=64, encoding_format="base64"
        )
        .data[0]
        .embedding
    )
    decoded = struct.unpack("<64f", base64.b64decode(packed)) if isinstance(packed, str) else packed
    assert all(math.isclose(x, y, abs_tol=1e-6) for x, y in zip(decoded, cut, strict=True))
    with pytest.raises(openai.BadRequestError, match="at most 512"):
        client.embeddings.create(model="emb", input="x", dimensions=1024)


# ---------------------------------------------------------------- config and built-ins


def test_builtin_media_models() -> None:
    with start_in_thread() as builtin:
        client = OpenAI(base_url=builtin.base_url, api_key="x", max_retries=0, timeout=5)
        text = transcribe(client, "sim-transcribe-perfect", "fox.wav").text
        assert text == TRANSCRIPTS["fox.wav"]
        large = client.embeddings.create(model="sim-embed-large", input="hi", dimensions=256)
        assert len(large.data[0].embedding) == 256


def test_new_config_keys_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  m1:\n    kind: speech\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:3: models.m1.kind: 'speech' is not one of"):
        load_config(bad)
    bad.write_text("models:\n  m1: {embedding_noise: 1.5}\n")
    with pytest.raises(ConfigError, match="embedding_noise: must be within 0..1"):
        load_config(bad)
    bad.write_text("models:\n  m1: {judge_garbage: 1}\n")
    with pytest.raises(ConfigError, match="judge_garbage: expected bool"):
        load_config(bad)
