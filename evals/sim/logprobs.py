"""Token logprobs of a simulated answer, as a chat completion sends them
(`choices[0].logprobs.content`) when asked with `logprobs: true` (`top_logprobs`: 0-20).

Tokens are the answer's words with their leading whitespace (`"Answer:"`, `" B"`).
A word token is written with probability 0.9..0.9999 (by hash), and its alternatives
are filler tokens that are never an option letter. In a multiple-choice answer the
first token that is an option's letter carries the options' distribution instead
(evals.sim.choice.letter_probabilities): its top logprobs are the option letters,
likeliest first, so a grader can score the question from that one token.

Everything is a pure function of the model, the prompt and the answer, and the list
sent is written to the request log, so tests derive the expected scores from the log.
"""

from __future__ import annotations

import math
import re
from typing import Any

from evals.sim.choice import LETTERS, letter_probabilities, options_of
from evals.sim.config import ModelConfig
from evals.sim.textutil import unit_hash
from evals.sim.usage import Answer

_TOKEN = re.compile(r"\s*\S+|\s+")
FILLERS = (
    "…", "—", "?", "!", ";", ",", ".", ":", " the", " and",
    " of", " to", " is", " it", " in", " that", "\n", " be", " on", " as",
)  # fmt: skip


def tokens_of(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _entry(token: str, logprob: float, top: list[tuple[str, float]]) -> dict[str, Any]:
    def one(tok: str, lp: float) -> dict[str, Any]:
        return {"token": tok, "logprob": lp, "bytes": list(tok.encode())}

    return {**one(token, logprob), "top_logprobs": [one(t, lp) for t, lp in top]}


def token_logprobs(model: ModelConfig, body: dict[str, Any], ans: Answer, prompt: str) -> list:
    """The `content` list for `ans` (`prompt`: the last user message's text)."""
    top_n = body.get("top_logprobs") or 0
    options = options_of(prompt) if ans.task == "choice" else None
    count = len(options[1]) if options else 0
    letter_done = False
    out = []
    for i, token in enumerate(tokens_of(ans.text)):
        letter = token.strip()
        if count and not letter_done and len(letter) == 1 and letter in LETTERS[:count]:
            letter_done = True
            probs = letter_probabilities(count, letter, model.name, model.seed, prompt)
            ranked = sorted(range(count), key=lambda j: -probs[j])
            top = [(token.replace(letter, LETTERS[j]), math.log(probs[j])) for j in ranked]
            out.append(_entry(token, math.log(probs[LETTERS.index(letter)]), top[:top_n]))
            continue
        p = 0.9 + 0.0999 * unit_hash("token-p", model.name, prompt, i)
        rest = math.log((1 - p) / len(FILLERS))
        top = [(token, math.log(p)), *((filler, rest) for filler in FILLERS)]
        out.append(_entry(token, math.log(p), top[:top_n]))
    return out
