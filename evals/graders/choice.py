"""Multiple choice: `type: choice`, the answer read from the text a model wrote.

The options are a case variable (`choices_var`, default `choices`: a list of option
texts, shown to the model as A, B, C, ...); the expected answer is the case's `expect`
(or the grader's `value`): a letter ("B"), a 0-based index (1), or the option's text.

Models answer in many forms, so the answer is looked for in this order, and the first
form found decides: an explicit "Answer: B" / "the answer is (B)" / "option B"; the
whole reply being a letter ("B", "(b)", "B."); a reply that starts with a lettered
option ("B) Paris", "B. Paris"); the text of exactly one option; a lone capital letter
of the options standing as a word (not the article "A"). A reply naming no option, or
naming two with nothing to prefer one, fails with the reason, never a guess.

Where the endpoint sent logprobs (the suite's params ask for them: `logprobs: true,
top_logprobs: 5`), the answer is scored from the top logprobs of the answer token: the
token the answer's letter was written in, or else the reply's first token (so a
4-option question can be scored with `max_tokens: 1`). The option letters' probabilities,
normalised over the options, pick the answer (the likeliest), give the score (the
probability of the right option) and the Brier score the summary reports. `scoring:`
says which way: `auto` (logprobs when sent, else the text), `text`, or `logprobs`
(a response without them is a grader error that says how to ask for them).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from evals.endpoints.logprobs import TokenLogprob
from evals.graders.base import BaseGrader, Check, CommonOptions, GradeContext, error, fail, ok
from evals.graders.registry import register
from evals.stats.calibration import brier_score

LETTERS = string.ascii_uppercase

_EXPLICIT = re.compile(
    r"\b(?:answer|option|choice)(?:\s+is)?\s*[:=\-]?\s*\(?\s*([A-Za-z])\s*\)?(?![A-Za-z])",
    re.IGNORECASE,
)
_ONLY_LETTER = re.compile(r"^\W*\(?\s*([A-Za-z])\s*\)?\W*$")
_LEADING = re.compile(r"^\s*\(?([A-Z])\s*[\).:]\s")
_LONE = re.compile(r"(?<![A-Za-z'’-])([A-Z])(?![A-Za-z'’-])")


class ChoiceOptions(CommonOptions):
    choices_var: str = "choices"  # the case variable holding the list of option texts
    shuffle: bool = False  # each repeat shows the options in its own order (by `seed`)
    seed: int = 0
    scoring: Literal["auto", "text", "logprobs"] = "auto"  # auto: logprobs when sent


def letter_of(index: int) -> str:
    return LETTERS[index]


def expected_index(expected: Any, choices: Sequence[str]) -> int | str:
    """The expected option's 0-based index, or why it cannot be read."""
    if isinstance(expected, bool):
        return f"expected answer {expected!r} is neither a letter, an index nor an option"
    if isinstance(expected, int):
        if 0 <= expected < len(choices):
            return expected
        return f"expected index {expected} is outside the {len(choices)} options"
    if isinstance(expected, str):
        text = expected.strip()
        if len(text) == 1 and text.upper() in LETTERS[: len(choices)]:
            return LETTERS.index(text.upper())
        folded = [c.strip().casefold() for c in choices]
        if text.casefold() in folded:
            return folded.index(text.casefold())
    return f"expected answer {expected!r} is neither a letter, an index nor an option"


def parse_answer(text: str, choices: Sequence[str]) -> tuple[int | None, str]:
    """(the option index the text answers, how it was read); None when it names none."""
    found, how, _ = locate_answer(text, choices)
    return found, how


def locate_answer(text: str, choices: Sequence[str]) -> tuple[int | None, str, int | None]:
    """As `parse_answer`, plus where in the text the answer's letter stands (None when
    the answer was read from an option's text, or not found)."""
    valid = LETTERS[: len(choices)]

    def letter(match: re.Match[str] | None) -> int | None:
        if match and match.group(1).upper() in valid:
            return valid.index(match.group(1).upper())
        return None

    for how, match in (
        ("stated", _EXPLICIT.search(text)),
        ("a letter", _ONLY_LETTER.search(text)),
        ("a lettered option", _LEADING.match(text)),
    ):
        found = letter(match)
        if found is not None:
            assert match is not None
            return found, how, match.start(1)
    named = _options_named(text, choices)
    if len(named) == 1:
        return named[0], "the option's text", None
    lone: dict[int, int] = {}
    for m in _LONE.finditer(text):
        if m.group(1) in valid and not _is_article(text, m):
            lone.setdefault(valid.index(m.group(1)), m.start(1))
    if len(lone) == 1:
        (index, at), *_ = lone.items()
        return index, "a letter", at
    return None, "two options" if len(named) > 1 or len(lone) > 1 else "no option", None


def _options_named(text: str, choices: Sequence[str]) -> list[int]:
    folded = text.casefold()
    named = [
        i
        for i, choice in enumerate(choices)
        if choice.strip()
        and re.search(rf"(?<!\w){re.escape(choice.strip().casefold())}(?!\w)", folded)
    ]
    # an option inside a longer one ("York" in "New York") is not named on its own
    return [
        i
        for i in named
        if not any(
            j != i and choices[i].strip().casefold() in choices[j].strip().casefold() for j in named
        )
    ]


def _is_article(text: str, match: re.Match[str]) -> bool:
    """ "A" followed by a lower-case word is the article, not option A."""
    return match.group(1) == "A" and re.match(r"\s+[a-z]", text[match.end() :]) is not None


def _show(index: int, choices: Sequence[str]) -> str:
    option = choices[index].strip()
    short = option if len(option) <= 60 else option[:59] + "…"
    return f"{letter_of(index)} ({short})"


