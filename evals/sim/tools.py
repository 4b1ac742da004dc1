"""Tool calling: which function the sim calls, with which arguments, and what it says after.

Rules (deterministic; all text rules apply to the LAST user message):

- **Choice.** ``tool_choice: "none"`` (or no ``tools``) -> no call. A named function
  (``{"type": "function", "function": {"name": X}}``) -> X. Otherwise each tool is scored by
  its name tokens (split on ``_``, ``-`` and camelCase, lower-cased, stopwords such as ``get``
  and ``set`` dropped, plural ``s`` folded) found among the message's words; the tools with the
  highest non-zero score are called. When no name token matches, description words are scored
  the same way. Nothing matches -> a text answer (``tool_choice: "required"``: the first tool).
  Several tools tie -> each is called once, ordered by where the message first mentions them.
- **Arguments** come from the function's JSON-schema ``parameters`` by the rules of
  ``evals.sim.schemafill`` in ``available`` mode: required properties always get a value,
  optional ones only when the message supplies one (strings: quoted strings and proper nouns
  in order; numbers in order; enums: the member mentioned, else the first; booleans false).
- **Parallel calls.** One tool chosen, k = its required plain-string properties (all
  plain-string properties when none is required), S = string entities in the message (enum
  members excluded). When S > k >= 1 the sim makes ``S // k`` calls, each taking the next k
  strings (numbers and enums are shared): "weather in Paris and Tokyo" -> two calls. With
  several tied tools the entities are handed out in turn (required properties only).
  ``parallel_tool_calls: false`` -> only the first call.
- **Accuracy.** A wrong answer (``u(model, seed, text) >= accuracy``) corrupts one argument
  of one call, chosen by hash: a string gets its last letter doubled, a number +1, a boolean
  flipped, an enum member becomes the next member.
- **Ids** are ``call_`` + 24 hex digits of sha256(model, seed, text, index, name, arguments).
- **Results.** When the last message is a ``tool`` message, the sim answers in text:
  ``"Result: "`` + the tool messages' contents joined with ``"; "`` in the order of the
  ``tool_calls`` ids of the assistant message they answer (each content looked up by its
  ``tool_call_id``), so results attached to the wrong ids give a visibly different answer.
- **Validation** (OpenAI's 400s): every ``tool_call_id`` of an assistant message with
  ``tool_calls`` needs a ``tool`` message right after it; a ``tool`` message must answer one
  of them; ``tool_choice``/``parallel_tool_calls`` need ``tools``; a named choice must exist.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evals.sim.behaviour import is_correct
from evals.sim.config import ModelConfig
from evals.sim.reply import Problem, bad
from evals.sim.schemafill import Filler, corrupt_value, corruptible
from evals.sim.textutil import (
    STOPWORDS,
    Entities,
    content_words,
    entities,
    fold,
    short_hash,
    unit_hash,
)
from evals.sim.usage import message_text

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
CHOICES = ("none", "auto", "required")


def functions(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``function`` objects of the request's tools."""
    out = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
            out.append(tool["function"])
    return out


def check_tools(body: dict[str, Any]) -> Problem | None:
    """OpenAI's 400s for ``tools``, ``tool_choice`` and ``parallel_tool_calls``."""
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return bad("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
        for i, tool in enumerate(tools):
            kind = tool.get("type") if isinstance(tool, dict) else None
            if kind != "function":
                return bad(
                    f"Invalid value: '{kind}'. Supported values are: 'function'.",
                    f"tools[{i}].type",
                    "invalid_value",
                )
            fn = tool.get("function")
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
                return bad(
                    f"Missing required parameter: 'tools[{i}].function.name'.",
                    f"tools[{i}].function.name",
                    "missing_required_parameter",
                )
    names = [fn["name"] for fn in functions(body)]
    for key in ("tool_choice", "parallel_tool_calls"):
        if body.get(key) is not None and not names:
            return bad(
                f"Invalid value for '{key}': '{key}' is only allowed when 'tools' are specified.",
                key,
            )
    choice = body.get("tool_choice")
    if isinstance(choice, str) and choice not in CHOICES:
        return bad(
            f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
            "tool_choice",
            "invalid_value",
        )
    if isinstance(choice, dict):
        fn = choice.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        if name not in names:
            return bad(
                f"Invalid value for 'tool_choice': function {name!r} is not one of the 'tools'.",
                "tool_choice",
                "invalid_value",
            )
    return check_tool_messages(body["messages"])


def check_tool_messages(messages: list[Any]) -> Problem | None:
    """Each assistant ``tool_calls`` id answered by a following ``tool`` message, and back."""
    open_ids: set[str] = set()
    for i, m in enumerate(messages):
        role = m.get("role")
        if role == "tool":
            call_id = m.get("tool_call_id")
            if not isinstance(call_id, str):
                return bad(
                    "Missing parameter 'tool_call_id': messages with role 'tool' must have a "
                    "'tool_call_id'.",
                    f"messages.[{i}].tool_call_id",
                )
            if call_id not in open_ids:
                # OpenAI's own wording, misspelling included, so clients can match on it.
                return bad(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"messages.[{i}].role",
                )
            continue
        open_ids = set()
        calls = m.get("tool_calls") if role == "assistant" else None
        if not isinstance(calls, list) or not calls:
            continue
        ids = [c.get("id") for c in calls if isinstance(c, dict)]
        answered = set()
        for later in messages[i + 1 :]:
            if later.get("role") != "tool":
                break
            answered.add(later.get("tool_call_id"))
        missing = [str(x) for x in ids if x not in answered]
        if missing:
            return bad(
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(missing)}",
                f"messages.[{i}].role",
            )
        open_ids = {x for x in ids if isinstance(x, str)}
    return None


