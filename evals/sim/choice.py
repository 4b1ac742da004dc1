"""Multiple choice in the sim: answer a lettered question with a letter, and say how sure.

A last user message with lettered options (lines `A. 4`, `B) 5`, ... from A, at least
two) whose question (the text before the options) the sim can solve (evals.sim.behaviour
rules 1-2) is answered with the letter of the option equal to the answer; a wrong
answer is another option's letter, chosen by hash. Anything else is not a choice.

Asked for logprobs, the answer letter's token comes with a distribution over the option
letters (`letter_probabilities`): the letter given gets 0.5 + 0.45·u, the others share
the rest by hashed weights, so the letter written is always the likeliest and the
probabilities vary from question to question (a Brier score that means something).
"""

from __future__ import annotations

import re
import string

from evals.sim.textutil import unit_hash

LETTERS = string.ascii_uppercase
_OPTION = re.compile(r"^[ \t]*\(?([A-Z])[.)][ \t]+(.*?)[ \t]*$", re.MULTILINE)


def options_of(text: str) -> tuple[str, list[str]] | None:
    """(the question, the option texts) of a lettered question, or None."""
    found = _OPTION.findall(text)
    letters = [letter for letter, _ in found]
    if len(found) < 2 or letters != list(LETTERS[: len(found)]):
        return None
    first = _OPTION.search(text)
    assert first is not None
    return text[: first.start()], [option for _, option in found]


def solve_choice(text: str, solve) -> tuple[str, str, str] | None:
    """("choice", right letter, wrong letter), when the question is solvable by `solve`
    (behaviour.solve: (task, right, wrong) or None) and exactly one option is its answer."""
    parsed = options_of(text)
    if parsed is None:
        return None
    question, options = parsed
    solved = solve(question)
    if solved is None:
        return None
    matches = [i for i, option in enumerate(options) if option.strip() == solved[1]]
    if len(matches) != 1:
        return None
    right = matches[0]
    others = [i for i in range(len(options)) if i != right]
    wrong = others[int(unit_hash("wrong-option", text) * len(others))]
    return "choice", LETTERS[right], LETTERS[wrong]


def letter_probabilities(count: int, chosen: str, *key: object) -> list[float]:
    """Each option letter's probability when the sim writes `chosen` (deterministic)."""
    index = LETTERS.index(chosen)
    top = 0.5 + 0.45 * unit_hash("choice-p", *key)
    weights = [0.2 + unit_hash("choice-w", i, *key) for i in range(count)]
    rest = sum(w for i, w in enumerate(weights) if i != index)
    return [top if i == index else (1 - top) * w / rest for i, w in enumerate(weights)]
