"""promptfoo assertions (`assert:` entries) -> our grader specs.

Most promptfoo assertion types exist here under the same name (with the same `not-`
prefix and the same value, threshold, weight and metric), so the mapping is mostly a
copy. What differs: `levenshtein`'s threshold is a maximum edit distance here called
`max_distance`; `model-graded-factuality` is `factuality`; `similar` keeps promptfoo's
0.75 default threshold explicitly (ours is 0.8); `python` file references are copied next
to the suite; `assert-set` becomes `all` or `any` when that means the same. JavaScript,
webhooks, transforms and the rest that cannot run here come back as None, with a Skipped
entry saying why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.importers.context import Context

SAME = frozenset(
    [
        "equals",
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "icontains-any",
        "icontains-all",
        "starts-with",
        "regex",
        "word-count",
        "finish-reason",
        "is-refusal",
        "is-json",
        "contains-json",
        "is-xml",
        "contains-xml",
        "is-sql",
        "rouge-n",
        "bleu",
        "latency",
        "cost",
        "llm-rubric",
        "factuality",
        "model-graded-closedqa",
        "similar",
        "is-valid-openai-tools-call",
        "tool-call-f1",
        "python",
    ]
)
RENAMED = {"model-graded-factuality": "factuality", "similar:cosine": "similar"}
WHY_NOT = {
    "javascript": "JavaScript assertions cannot run here: rewrite it as a python grader",
    "webhook": "webhooks are not supported: call the service from a python grader",
    "select-best": "compares outputs across prompts/models, which graders here do not see",
    "max-score": "compares outputs across prompts/models, which graders here do not see",
    "human": "manual grading is not supported",
    "ruby": "Ruby assertions cannot run here: rewrite it as a python grader",
}
KEYS = frozenset({"type", "value", "threshold", "weight", "metric"})
SIMILAR_DEFAULT = 0.75  # promptfoo's default for `similar` in YAML assertions
LEVENSHTEIN_DEFAULT = 5  # promptfoo's default maximum distance
MODEL_GRADED = frozenset({"llm-rubric", "factuality", "model-graded-closedqa"})


def _lines(raw: Any, index: int, fallback: int | None) -> int | None:
    lines = getattr(raw, "item_lines", None)
    return lines[index] if lines and index < len(lines) else fallback


def map_assertions(
    raw: Any, ctx: Context, line: int | None, file: Path | None = None
) -> list[dict[str, Any]]:
    """Every assertion of an `assert:` list that can be carried over."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        ctx.skip("assert", "`assert` is not a list", line, file)
        return []
    specs = []
    for index, item in enumerate(raw):
        spec = map_assertion(item, ctx, _lines(raw, index, line), file)
        if spec is not None:
            specs.append(spec)
    return specs


def _resolve_ref(raw: dict[str, Any], ctx: Context) -> Any:
    """`$ref: '#/assertionTemplates/name'` -> the template it names (promptfoo's reuse)."""
    ref = raw.get("$ref")
    templates = ctx.templates
    if isinstance(ref, str) and ref.startswith("#/assertionTemplates/"):
        return templates.get(ref.removeprefix("#/assertionTemplates/"))
    return None


