"""Embeddings that mean something: a hashed bag of words, so retrieval can be evaluated.

Rule for one input text, with ``D = model.embedding_dimensions`` (the native size):

1. Features: the lower-cased words (``\\w+``) and every pair of adjacent words (bigrams);
   a token-id input uses its ids as words (``t<id>``).
2. The D coordinates are split into nested blocks ``[0, 8), [8, 16), [16, 32), [32, 64)``,
   ... (each block as large as everything before it; the last one ends at D). Every feature
   is hashed (blake2b over ``(model.seed, feature)``) into one coordinate of EVERY block with
   a sign from the hash, weighted ``sqrt(block size)`` so large blocks dominate. Texts sharing
   words share coordinates, so their cosine similarity is high; unrelated texts are
   near-orthogonal. This is what makes truncation Matryoshka-like: the first d coordinates
   are themselves a complete, smaller hashed bag of words (never an all-zero vector).
3. With ``embedding_noise = n > 0`` the vector (normalised) is mixed with a per-text random
   unit vector: ``(1 - n) * bow + n * noise``, so models can differ in retrieval quality.
4. L2-normalise. ``dimensions = d`` (<= D) keeps the first d coordinates and renormalises
   (Matryoshka-style truncation): fewer dimensions, more hash collisions, worse retrieval,
   as with real models. A text with no words gets the noise vector alone.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct

from evals.sim.config import ModelConfig

_WORD = re.compile(r"\w+")


def features(item: object) -> list[str]:
    """Unigrams and bigrams of a text (or of a token-id list)."""
    if isinstance(item, str):
        tokens = _WORD.findall(item.lower())
    elif isinstance(item, list):
        tokens = [f"t{t}" for t in item]
    else:
        tokens = []
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def _noise(model: ModelConfig, item: object, dims: int) -> list[float]:
    """A per-text random unit vector (the pre-bag-of-words behaviour)."""
    raw = hashlib.shake_256(f"{model.name}\x1f{model.seed}\x1f{item!r}".encode()).digest(2 * dims)
    values = [v - 32767.5 for v in struct.unpack(f"<{dims}H", raw)]
    return _normalised(values)


def _normalised(values: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values] if norm else values


def blocks(native: int) -> list[tuple[int, int]]:
    """(start, size) of the nested blocks covering ``native`` coordinates."""
    out, start, size = [], 0, 8
    while start < native:
        size = min(size, native - start)
        out.append((start, size))
        start += size
        size = start
    return out


def embedding(model: ModelConfig, item: object, dims: int | None = None) -> list[float]:
    """Deterministic unit vector for one input, truncated to ``dims`` (rule in the docstring)."""
    native = model.embedding_dimensions
    vec = [0.0] * native
    seed = f"{model.seed}\x1f".encode()
    layout = [(start, size, math.sqrt(size)) for start, size in blocks(native)]
    for feature in features(item):
        digest = hashlib.blake2b(seed + feature.encode(), digest_size=64).digest()
        for i, (start, size, weight) in enumerate(layout):
            h = int.from_bytes(digest[(4 * i) % 64 : (4 * i) % 64 + 4], "big")
            vec[start + h % size] += weight if h & 0x80000000 else -weight
    vec = _normalised(vec)
    noise = model.embedding_noise
    if noise > 0 or not any(vec):
        rnd = _noise(model, item, native)
        n = noise if any(vec) else 1.0
        vec = _normalised([(1 - n) * a + n * b for a, b in zip(vec, rnd, strict=True)])
    if dims is not None and dims < native:
        vec = _normalised(vec[:dims])
    return vec