@register
class ChoiceGrader(BaseGrader):
    """The option the model chose is the expected one."""

    base_type = "choice"
    Options = ChoiceOptions
    options: ChoiceOptions

    def check(self, text: str, ctx: GradeContext) -> Check:
        choices = (ctx.vars or {}).get(self.options.choices_var)
        if not isinstance(choices, list) or not choices or len(choices) > len(LETTERS):
            return error(
                f"the case needs `{self.options.choices_var}`: a list of 1 to "
                f"{len(LETTERS)} option texts (set `choices_var` to use another variable)"
            )
        choices = [str(c) for c in choices]
        expected = self.expected(ctx)
        if expected is None:
            return error("no expected answer: give the case an `expect` (letter, index or text)")
        want = expected_index(expected, choices)
        if isinstance(want, str):
            return error(want)
        got, how, at = locate_answer(text, choices)
        scoring = self.options.scoring
        if scoring != "text" and ctx.logprobs:
            probabilities = _answer_probabilities(ctx.logprobs, len(choices), at)
            if probabilities is not None:
                return _by_probability(probabilities, want, choices, got)
            if scoring == "logprobs":
                return error("no option letter among the answer token's top logprobs")
        elif scoring == "logprobs":
            return error(
                "the response carries no logprobs: add `logprobs: true` and "
                "`top_logprobs: 5` to the suite's params (an endpoint may not support them)"
            )
        if got is None:
            return fail(f"the answer names {how}; expected {_show(want, choices)}")
        if got == want:
            return ok(f"answered {_show(got, choices)} ({how})")
        return fail(f"answered {_show(got, choices)} ({how}), expected {_show(want, choices)}")


def _answer_probabilities(
    tokens: Sequence[TokenLogprob], count: int, at: int | None
) -> list[float] | None:
    """The options' probabilities at the answer token: the token covering the letter the
    text was read from (`at`, a character offset), else the reply's first token."""
    if at is not None:
        offset = 0
        for token in tokens:
            if offset <= at < offset + len(token.token):
                found = option_probabilities(token.top, count)
                if found is not None:
                    return found
                break
            offset += len(token.token)
    return option_probabilities(tokens[0].top, count)


def _by_probability(
    probabilities: Sequence[float], want: int, choices: Sequence[str], text_answer: int | None
) -> Check:
    """The verdict of the likeliest option; score: the right option's probability."""
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    shown = " ".join(f"{letter_of(i)} {p:.2f}" for i, p in enumerate(probabilities))
    how = f"from logprobs: {shown}"
    if text_answer is not None and text_answer != best:
        how += f"; the text says {letter_of(text_answer)}"
    brier = brier_score(probabilities, want)
    score = probabilities[want]
    if best == want:
        return Check(True, f"answered {_show(best, choices)} ({how})", score=score, brier=brier)
    reason = f"answered {_show(best, choices)} ({how}), expected {_show(want, choices)}"
    return Check(False, reason, score=score, brier=brier)


def option_probabilities(
    top_logprobs: Sequence[tuple[str, float]], count: int
) -> list[float] | None:
    """Each option's probability from the top logprobs of the answer's first token.

    A token that is an option's letter (spaces, brackets and case aside: " B", "(b")
    adds its probability to that option; the sum over the options is normalised to 1,
    so a 4-option question is scored from one token. None when no option's letter is
    among the top tokens (the model was about to write something else).
    """
    valid = LETTERS[:count]
    mass = [0.0] * count
    for token, logprob in top_logprobs:
        letter = token.strip().strip("()[].:").upper()
        if len(letter) == 1 and letter in valid:
            mass[valid.index(letter)] += math.exp(logprob)
    total = sum(mass)
    return None if total <= 0 else [m / total for m in mass]


def shuffled_order(count: int, seed: int | str, case_id: str, repeat: int) -> list[int]:
    """A permutation of the options for one sample: the same for the same seed, case
    and repeat, different across repeats (to expose a preference for a position).
    Position i of the shown options holds original option order[i]."""
    digest = hashlib.sha256(f"{seed}\0{case_id}\0{repeat}".encode()).digest()
    order = list(range(count))
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return order


def shuffle_case(vars_: Mapping[str, Any], expect: Any, options: ChoiceOptions, case_id: str,
                 repeat: int) -> tuple[dict[str, Any], Any]:  # fmt: skip
    """A case's vars with its options in this repeat's order, and `expect` following its
    option (a letter or index moves with it; an option's text needs no change).

    The order is kept in the vars (`choice_order`: original index of each shown option), so
    the stored sample says what the model saw. Unreadable options are left as they are:
    the grader then says what is wrong with them.
    """
    choices = vars_.get(options.choices_var)
    if not isinstance(choices, list) or not 1 < len(choices) <= len(LETTERS):
        return dict(vars_), expect
    order = shuffled_order(len(choices), options.seed, case_id, repeat)
    shown = {**vars_, options.choices_var: [choices[i] for i in order], "choice_order": order}
    want = expected_index(expect, [str(c) for c in choices])
    if isinstance(want, str) or isinstance(expect, str) and len(expect.strip()) > 1:
        return shown, expect  # an option's text (or unreadable: the grader reports it)
    moved = order.index(want)
    if isinstance(expect, int):
        return shown, moved
    letter = letter_of(moved)
    return shown, letter if expect.strip().isupper() else letter.lower()


def shuffle_spec(graders: Sequence[Any]) -> ChoiceOptions | None:
    """The options of a suite's `choice` grader that shuffles, if it has one."""
    for grader in graders:
        if isinstance(grader, ChoiceGrader) and grader.options.shuffle:
            return grader.options
    return None