def map_assertion(
    raw: Any, ctx: Context, line: int | None, file: Path | None = None
) -> dict[str, Any] | None:
    if isinstance(raw, dict) and "$ref" in raw:
        target = _resolve_ref(raw, ctx)
        if target is None:
            ctx.skip(f"assertion $ref {raw['$ref']}", "no such assertion template", line, file)
            return None
        raw = target
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        ctx.skip("assertion", "not a mapping with a `type`", line, file)
        return None
    kind: str = raw["type"]
    what = f"assertion {kind}"
    if kind == "assert-set":
        return _assert_set(raw, ctx, line, file)
    negated = kind.startswith("not-")
    base = kind.removeprefix("not-")
    base = RENAMED.get(base, base)
    if base not in SAME and base != "levenshtein":
        why = WHY_NOT.get(base, "no grader of this type here")
        ctx.skip(what, why, line, file)
        return None
    for key in ("transform", "contextTransform"):
        if key in raw:
            ctx.skip(what, f"`{key}` (JavaScript on the output) is not supported", line, file)
            return None
    for key in raw:
        if key not in KEYS and key != "$ref":
            note = {
                "provider": "the judge comes from the runner profile's `judge:`",
                "rubricPrompt": "custom judge prompts are written differently here (`prompt:`)",
            }.get(key, "no equivalent option")
            ctx.skip(f"{what}: {key}", f"{note}; the assertion is kept without it", line, file)
    spec: dict[str, Any] = {"type": f"not-{base}" if negated else base}
    value = raw.get("value")
    if value is not None:
        value = _value(base, value, ctx, line, file)
        if value is _DROP:
            return None
        spec["value"] = value
    threshold = raw.get("threshold")
    if base == "levenshtein":
        spec["max_distance"] = threshold if threshold is not None else LEVENSHTEIN_DEFAULT
    elif threshold is not None:
        spec["threshold"] = threshold
    elif base == "similar":
        spec["threshold"] = SIMILAR_DEFAULT
    for key in ("weight", "metric"):
        if key in raw:
            spec[key] = raw[key]
    if base in MODEL_GRADED:
        ctx.model_graded = True
    if base == "similar":
        ctx.uses_embeddings = True
    return spec


_DROP = object()


def _value(base: str, value: Any, ctx: Context, line: int | None, file: Path | None) -> Any:
    """A `file://` value: python files are copied (and re-pointed), text files inlined."""
    if not isinstance(value, str) or not value.startswith("file://"):
        return value
    ref, _, function = value.removeprefix("file://").partition(":")
    src = ctx.source(ref, (file or ctx.config).parent)
    if not src.is_file():
        ctx.skip(f"assertion {base}", f"the file {value} does not exist", line, file)
        return _DROP
    if base == "python":
        rel = ctx.copy(src)
        return f"file://{rel}" + (f":{function}" if function else "")
    if src.suffix in (".js", ".cjs", ".mjs", ".ts"):
        ctx.skip(f"assertion {base}", f"{value} is JavaScript", line, file)
        return _DROP
    return src.read_text(encoding="utf-8")  # promptfoo reads the file as the value


def _assert_set(
    raw: dict[str, Any], ctx: Context, line: int | None, file: Path | None
) -> dict[str, Any] | None:
    """`all` when every child must pass (no threshold, or 1); `any` when one is enough
    (equal weights and a threshold of at most 1/n). Other thresholds have no equivalent."""
    children_raw = raw.get("assert")
    if not isinstance(children_raw, list) or not children_raw:
        ctx.skip("assertion assert-set", "no `assert:` list inside", line, file)
        return None
    threshold = raw.get("threshold")
    weights = {c.get("weight", 1) for c in children_raw if isinstance(c, dict)}
    n = len(children_raw)
    if threshold is None or threshold == 1:
        group = "all"
    elif len(weights) == 1 and 0 < threshold <= 1 / n:
        group = "any"
    else:
        ctx.skip(
            "assertion assert-set",
            f"threshold {threshold} over {n} assertions is neither all nor any",
            line,
            file,
        )
        return None
    before = len(ctx.skipped)
    children = map_assertions(children_raw, ctx, line, file)
    if len(children) != n:
        reasons = "; ".join(f"{s.what}: {s.why}" for s in ctx.skipped[before:])
        del ctx.skipped[before:]
        ctx.skip("assertion assert-set", f"not every assertion in it carries over ({reasons})",
                 line, file)  # fmt: skip
        return None
    spec: dict[str, Any] = {"type": group, "graders": children}
    for key in ("weight", "metric"):
        if key in raw:
            spec[key] = raw[key]
    if "config" in raw:
        ctx.skip("assertion assert-set: config", "no equivalent option", line, file)
    return spec
