"""Text helpers shared by every simulated surface: hashing, token estimate, words, entities.

The simulator cannot understand language, so tools, structured output and the judge work
from crude, documented surface features of the prompt. Keeping those rules in one place
means a tool argument and a JSON field are filled from the same "entities":

- **words**: lower-cased runs of letters/digits (``\\w+``); ``content_words`` drops
  ``STOPWORDS`` and folds a plural: one trailing ``s`` goes from words longer than 3
  letters not ending in ``ss`` (``cities`` -> ``citie``, ``cats`` -> ``cat``).
- **string entities**, in order of appearance: quoted strings (``"..."``, ``“...”``, or
  ``'...'`` not inside a word), then runs of capitalised words outside quotes (``New York``,
  ``USD``). A run at the start of a sentence (text start, or after ``. ! ? ;`` or a line
  break; NOT after a colon) loses its first word when that word is a common word (``What``,
  ``Tell``, ``Please``, ...) or when the run is a single word, so ``Book a flight to Rome``
  yields only ``Rome`` and ``Paris is nice`` yields nothing (put names mid-sentence or after
  a colon: ``Extract: Alice is 30`` yields ``Alice``). Leading stopwords of any run are
  dropped (``The Hague`` -> ``Hague``), and a lone ``I`` is never an entity.
- **numbers**, in order: ``-?\\d+(,\\d{3})*(\\.\\d+)?`` outside quotes and not inside a word.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field


def _split(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _split(
    """a an the and or but if of in on at to for from by with about into over under as is are
    was were be been being am do does did done have has had i me my we our you your he she it
    its they them their this that these those what which who whom whose when where why how
    please tell give show find get set can could would should will shall may might must let
    us some any all each every no not yes so than then there here also just very much many
    more most few use using call tool function whats like want need know s t"""
)
_SENTENCE_START_COMMON = STOPWORDS | _split(
    """book send create make convert search look check add remove list compute calculate
    return extract answer reply describe say repeat echo weather hi hello thanks ok"""
)

_WORD = re.compile(r"\w+")
_QUOTED = re.compile(r'"([^"\n]+)"|“([^”\n]+)”|(?<!\w)\'([^\'\n]+)\'(?!\w)')
_CAP_RUN = re.compile(r"\b[A-Z][\w-]*(?:[ \t]+[A-Z][\w-]*)*")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?![\w])")


def unit_hash(*parts: object) -> float:
    """Map parts to a stable float in [0, 1): the simulator's only source of 'randomness'."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def short_hash(*parts: object, length: int = 24) -> str:
    """Hex digest prefix for deterministic ids (tool call ids)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:length]


def text_tokens(text: str) -> int:
    """Token estimate for text: one token per 4 characters, rounded up."""
    return (len(text) + 3) // 4


def words(text: str) -> list[str]:
    """Lower-cased word tokens in order."""
    return _WORD.findall(text.lower())


def fold(word: str) -> str:
    """Crude singular: drop one trailing ``s`` from words longer than 3 (not ``ss``)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """Folded words without stopwords, in order (duplicates kept)."""
    return [fold(w) for w in words(text) if w not in STOPWORDS]


@dataclass(slots=True)
class Entities:
    """Values found in a message, each list in order of appearance."""

    strings: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    text: str = ""


def entities(text: str) -> Entities:
    """String and number entities of ``text`` (rules in the module docstring)."""
    found: list[tuple[int, str]] = []
    masked = list(text)
    for m in _QUOTED.finditer(text):
        value = next(g for g in m.groups() if g is not None).strip()
        if value:
            found.append((m.start(), value))
        masked[m.start() : m.end()] = " " * (m.end() - m.start())
    plain = "".join(masked)
    for m in _CAP_RUN.finditer(plain):
        run = m.group(0).split()
        if _sentence_start(plain, m.start()) and (
            len(run) == 1 or run[0].lower() in _SENTENCE_START_COMMON
        ):
            run = run[1:]
        while run and run[0].lower() in STOPWORDS:
            run = run[1:]
        if run and run != ["I"]:
            found.append((m.start(), " ".join(run)))
    found.sort(key=lambda item: item[0])
    numbers = [m.group(0).replace(",", "") for m in _NUMBER.finditer(plain)]
    return Entities(strings=[v for _, v in found], numbers=numbers, text=text)


def _sentence_start(text: str, pos: int) -> bool:
    """True when only spaces, quotes or brackets stand between ``pos`` and a sentence end."""
    i = pos - 1
    while i >= 0 and text[i] in " \t\"'“(":
        i -= 1
    return i < 0 or text[i] in ".!?;\n"


def mentioned(option: str, text: str) -> int:
    """Position of ``option`` as a whole word/phrase in ``text`` (case-insensitive), or -1."""
    m = re.search(rf"(?<!\w){re.escape(option.lower())}(?!\w)", text.lower())
    return m.start() if m else -1
