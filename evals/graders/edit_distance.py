"""Edit-distance graders: `levenshtein` (characters) and `wer` (words, for transcripts).

Own dynamic programmes, no dependency: O(n·m) time; `levenshtein` keeps two rows,
`wer` keeps the table because its reason counts substitutions, deletions and insertions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator

from evals.graders.base import (
    NO_EXPECTED,
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    error,
    number,
    quote,
    scalar_list,
)
from evals.graders.registry import register


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def expected_texts(expected: Any) -> list[str] | str:
    """The expected value as candidate strings (a list means "any of"), or an error message."""
    if expected is None:
        return NO_EXPECTED
    texts = scalar_list(expected, "expected value")
    return texts if texts else "expected value is an empty list"


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute one character each cost 1)."""
    start = 0  # a shared prefix and suffix cost nothing: skip them
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    """1 - distance / max(len): 1.0 for equal strings (two empty strings included)."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


class LevenshteinOptions(CommonOptions):
    threshold: float = Field(0.8, ge=0, le=1)  # pass when similarity >= threshold
    # pass when edit distance <= max_distance instead: promptfoo's levenshtein `threshold`
    # (https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#levenshtein-distance)
    max_distance: int | None = Field(None, ge=0)
    ignore_case: bool = False
    trim: bool = True

    @model_validator(mode="after")
    def _one_bar(self) -> LevenshteinOptions:
        if self.max_distance is not None and "threshold" in self.model_fields_set:
            raise ValueError(
                "give `threshold` (minimum similarity, 0-1) or `max_distance` (maximum edit "
                "distance), not both"
            )
        return self


@register
class LevenshteinGrader(BaseGrader):
    """Near-exact text (names, codes, OCR'd strings): score is normalised edit similarity."""

    base_type = "levenshtein"
    Options = LevenshteinOptions
    options: LevenshteinOptions

    def _norm(self, text: str) -> str:
        text = text.strip() if self.options.trim else text
        return text.casefold() if self.options.ignore_case else text

    def check(self, text: str, ctx: GradeContext) -> Check:
        wanted = expected_texts(self.expected(ctx))
        if isinstance(wanted, str):
            return error(wanted)
        got = self._norm(text)
        if self.options.max_distance is not None:
            return self._by_distance(got, wanted, self.options.max_distance)
        scored = [(similarity(got, self._norm(w)), w) for w in wanted]
        score, best = max(scored, key=lambda pair: pair[0])
        distance = levenshtein(got, self._norm(best))
        longest = max(len(got), len(self._norm(best)))
        detail = f"edit distance {distance} over {plural(longest, 'character')}"
        threshold = self.options.threshold
        if score >= threshold:
            summary = f"similarity {number(score)} ≥ {number(threshold)} ({detail})"
            return Check(True, f"{summary} to {quote(best)}", score=score)
        summary = f"similarity {number(score)} < {number(threshold)} ({detail})"
        return Check(False, f"{summary}: expected {quote(best)}, got {quote(got)}", score=score)

    def _by_distance(self, got: str, wanted: list[str], limit: int) -> Check:
        """promptfoo's form: a verdict on the raw distance to the nearest expected text;
        the score is 1 or 0, as in promptfoo."""
        distance, best = min((levenshtein(got, self._norm(w)), w) for w in wanted)
        if distance <= limit:
            return Check(True, f"edit distance {distance} ≤ {limit} to {quote(best)}")
        return Check(
            False, f"edit distance {distance} > {limit}: expected {quote(best)}, got {quote(got)}"
        )


# --- word error rate -----------------------------------------------------------------------

_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
]
_WORD_TO_DIGIT = {word: str(i) for i, word in enumerate(_NUMBER_WORDS)}
_APOSTROPHES = re.compile(r"['’]")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


def words(text: str, *, normalize: bool, numbers_as_words: bool) -> list[str]:
    """Tokens for WER: lower-cased, punctuation dropped ("don't" -> "dont"), 3 == three."""
    if normalize:
        text = _PUNCTUATION.sub(" ", _APOSTROPHES.sub("", text.casefold()))
    tokens = text.split()
    if numbers_as_words:
        tokens = [_WORD_TO_DIGIT.get(token, token) for token in tokens]
    return tokens


@dataclass(frozen=True)
class WordErrors:
    substitutions: int
    deletions: int  # reference words the hypothesis left out
    insertions: int  # hypothesis words the reference does not have
    reference_words: int

    @property
    def rate(self) -> float:
        edits = self.substitutions + self.deletions + self.insertions
        return edits / max(self.reference_words, 1)

    def describe(self) -> str:
        return (
            f"{plural(self.substitutions, 'substitution')}, {plural(self.deletions, 'deletion')}, "
            f"{plural(self.insertions, 'insertion')} over {plural(self.reference_words, 'word')}"
        )


def word_errors(reference: list[str], hypothesis: list[str]) -> WordErrors:
    """Minimum edits turning reference into hypothesis, counted by kind (via a backtrace)."""
    n, m = len(reference), len(hypothesis)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        table[i][0] = i
    for j in range(m + 1):
        table[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            table[i][j] = min(
                table[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]),
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
            )
    subs = dels = ins = 0
    i, j = n, m
    while i or j:
        if i and j and table[i][j] == table[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            subs += reference[i - 1] != hypothesis[j - 1]
            i, j = i - 1, j - 1
        elif i and table[i][j] == table[i - 1][j] + 1:
            dels, i = dels + 1, i - 1
        else:
            ins, j = ins + 1, j - 1
    return WordErrors(subs, dels, ins, n)


class WerOptions(CommonOptions):
    max_wer: float = Field(0.2, ge=0)  # pass when WER <= max_wer
    normalize: bool = True  # lower-case, drop punctuation, collapse whitespace
    numbers_as_words: bool = False  # "3" and "three" are the same word (0-10)


@register
class WerGrader(BaseGrader):
    """Word error rate of a transcript (output) against the reference (expected)."""

    base_type = "wer"
    Options = WerOptions
    options: WerOptions

    def _words(self, text: str) -> list[str]:
        return words(
            text, normalize=self.options.normalize, numbers_as_words=self.options.numbers_as_words
        )

    def check(self, text: str, ctx: GradeContext) -> Check:
        wanted = expected_texts(self.expected(ctx))
        if isinstance(wanted, str):
            return error(wanted)
        hypothesis = self._words(text)
        errors = min((word_errors(self._words(w), hypothesis) for w in wanted), key=_rate)
        rate, limit = errors.rate, self.options.max_wer
        score = max(0.0, 1.0 - rate)
        if rate <= limit:
            return Check(
                True, f"WER {number(rate)} ({errors.describe()}) ≤ {number(limit)}", score=score
            )
        return Check(
            False, f"WER {number(rate)} ({errors.describe()}) > {number(limit)}", score=score
        )


def _rate(errors: WordErrors) -> float:
    return errors.rate