def results_answer(messages: list[Any]) -> str | None:
    """``Result: ...`` when the conversation ends with tool results, else None."""
    if not messages or messages[-1].get("role") != "tool":
        return None
    i = len(messages) - 1
    contents: dict[str, str] = {}
    while i >= 0 and messages[i].get("role") == "tool":
        contents.setdefault(messages[i].get("tool_call_id"), message_text(messages[i])[0])
        i -= 1
    calls = messages[i].get("tool_calls") if i >= 0 else None
    ids = [c.get("id") for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
    return "Result: " + "; ".join(contents.get(x, "") for x in ids)


def name_tokens(name: str) -> set[str]:
    """Content tokens of a function name: ``get_weather`` -> {weather}."""
    spaced = _CAMEL.sub(" ", name).replace("_", " ").replace("-", " ")
    return {fold(w) for w in spaced.lower().split() if w not in STOPWORDS}


def select(fns: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The best-overlapping functions (rule in the module docstring), in mention order."""
    said = content_words(text)
    said_set = set(said)
    for tokens_of in (
        lambda fn: name_tokens(fn["name"]),
        lambda fn: set(content_words(str(fn.get("description") or ""))),
    ):
        hits = [tokens_of(fn) & said_set for fn in fns]
        best = max((len(h) for h in hits), default=0)
        if best:
            chosen = [
                (min(said.index(w) for w in h), i) for i, h in enumerate(hits) if len(h) == best
            ]
            return [fns[i] for _, i in sorted(chosen)]
    return []


def _params(fn: dict[str, Any]) -> dict[str, Any]:
    params = fn.get("parameters")
    return params if isinstance(params, dict) else {"type": "object", "properties": {}}


def _single(fn: dict[str, Any], found: Entities, parallel: bool) -> list[dict[str, Any]]:
    """Arguments for one function: one call, or one per group of string entities."""
    params = _params(fn)
    probe = Filler(found, "available", root=params)
    props = params.get("properties") if isinstance(params.get("properties"), dict) else {}
    required = params.get("required") if isinstance(params.get("required"), list) else []
    plain = []
    for name, sub in props.items():
        s = probe.resolve(sub)
        if isinstance(s.get("enum"), list):
            probe.exclude([str(e) for e in s["enum"]])
        elif s.get("type", "string") == "string" and "const" not in s:
            plain.append(name)
    k = len([p for p in plain if p in required]) or len(plain)
    strings = list(probe.strings)
    if not parallel or k < 1 or len(strings) <= k:
        return [Filler(found, "available", root=params).obj(params)]
    out = []
    for g in range(len(strings) // k):
        group = Entities(strings[g * k : (g + 1) * k], list(found.numbers), found.text)
        out.append(Filler(group, "available", root=params).obj(params))
    return out


def plan_calls(
    model: ModelConfig, body: dict[str, Any], text: str
) -> tuple[list[dict[str, Any]], bool] | None:
    """(tool_calls, correct) for a request with tools, or None for a text answer."""
    fns = functions(body)
    choice = body.get("tool_choice") or "auto"
    if not fns or choice == "none":
        return None
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        chosen = [fn for fn in fns if fn["name"] == wanted][:1]
    else:
        chosen = select(fns, text) or (fns[:1] if choice == "required" else [])
    if not chosen:
        return None
    parallel = body.get("parallel_tool_calls") is not False
    found = entities(text)
    if len(chosen) == 1 or not parallel:
        pairs = [(chosen[0], args) for args in _single(chosen[0], found, parallel)]
    else:
        shared = Filler(found, "required")
        pairs = [(fn, shared.obj(_params(fn))) for fn in chosen]
    if not parallel:
        pairs = pairs[:1]
    correct = is_correct(model, text)
    if not correct:
        slots = [(i, k) for i, (_, args) in enumerate(pairs) for k in corruptible(args)]
        if slots:
            i, key = slots[int(unit_hash("corrupt", model.name, model.seed, text) * len(slots))]
            fn, args = pairs[i]
            sub = (_params(fn).get("properties") or {}).get(key)
            args[key] = corrupt_value(args[key], sub if isinstance(sub, dict) else None)
        else:
            correct = True  # nothing to get wrong
    calls = []
    for i, (fn, args) in enumerate(pairs):
        arguments = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
        call_id = "call_" + short_hash(model.name, model.seed, text, i, fn["name"], arguments)
        calls.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": fn["name"], "arguments": arguments},
            }
        )
    return calls, correct
