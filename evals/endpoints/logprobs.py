"""Token logprobs: read from either API's wire format, kept in one compact form.

A chat completion asked with `logprobs: true, top_logprobs: N` carries, per output
token, the token, its logprob and the N likeliest tokens at that position
(`choices[0].logprobs.content`); the Responses API puts the same list on each
`output_text` part. Graders read them (a multiple-choice answer scored from the
answer token's top logprobs), the cache replays them and the store keeps them so
a run can be re-graded; only the first MAX_TOKENS_KEPT tokens are kept: an answer
is read from the start of a reply, and a long reply's logprobs would weigh more
than the reply itself.

Stored and cached as JSON `[[token, logprob, [[token, logprob], ...]], ...]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_TOKENS_KEPT = 64


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One output token: what was chosen, its logprob, and the likeliest alternatives."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...]


Logprobs = tuple[TokenLogprob, ...]


def _field(item: Any, name: str) -> Any:
    """A field of a wire item, a dict (plain JSON) or an SDK model (streamed)."""
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def read_tokens(items: Iterable[Any] | None, into: list[TokenLogprob] | None = None) -> list:
    """Append the wire's per-token entries (`{token, logprob, top_logprobs}`) to `into`.

    Entries of the wrong shape are skipped: logprobs only inform grading, and a
    provider's odd entry must not turn an answer into a malformed response.
    """
    tokens = [] if into is None else into
    for item in items or ():
        if len(tokens) >= MAX_TOKENS_KEPT:
            break
        token, logprob = _field(item, "token"), _field(item, "logprob")
        if not isinstance(token, str) or not isinstance(logprob, int | float):
            continue
        top = tuple(
            (alt_token, float(alt_logprob))
            for alt in _field(item, "top_logprobs") or ()
            if isinstance(alt_token := _field(alt, "token"), str)
            and isinstance(alt_logprob := _field(alt, "logprob"), int | float)
        )
        tokens.append(TokenLogprob(token, float(logprob), top))
    return tokens


def chat_logprobs(choice_logprobs: Any) -> Logprobs | None:
    """A chat choice's `logprobs` object (None, or `{content: [...]}`) as tokens."""
    if choice_logprobs is None:
        return None
    tokens = read_tokens(_field(choice_logprobs, "content"))
    return tuple(tokens) if tokens else None


def to_rows(tokens: Sequence[TokenLogprob]) -> list[list[Any]]:
    """The compact JSON-ready form (a cache entry embeds it as it is)."""
    return [[t.token, t.logprob, [list(alt) for alt in t.top]] for t in tokens]


def to_json(tokens: Sequence[TokenLogprob] | None) -> str | None:
    """The stored form; None when there are none."""
    if not tokens:
        return None
    return json.dumps(to_rows(tokens), ensure_ascii=False, separators=(",", ":"))


def from_json(stored: str | list | None) -> Logprobs | None:
    """Tokens back from the stored text (or the rows of a cache entry)."""
    if not stored:
        return None
    rows = json.loads(stored) if isinstance(stored, str) else stored
    return tuple(
        TokenLogprob(token, float(logprob), tuple((t, float(lp)) for t, lp in top))
        for token, logprob, top in rows
    )
