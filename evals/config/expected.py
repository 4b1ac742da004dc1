"""promptfoo's `__expected` shorthand ("contains: foo", "similar(0.8): text") -> one grader spec.

CSV test files carry their assertions as strings in `__expected` / `__expected1..N`
columns. The rules here follow promptfoo's own parser, so a CSV that promptfoo reads the
same way grades the same way here:

- `javascript:`, `fn:`, `eval:` and `file://x.js|.ts` are JavaScript: not supported here.
- `grade:` and `llm-rubric:` are an `llm-rubric` with the rest as the rubric.
- `python:` and `file://x.py` / `file://x.py:fn` are a `python` grader.
- `[not-]TYPE[(THRESHOLD)][:VALUE]` for a known promptfoo assertion type; the value is
  trimmed; the four `*contains-any/all` types split it on commas; `similar` defaults to a
  0.8 threshold and the other scored types (rouge-n, starts-with, latency, cost, ...) to
  0.75, as promptfoo does; `levenshtein`'s threshold is a maximum edit distance, so it
  becomes `max_distance`.
- Anything else is the exact text expected: `equals`.
"""

from __future__ import annotations

import re
from typing import Any

PROMPTFOO_TYPES = [
    "answer-relevance",
    "bleu",
    "classifier",
    "contains",
    "contains-all",
    "contains-any",
    "contains-html",
    "contains-json",
    "contains-sql",
    "contains-xml",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "conversation-relevance",
    "cost",
    "equals",
    "factuality",
    "finish-reason",
    "g-eval",
    "gleu",
    "guardrails",
    "icontains",
    "icontains-all",
    "icontains-any",
    "is-html",
    "is-json",
    "is-refusal",
    "is-sql",
    "is-valid-function-call",
    "is-valid-openai-function-call",
    "is-valid-openai-tools-call",
    "is-xml",
    "javascript",
    "latency",
    "levenshtein",
    "llm-rubric",
    "pi",
    "meteor",
    "model-graded-closedqa",
    "model-graded-factuality",
    "moderation",
    "perplexity",
    "perplexity-score",
    "python",
    "regex",
    "rouge-n",
    "ruby",
    "similar",
    "similar:cosine",
    "similar:dot",
    "similar:euclidean",
    "starts-with",
    "tool-call-f1",
    "skill-used",
    "trajectory:goal-success",
    "trajectory:tool-args-match",
    "trajectory:step-count",
    "trajectory:tool-sequence",
    "trajectory:tool-used",
    "trace-error-spans",
    "trace-span-count",
    "trace-span-duration",
    "search-rubric",
    "webhook",
    "word-count",
]
"""promptfoo's base assertion types (its BaseAssertionTypesSchema), the words the
shorthand recognises; a prefix outside this list is plain text (an `equals`)."""

LIST_TYPES = frozenset({"contains-all", "contains-any", "icontains-all", "icontains-any"})
RAW_TYPES = frozenset({"contains-json", "is-json"})  # value kept as written (a schema)
THRESHOLD_TYPES = frozenset(
    {
        "answer-relevance",
        "classifier",
        "context-faithfulness",
        "context-recall",
        "context-relevance",
        "cost",
        "latency",
        "levenshtein",
        "perplexity-score",
        "perplexity",
        "rouge-n",
        "similar",
        "starts-with",
    }
)
SIMILAR_DEFAULT = 0.8
OTHER_DEFAULT = 0.75

_JS_PREFIXES = ("javascript:", "fn:", "eval:")
_JS_FILE = re.compile(r"^file://.+\.(?:js|cjs|mjs|ts|cts|mts)(?::[\w.]+)?$")
# longest names first, so `contains-any` is not read as `contains` + "-any"
_TYPES = "|".join(re.escape(t) for t in sorted(PROMPTFOO_TYPES, key=len, reverse=True))
_SHORTHAND = re.compile(rf"^(not-)?({_TYPES})(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$")


def parse_expected(text: str) -> dict[str, Any]:
    """One grader spec (`{type, value, threshold?}`) for one `__expected` cell.

    Raises ValueError for JavaScript assertions, which this tool cannot run.
    """
    text = text.strip()
    if text.startswith(_JS_PREFIXES) or _JS_FILE.match(text):
        form = text.split(":", 1)[0] + ":" if not text.startswith("file://") else "a .js file"
        raise ValueError(
            f"unsupported assertion type javascript ({form}): rewrite it as a python grader"
        )
    for prefix in ("grade:", "llm-rubric:"):
        if text.startswith(prefix):
            return {"type": "llm-rubric", "value": text[len(prefix) :].strip()}
    is_py_file = text.startswith("file://") and (text.endswith(".py") or ".py:" in text)
    if text.startswith("python:"):
        return {"type": "python", "value": text[len("python:") :].strip()}
    if is_py_file:
        return {"type": "python", "value": text}  # kept as file://: the python grader reads it
    match = _SHORTHAND.match(text)
    if match is None:
        return {"type": "equals", "value": text}
    negated, base, threshold_text, value = match.groups()
    full = f"not-{base}" if negated else base
    spec: dict[str, Any] = {"type": full}
    if base in LIST_TYPES:
        if value is not None:
            spec["value"] = [item.strip() for item in value.split(",")]
        return spec
    if base in RAW_TYPES:
        if value is not None and value.strip():
            spec["value"] = value
        return spec
    if value is not None:
        spec["value"] = value.strip()
    if base in THRESHOLD_TYPES:
        default = SIMILAR_DEFAULT if base == "similar" else OTHER_DEFAULT
        threshold = float(threshold_text) if threshold_text else default
        if base == "levenshtein":  # promptfoo: pass when the edit distance <= threshold
            spec["max_distance"] = int(threshold)
        else:
            spec["threshold"] = threshold
    return spec  # promptfoo ignores a (threshold) on the other types, and so do we
