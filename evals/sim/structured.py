"""Structured output (``response_format``) and the judge behaviour for model-graded grading.

``{"type": "json_schema", "json_schema": {"name", "schema", "strict"?}}``:
the answer is compact JSON filled from the last user message by ``evals.sim.schemafill``
(``all`` mode: every property present). When the message is a checkable task (echo,
arithmetic, images) its answer goes into the first property whose name contains ``answer``,
``result``, ``value`` or ``text`` (else the first property), as a number for
``number``/``integer`` properties; the other properties take entities in order.
A wrong answer (``u(model, seed, text) >= accuracy``):
- ``strict: true``: still valid against the schema (as OpenAI guarantees) but a wrong value:
  the task's wrong answer, or (no task) one corrupted value (see ``schemafill``);
- otherwise: the schema is broken by dropping one required property (chosen by hash), or
  when nothing is required, by giving the first property a value of the wrong type.
Strict schemas are checked like OpenAI does: every object needs ``additionalProperties:
false`` and ``required`` listing every property (else 400). The root must be an object.

``{"type": "json_object"}``: ``{"answer": <the usual answer>}`` (a number for arithmetic);
like OpenAI, some message must contain the word "json" (else 400).

**Judge.** A ``json_schema`` whose properties include ``score`` and ``reason`` makes the sim a
judge: it reads ``<answer>...</answer>`` and ``<expected>...</expected>`` (or
``<rubric>...</rubric>`` when there is no expected) from the last user message (else from all
messages) and returns ``{"score": overlap, "reason": ...}``, where overlap is the share of
the reference's distinct words (lower-cased ``\\w+``) found in the answer, rounded to 2
decimals (0 when there is no reference). An ``integer`` score with ``minimum``/``maximum``
is scaled to that range and rounded; a ``boolean`` property is ``overlap >= 0.5``. The
judge ignores accuracy. A model with ``judge_garbage: true`` answers ``I think it is fine``
(not JSON) instead, so clients can test their handling of garbage verdicts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evals.sim.behaviour import Solved, is_correct
from evals.sim.config import ModelConfig
from evals.sim.reply import Problem, bad
from evals.sim.schemafill import Filler, corrupt_one, number_value
from evals.sim.textutil import Entities, entities, unit_hash, words
from evals.sim.usage import message_text

GARBAGE = "I think it is fine"
_ANSWER_NAMES = ("answer", "result", "value", "text")
_TAGS = {t: re.compile(rf"<{t}>(.*?)</{t}>", re.S | re.I) for t in ("answer", "expected", "rubric")}


def dumps(value: Any) -> str:
    """Compact JSON, as OpenAI's structured outputs arrive."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def strict_problem(schema: Any, where: str, context: tuple[str, ...] = ()) -> str | None:
    """OpenAI's strict-mode schema rules: closed objects with every property required."""
    if not isinstance(schema, dict):
        return None
    props = schema.get("properties")
    if schema.get("type") == "object" or isinstance(props, dict):
        ctx = f"In context=({', '.join(repr(c) for c in context)})"
        if schema.get("additionalProperties") is not False:
            return (
                f"Invalid schema for {where}: {ctx}, 'additionalProperties' is required to be "
                "supplied and to be false."
            )
        req = schema.get("required") if isinstance(schema.get("required"), list) else []
        missing = [p for p in (props or {}) if p not in req]
        if missing:
            return (
                f"Invalid schema for {where}: {ctx}, 'required' is required to be supplied and "
                f"to be an array including every key in properties. Missing '{missing[0]}'."
            )
    subs: list[tuple[tuple[str, ...], Any]] = []
    for name, sub in (props or {}).items():
        subs.append(((*context, "properties", name), sub))
    if isinstance(schema.get("items"), dict):
        subs.append(((*context, "items"), schema["items"]))
    for key in ("$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            subs.append(((*context, key, name), sub))
    for key in ("anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(key) or []):
            subs.append(((*context, key, str(i)), sub))
    for ctx_path, sub in subs:
        problem = strict_problem(sub, where, ctx_path)
        if problem:
            return problem
    return None


def check_response_format(body: dict[str, Any]) -> Problem | None:
    """OpenAI's 400s for ``response_format``."""
    rf = body.get("response_format")
    if rf is None:
        return None
    kind = rf.get("type") if isinstance(rf, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        return bad(
            f"Invalid value: '{kind}'. Supported values are: 'json_object', 'json_schema', "
            "and 'text'.",
            "response_format.type",
            "invalid_value",
        )
    if kind == "json_object":
        if not any("json" in message_text(m)[0].lower() for m in body["messages"]):
            return bad(
                "'messages' must contain the word 'json' in some form, to use "
                "'response_format' of type 'json_object'.",
                "messages",
            )
        return None
    if kind == "text":
        return None
    spec = rf.get("json_schema")
    for key, ok in (
        ("", isinstance(spec, dict)),
        (".name", isinstance(spec, dict) and isinstance(spec.get("name"), str)),
    ):
        if not ok:
            return bad(
                f"Missing required parameter: 'response_format.json_schema{key}'.",
                f"response_format.json_schema{key}",
                "missing_required_parameter",
            )
    assert isinstance(spec, dict)
    schema = spec.get("schema")
    if spec.get("strict") is True:
        where = f"response_format '{spec['name']}'"
        if not isinstance(schema, dict) or schema.get("type") != "object":
            got = schema.get("type") if isinstance(schema, dict) else None
            return bad(
                f"Invalid schema for {where}: schema must be a JSON Schema of 'type: \"object\"', "
                f"got 'type: \"{got}\"'.",
                "response_format",
            )
        problem = strict_problem(schema, where)
        if problem:
            return bad(problem, "response_format")
    return None


def json_schema_of(body: dict[str, Any]) -> tuple[dict[str, Any], bool] | None:
    """(schema, strict) of a json_schema response format, or None."""
    rf = body.get("response_format")
    if not isinstance(rf, dict) or rf.get("type") != "json_schema":
        return None
    spec = rf["json_schema"]
    schema = spec.get("schema") if isinstance(spec.get("schema"), dict) else {}
    return schema, spec.get("strict") is True


def is_judge(schema: dict[str, Any]) -> bool:
    """True for a verdict schema: properties ``score`` and ``reason``."""
    props = schema.get("properties")
    return isinstance(props, dict) and "score" in props and "reason" in props


def _tag(tag: str, text: str) -> str | None:
    m = _TAGS[tag].search(text)
    return m.group(1) if m else None


def judge(model: ModelConfig, schema: dict[str, Any], messages: list[Any], user: str) -> str:
    """The verdict JSON (or garbage) for a judge request."""
    if model.judge_garbage:
        return GARBAGE
    text = (
        user
        if _tag("answer", user) is not None
        else "\n".join(message_text(m)[0] for m in messages)
    )
    answer = _tag("answer", text) or ""
    reference = _tag("expected", text)
    if reference is None:
        reference = _tag("rubric", text) or ""
    ref_words = list(dict.fromkeys(words(reference)))
    have = set(words(answer))
    hit = [w for w in ref_words if w in have]
    score = round(len(hit) / len(ref_words), 2) if ref_words else 0.0
    missing = [w for w in ref_words if w not in have]
    reason = f"{len(hit)} of {len(ref_words)} reference words found in the answer"
    if missing:
        reason += "; missing: " + ", ".join(missing[:10])
    filler = Filler(Entities(), "all", root=schema)
    out = filler.obj(schema)
    for name, sub in schema["properties"].items():
        s = filler.resolve(sub)
        if s.get("type") == "boolean":
            out[name] = score >= 0.5
    out["reason"] = reason
    out["score"] = _scaled(score, filler.resolve(schema["properties"]["score"]))
    return dumps({name: out[name] for name in schema["properties"] if name in out})


def _scaled(score: float, schema: dict[str, Any]) -> Any:
    """The overlap in the score property's own type and range."""
    kind = schema.get("type")
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if kind == "integer":
        if isinstance(lo, int | float) and isinstance(hi, int | float):
            return int(round(lo + score * (hi - lo)))
        return int(round(score))
    if kind == "string":
        return str(score)
    if kind == "boolean":
        return score >= 0.5
    return score


def _target(props: dict[str, Any]) -> str | None:
    """The property that receives a task's answer."""
    for name in props:
        if any(word in name.lower() for word in _ANSWER_NAMES):
            return name
    return next(iter(props), None)


def _typed(text: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind in ("number", "integer"):
        try:
            return number_value(text, kind == "integer")
        except ValueError:
            return 0
    return text


def fill_schema(
    model: ModelConfig, schema: dict[str, Any], strict: bool, solved: Solved, text: str
) -> tuple[str, bool]:
    """(JSON text, correct) for a json_schema response format (rules in the docstring)."""
    filler = Filler(entities(text), "all", root=schema)
    root = filler.resolve(schema)
    correct = is_correct(model, solved.key)
    props = root.get("properties") if isinstance(root.get("properties"), dict) else None
    if root.get("type") != "object" or props is None:
        return dumps(filler.value(root)), True
    target = _target(props) if solved.task != "canned" else None
    rest = {k: v for k, v in props.items() if k != target}
    values = filler.obj({**root, "properties": rest})
    if target is not None:
        answer = solved.right if correct or not strict else solved.wrong
        values[target] = _typed(answer, filler.resolve(props[target]))
    obj = {name: values[name] for name in props if name in values}
    if correct:
        return dumps(obj), True
    key = (model.name, model.seed, text)
    if strict:
        if target is None and not corrupt_one(obj, props, key):
            correct = True
        return dumps(obj), correct
    required = [r for r in root.get("required") or [] if r in obj]
    if required:
        del obj[required[int(unit_hash("drop", *key) * len(required))]]
    elif obj:
        first = next(iter(obj))
        obj[first] = 0 if isinstance(obj[first], str) else "n/a"
    else:
        correct = True
    return dumps(obj), correct


def json_object(solved: Solved) -> str:
    """``{"answer": ...}``: a number for arithmetic, else the answer text."""
    value: Any = solved.text
    if solved.task == "arithmetic":
        value = number_value(solved.text, False)
    return dumps({"answer": value})
