"""promptfoo's n-gram overlap assertions: `rouge-n` and `bleu`, scored as promptfoo scores them.

Both have their own `threshold` (promptfoo's defaults: 0.75 for rouge-n, 0.5 for bleu): the
score is the metric itself and the grader passes when score >= threshold.
Docs: https://www.promptfoo.dev/docs/configuration/expected-outputs/deterministic/#rouge-n
and .../deterministic/#bleu ; formulas checked against promptfoo's src/assertions/rouge.ts,
bleu.ts and promptfoo/js-rouge. rouge_score and sacrebleu are imported inside the check, so
importing this module (and so `evals --help`) stays cheap.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import Field

from evals.graders.base import Check, CommonOptions, error, number, quote
from evals.graders.registry import register
from evals.graders.value_grader import Failure, ValueGrader

_WORD = re.compile(r"\w+")
BLEU_MAX_ORDER = 4
BLEU_ZERO_PRECISION = 1e-7  # promptfoo's smoothing: a zero n-gram precision counts as this


def references(raw: Any) -> list[str] | Failure:
    """The reference text(s): a string, or a list of strings (the best-scoring one counts)."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        return Failure("reference list is empty")
    for item in items:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            return Failure(f"references must be strings, got {item!r}")
    return [str(item) for item in items]


def _verdict(label: str, score: float, threshold: float, against: str, text: str) -> Check:
    """Pass when score >= threshold; the reason shows both and what was compared."""
    if score >= threshold:
        reason = f"{label} {number(score)} ≥ {number(threshold)} against {against}"
        return Check(True, reason, score=score)
    reason = f"{label} {number(score)} < {number(threshold)} against {against}: {quote(text)}"
    return Check(False, reason, score=score)


# --- ROUGE-N ----------------------------------------------------------------------------


class _WordTokenizer:
    """Lower-cased word tokens for rouge_score; its default tokenizer drops every non-ASCII
    letter, which would score non-English text as empty. (promptfoo lower-cases too.)"""

    def tokenize(self, text: str) -> list[str]:
        return _WORD.findall(text.lower())


def rouge_n_recall(candidate: str, reference: str, n: int) -> float:
    """ROUGE-N recall: the share of the reference's n-grams the candidate has (clipped)."""
    from rouge_score import rouge_scorer

    kind = f"rouge{n}"
    scorer = rouge_scorer.RougeScorer([kind], tokenizer=_WordTokenizer())
    return scorer.score(reference, candidate)[kind].recall


class RougeOptions(CommonOptions):
    threshold: float = Field(0.75, ge=0, le=1)  # promptfoo's default
    n: int = Field(1, ge=1, le=9)  # n-gram size; promptfoo always uses 1


@register
class RougeNGrader(ValueGrader):
    """Output covers the reference's words: score is ROUGE-N recall (case-insensitive, n=1 by
    default, as promptfoo), the best over the references when `value` is a list."""

    base_type = "rouge-n"
    Options = RougeOptions
    options: RougeOptions

    def parse(self, raw: Any) -> Any:
        return references(raw)

    def check_parsed(self, text: str, wanted: list[str]) -> Check:
        label = f"ROUGE-{self.options.n} recall"
        usable = [ref for ref in wanted if _WORD.search(ref)]
        if not usable:
            return error("every reference is empty: there is nothing to recall")
        if not _WORD.search(text):
            return _verdict(label, 0.0, self.options.threshold, quote(usable[0]), text)
        scored = [(rouge_n_recall(text, ref, self.options.n), ref) for ref in usable]
        score, best = max(scored, key=lambda pair: pair[0])
        return _verdict(label, score, self.options.threshold, quote(best), text)


# --- BLEU -------------------------------------------------------------------------------


def _ngram_matches(candidate: str, reference: str) -> tuple[list[int], list[int]]:
    """Clipped n-gram matches and candidate n-gram totals for n = 1..4 (sacrebleu counts
    them; lower-cased, whitespace-split like promptfoo)."""
    from sacrebleu.metrics import BLEU

    stats = BLEU(lowercase=True, tokenize="none", effective_order=True).sentence_score(
        candidate, [reference]
    )
    return list(stats.counts), list(stats.totals)


def bleu_score(candidate: str, refs: list[str]) -> float:
    """promptfoo's sentence BLEU: per order, the best clipped matches over the references;
    a zero precision counts as 1e-7; uniform weights; brevity penalty against the reference
    whose length is closest to the candidate's (the first such, on a tie)."""
    words = len(candidate.split())
    if words == 0:
        return 0.0
    stats = [_ngram_matches(candidate, ref) for ref in refs]
    totals = stats[0][1]
    best = [max(counts[n] for counts, _ in stats) for n in range(BLEU_MAX_ORDER)]
    log_sum = 0.0
    for n in range(BLEU_MAX_ORDER):
        precision = best[n] / totals[n] if totals[n] else 0.0
        log_sum += math.log(precision or BLEU_ZERO_PRECISION) / BLEU_MAX_ORDER
    lengths = [len(ref.split()) for ref in refs]
    closest = min(lengths, key=lambda length: abs(length - words))  # min keeps the first
    penalty = 1.0 if words > closest else math.exp(1 - closest / words)
    return penalty * math.exp(log_sum)


class BleuOptions(CommonOptions):
    threshold: float = Field(0.5, ge=0, le=1)  # promptfoo's default


@register
class BleuGrader(ValueGrader):
    """Output's n-grams (1-4) appear in a reference: BLEU in 0..1, case-insensitive, as
    promptfoo computes it for one sentence; `value` is one reference or a list of them."""

    base_type = "bleu"
    Options = BleuOptions
    options: BleuOptions

    def parse(self, raw: Any) -> Any:
        return references(raw)

    def check_parsed(self, text: str, wanted: list[str]) -> Check:
        usable = [ref for ref in wanted if ref.strip()]  # promptfoo ignores blank references
        if not usable:
            return _verdict("BLEU", 0.0, self.options.threshold, "blank references", text)
        score = bleu_score(text, usable)
        against = quote(usable[0]) if len(usable) == 1 else f"{len(usable)} references"
        return _verdict("BLEU", score, self.options.threshold, against, text)
