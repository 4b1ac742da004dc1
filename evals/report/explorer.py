"""The case explorer's data: every sample of a run as compact JSON for the report's script.

The report embeds two `<script type="application/json">` blocks, rendered client-side
with `textContent` only (evals/report/templates/explorer.js):
- `explorer-rows`: `{"columns": [...], "rows": [[...], ...]}`, one array per sample
  in `COLUMNS` order;
- `explorer-strings`: the table of repeated strings (suite, case id, prompt, model,
  messages, vars, expected, grader types and reasons, errors, tags) that row
  fields in `INTERNED` point into, written after the rows so both stream.

JSON is written with `<`, `>` and `&` escaped as `\\u003c` etc.: model output such as
`</script>` cannot close the data block, and `JSON.parse` reads it back unchanged.
Long texts are cut at `MAX_TEXT` characters (the store keeps them whole).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from markupsafe import Markup

from evals.store.rows import SAMPLE_TEXT_COLUMNS, SampleText

MAX_TEXT = 20_000
CHUNK_ROWS = 500

COLUMNS = (
    "suite",
    "case",
    "prompt",
    "model",
    "repeat",
    "status",  # "pass" | "fail" | "error" (interned)
    "score",
    "latency",
    "ttft",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost",
    "cache_hit",  # 0 | 1
    "flip",  # null | "pass->fail" | "fail->pass" (interned)
    "output",
    "error",
    "tool_calls",  # name(arguments) lines, or null
    "finish",
    "grades",  # [[type, status, score, reason]] with type, status, reason interned
    "messages",  # JSON text of [[role, text], ...], interned
    "vars",  # JSON text, interned
    "expect",  # text (JSON text unless a string), interned
    "tags",  # [tag, ...] interned
)
INTERNED = ("suite", "case", "prompt", "model", "status", "flip", "error", "finish")
INTERNED += ("messages", "vars", "expect")

_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})

Flips = Mapping[tuple[str, str, str, str, int], str]


def script_json(value: Any) -> str:
    """JSON that is safe inside a `<script type="application/json">` element; NaN and
    infinities (which JSON.parse rejects) become null, shown as unknown."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))
    return text.translate(_ESCAPES)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}\n… [cut at {MAX_TEXT:,} of {len(text):,} characters: see the store]"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _part_text(part: Any) -> str:
    if not isinstance(part, Mapping):
        return str(part)
    kind = part.get("type")
    if kind == "text":
        return str(part.get("text", ""))
    if kind == "image_url":
        return "[image]"
    if kind == "input_audio":
        return "[audio]"
    return f"[{kind}]"


def message_pairs(request: Any) -> list[list[str]]:
    """[[role, text], ...] of a request body: images and audio as placeholders, never bytes."""
    if not isinstance(request, Mapping):
        return []
    messages = request.get("messages")
    if not isinstance(messages, list):
        shown = {k: v for k, v in request.items() if k in ("input", "model", "file")}
        return [["request", _cut(_compact(shown)) or ""]] if shown else []
    pairs = []
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        if isinstance(content, list):
            text = "\n".join(_part_text(part) for part in content)
        elif content is None and message.get("tool_calls"):
            text = _tool_call_lines(message["tool_calls"]) or ""
        else:
            text = "" if content is None else str(content)
        pairs.append([str(message.get("role", "")), _cut(text) or ""])
    return pairs


def _tool_call_lines(calls: Any) -> str | None:
    if not calls:
        return None
    lines = []
    for call in calls:
        if isinstance(call, Mapping):
            function = call.get("function") or {}
            lines.append(f"{function.get('name')}({function.get('arguments')})")
    return _cut("\n".join(lines))


def status_of(row: SampleText) -> str:
    if row.error or row.passed is None:
        return "error"
    return "pass" if row.passed else "fail"


_JSON_COLUMNS = ("request", "vars", "expect", "grades", "tags")
_DEFAULTS: dict[str, Any] = {name: None for name in SAMPLE_TEXT_COLUMNS}
_DEFAULTS.update(repeat=0, cache_hit=False, request={}, vars={}, grades=[], tags=[])


def as_sample(row: SampleText | Mapping[str, Any]) -> SampleText:
    """A stored sample as is; a dict with its field names and decoded JSON values
    (what `render_html` callers without a store give) as one."""
    if isinstance(row, SampleText):
        return row
    data = {**_DEFAULTS, **{k: v for k, v in row.items() if k in _DEFAULTS and v is not None}}
    for name in _JSON_COLUMNS:
        data[name] = json.dumps(data[name], ensure_ascii=False)
    calls = data["tool_calls"]
    data["tool_calls"] = None if calls is None else json.dumps(calls, ensure_ascii=False)
    return SampleText(**data)


