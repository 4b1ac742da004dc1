"""Regenerate the media fixtures in this folder: ``python suites/data/media/make_fixtures.py``.

The simulator (``evals sim``) cannot recognise speech or pixels, so each fixture carries its
ground truth inside the file, where a real API would ignore it:

- WAV files are spoken by Debian's ``espeak-ng`` (``apt-get install espeak-ng``), trimmed of
  leading/trailing silence, resampled to 16 kHz mono 16-bit (so each stays < 100 KB) and get a
  ``LIST``/``INFO`` chunk whose ``ICMT`` (comment) entry holds the exact transcript.
- PNG files are drawn here (zlib + struct, no Pillow) and get a ``tEXt`` chunk with keyword
  ``Description`` holding the caption.

Real endpoints hear the speech and see the pixels; the sim reads the embedded text. So the same
files exercise both. Only the standard library (and the espeak-ng binary for WAVs) is needed.
"""

from __future__ import annotations

import array
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATE = 16_000
MAX_BYTES = 100_000

SPEECH = {
    "metoprolol.wav": "The patient was given metoprolol twice daily.",
    "room42.wav": "Room 42 needs 3 new chairs.",
    "fox.wav": "The quick brown fox jumps over the lazy dog.",
}
IMAGES = {
    "red_square.png": ("a red square", "square", (220, 30, 30)),
    "blue_circle.png": ("a blue circle", "circle", (30, 60, 220)),
}


def riff_chunk(tag: bytes, data: bytes) -> bytes:
    """One RIFF chunk: tag, little-endian size, data, pad byte when the size is odd."""
    return tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def wav_bytes(samples: array.array, rate: int, comment: str) -> bytes:
    """A 16-bit mono PCM WAV with the transcript in LIST/INFO/ICMT (before the data chunk)."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    text = comment.encode("utf-8") + b"\0"
    info = riff_chunk(b"LIST", b"INFO" + riff_chunk(b"ICMT", text))
    pcm = samples.tobytes() if sys.byteorder == "little" else _swapped(samples)
    body = b"WAVE" + riff_chunk(b"fmt ", fmt) + info + riff_chunk(b"data", pcm)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _swapped(samples: array.array) -> bytes:
    copy = array.array("h", samples)
    copy.byteswap()
    return copy.tobytes()


def trim_silence(samples: array.array, rate: int, threshold: int = 300) -> array.array:
    """Drop leading/trailing near-silence, keeping 100 ms of margin on each side."""
    loud = [i for i, v in enumerate(samples) if abs(v) > threshold]
    if not loud:
        return samples
    pad = rate // 10
    return samples[max(0, loud[0] - pad) : min(len(samples), loud[-1] + pad)]


def resample(samples: array.array, src: int, dst: int) -> array.array:
    """Linear-interpolation resampling after a [1, 2, 1]/4 low-pass (enough for espeak)."""
    if src == dst:
        return samples
    n = len(samples)
    smooth = [
        (samples[max(i - 1, 0)] + 2 * samples[i] + samples[min(i + 1, n - 1)]) / 4 for i in range(n)
    ]
    out = array.array("h")
    step = src / dst
    for j in range(int(n / step)):
        x = j * step
        i = int(x)
        frac = x - i
        nxt = smooth[i + 1] if i + 1 < n else smooth[i]
        out.append(max(-32768, min(32767, round(smooth[i] * (1 - frac) + nxt * frac))))
    return out


def speak(text: str) -> tuple[array.array, int]:
    """Samples and rate of ``text`` spoken by espeak-ng at 150 words per minute."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(out), "-s", "150", text], check=True)
        with wave.open(str(out), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise SystemExit("espeak-ng did not write 16-bit mono audio")
            rate = w.getframerate()
            samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        samples.byteswap()
    return samples, rate


def png_chunk(tag: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bytes(width: int, height: int, pixel, caption: str | None) -> bytes:
    """An 8-bit RGB PNG; ``pixel(x, y)`` gives (r, g, b); ``caption`` goes into tEXt Description."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows.extend(pixel(x, y))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [png_chunk(b"IHDR", ihdr)]
    if caption is not None:
        chunks.append(png_chunk(b"tEXt", b"Description\0" + caption.encode("latin-1")))
    chunks.append(png_chunk(b"IDAT", zlib.compress(bytes(rows), 9)))
    chunks.append(png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def shape_pixel(shape: str, colour: tuple[int, int, int], size: int = 64):
    """A pixel function: the shape in ``colour`` on white."""
    white = (255, 255, 255)
    c = (size - 1) / 2

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if shape == "square":
            inside = 12 <= x < size - 12 and 12 <= y < size - 12
        else:
            inside = (x - c) ** 2 + (y - c) ** 2 <= (size * 0.35) ** 2
        return colour if inside else white

    return pixel


def main() -> None:
    for name, text in SPEECH.items():
        samples, rate = speak(text)
        samples = resample(trim_silence(samples, rate), rate, RATE)
        data = wav_bytes(samples, RATE, text)
        if len(data) > MAX_BYTES:
            raise SystemExit(f"{name}: {len(data)} bytes, over {MAX_BYTES}; shorten the text")
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(samples) / RATE:.2f} s, {len(data)} bytes: {text!r}")
    for name, (caption, shape, colour) in IMAGES.items():
        data = png_bytes(64, 64, shape_pixel(shape, colour), caption)
        (HERE / name).write_bytes(data)
        print(f"{name}: 64x64, {len(data)} bytes: {caption!r}")


if __name__ == "__main__":
    main()
