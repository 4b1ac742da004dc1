"""promptfoo's Nunjucks templates -> jinja2, the template language of our prompts.

Nunjucks is a port of jinja2, so `{{ var }}`, `{% for %}`, `{% if %}`, `loop.index`,
`| default('x')`, `| safe`, `| upper` read the same. What differs in practice, and is
converted: `| dump` (JSON) is `| tojson`; `===` / `!==` are `==` / `!=`; `{% elseif %}` is
`{% elif %}`; `{% verbatim %}` is `{% raw %}`; `x.length` is `x | length`; and the
JavaScript string methods `toUpperCase()`, `toLowerCase()`, `trim()` become their Python
spellings. Other JavaScript inside a tag (method calls such as `.includes(`, regex
literals), promptfoo's special variables (`_conversation`, `env`) and anything jinja2
cannot parse afterwards are reported as untranslatable: the caller skips that prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import jinja2

SPECIAL_VARS = ("_conversation", "env")
"""Variables promptfoo fills in itself (the chat history, the environment): no case has them."""

_TAG = re.compile(r"({{.*?}}|{%.*?%})", re.S)
_RAW_BLOCK = re.compile(r"{%-?\s*(raw|verbatim)\s*-?%}.*?{%-?\s*end\1\s*-?%}", re.S)
_JS_METHODS = {"toUpperCase()": "upper()", "toLowerCase()": "lower()", "trim()": "strip()"}
_JS_ONLY = re.compile(
    r"\.(includes|indexOf|slice|substring|substr|map|filter|reduce|forEach|toString|"
    r"toFixed|charAt|padStart|padEnd|startsWith|endsWith|concat|some|every|find)\s*\("
)
_REGEX_LITERAL = re.compile(r"\br/")


@dataclass
class Conversion:
    """The jinja2 text, what was changed, and why it cannot be used (None: it can)."""

    text: str
    changes: list[str] = field(default_factory=list)
    error: str | None = None


def _convert_tag(tag: str, changes: list[str]) -> tuple[str, str | None]:
    new = re.sub(r"\|\s*dump\b", "| tojson", tag)
    if new != tag:
        changes.append("| dump -> | tojson")
    tag, new = new, new.replace("!==", "!=").replace("===", "==")
    if new != tag:
        changes.append("=== / !== -> == / !=")
    tag, new = new, re.sub(r"^({%-?\s*)elseif\b", r"\1elif", new)
    if new != tag:
        changes.append("elseif -> elif")
    tag, new = new, re.sub(r"([\w\]\)])\.length\b(?!\s*\()", r"\1 | length", new)
    if new != tag:
        changes.append(".length -> | length")
    for js, py in _JS_METHODS.items():
        if f".{js}" in new:
            new = new.replace(f".{js}", f".{py}")
            changes.append(f".{js} -> .{py}")
    for name in SPECIAL_VARS:
        if re.search(rf"(?<![\w.]){re.escape(name)}\b", new):
            return new, f"uses promptfoo's special variable `{name}`, which evals does not provide"
    js = _JS_ONLY.search(new)
    if js:
        return new, f"calls the JavaScript method `.{js.group(1)}()`"
    if _REGEX_LITERAL.search(new):
        return new, "uses a Nunjucks regex literal (r/.../)"
    return new, None


def convert(text: str) -> Conversion:
    """Convert one Nunjucks template; `error` says why it is untranslatable, if it is."""
    changes: list[str] = []
    text = re.sub(r"{%(-?\s*)verbatim(\s*-?)%}", r"{%\1raw\2%}", text)
    text = re.sub(r"{%(-?\s*)endverbatim(\s*-?)%}", r"{%\1endraw\2%}", text)
    out: list[str] = []
    position = 0
    raw_spans = [m.span() for m in _RAW_BLOCK.finditer(text)]
    for match in _TAG.finditer(text):
        start, end = match.span()
        if any(a <= start < b for a, b in raw_spans):
            continue
        out.append(text[position:start])
        tag, error = _convert_tag(match.group(0), changes)
        if error is not None:
            return Conversion(text, sorted(set(changes)), error)
        out.append(tag)
        position = end
    out.append(text[position:])
    result = "".join(out)
    try:
        jinja2.Environment().parse(result)
    except jinja2.TemplateSyntaxError as exc:
        return Conversion(result, sorted(set(changes)), f"not valid jinja2 ({exc.message})")
    return Conversion(result, sorted(set(changes)))