class StringTable:
    """Each distinct string once; rows hold its index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, text: str | None) -> int | None:
        if text is None:
            return None
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.index)
        return found

    def strings(self) -> list[str]:
        return list(self.index)  # dicts keep insertion order: position = index


class _Rows:
    """Turns samples into explorer arrays, parsing each distinct JSON text once."""

    def __init__(self, flips: Flips) -> None:
        self.flips = flips
        self.intern = StringTable()
        self.last_request: tuple[str, int | None] = ("", None)  # repeats often come in a row
        self.tags: dict[str, list[int | None]] = {}
        self.expects: dict[str, int | None] = {}

    def row(self, s: SampleText) -> list[Any]:
        """One sample as the explorer's array, in COLUMNS order."""
        intern = self.intern
        key = (s.suite, s.case_id, s.prompt, s.model)
        if self.last_request[0] == s.request:
            messages = self.last_request[1]
        else:
            messages = intern(_compact(message_pairs(json.loads(s.request))))
            self.last_request = (s.request, messages)
        tags = self.tags.get(s.tags)
        if tags is None:
            tags = self.tags[s.tags] = [intern(str(t)) for t in json.loads(s.tags) or ()]
        expect = self.expects.get(s.expect, -1)
        if expect == -1:
            value = json.loads(s.expect)
            text = None if value is None else value if isinstance(value, str) else s.expect
            expect = self.expects[s.expect] = intern(_cut(text))
        grades = [
            [
                intern(str(g.get("type") or g.get("name") or "")),
                intern(_grade_status(g)),
                g.get("score"),
                intern(_cut(_grade_reason(g))),
            ]
            for g in json.loads(s.grades)
            if isinstance(g, Mapping)
        ]
        calls = _tool_call_lines(json.loads(s.tool_calls)) if s.tool_calls else None
        return [
            intern(s.suite),
            intern(s.case_id),
            intern(s.prompt),
            intern(s.model),
            s.repeat,
            intern(status_of(s)),
            s.score,
            s.latency_s,
            s.ttft_s,
            s.prompt_tokens,
            s.cached_tokens,
            s.completion_tokens,
            s.reasoning_tokens,
            s.cost_usd,
            1 if s.cache_hit else 0,
            intern(self.flips.get((*key, s.repeat))),
            _cut(s.output),
            intern(_cut(s.error)),
            calls,
            intern(s.finish_reason),
            grades,
            messages,
            intern(s.vars if s.vars not in ("{}", "null") else None),
            expect,
            tags,
        ]


def _grade_reason(grade: Mapping[str, Any]) -> str:
    error = grade.get("error")
    if isinstance(error, str) and error:
        return error
    return str(grade.get("reason") or ("grader error" if error else ""))


def _grade_status(grade: Mapping[str, Any]) -> str:
    if grade.get("error"):
        return "error"
    return "pass" if grade.get("passed") is True else "fail"


class ExplorerData:
    """The explorer's two data blocks, streamed: `rows()` first, then `strings()`.

    Both return `Markup`: their text is JSON with `<`, `>` and `&` escaped (script_json),
    which is what makes it safe inside `<script type="application/json">`; HTML-escaping
    it instead would corrupt it (a script element's text is not entity-decoded)."""

    def __init__(
        self, samples: Iterable[SampleText | Mapping[str, Any]], flips: Flips | None = None
    ) -> None:
        self._samples = samples
        self._rows = _Rows(flips or {})
        self.count = 0

    def rows(self) -> Iterator[Markup]:
        yield Markup('{"columns":' + script_json(COLUMNS) + ',"rows":[')
        batch: list[list[Any]] = []
        for sample in self._samples:
            batch.append(self._rows.row(as_sample(sample)))
            if len(batch) == CHUNK_ROWS:
                yield self._chunk(batch)
                batch = []
        if batch:
            yield self._chunk(batch)
        yield Markup("]}")

    def _chunk(self, batch: list[list[Any]]) -> Markup:
        text = script_json(batch)[1:-1]  # the arrays, without the enclosing brackets
        first = self.count == 0
        self.count += len(batch)
        return Markup(text if first else "," + text)

    def strings(self) -> Markup:
        """The string table: complete only once rows() has been read to the end."""
        return Markup(script_json(self._rows.intern.strings()))
