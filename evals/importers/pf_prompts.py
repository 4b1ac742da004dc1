"""promptfoo `prompts:` -> our named prompt variants.

promptfoo takes inline strings, `file://` text files (several prompts in one file are
separated by a `---` line), JSON/YAML chat files (a list of {role, content}), globs of
those, `{id|raw, label}` objects and the older `{path: label}` mapping. Each prompt becomes
one variant, named after its label, else its file, else its position (p1, p2, ...). Text
prompts stay strings (one user message, as promptfoo sends them to chat models); chat files
become message lists. Templates are converted from Nunjucks (evals.importers.nunjucks).
Prompt functions (.py/.js) and what cannot be converted are skipped.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

import yaml

from evals.importers.context import Context, slug
from evals.importers.nunjucks import convert

PromptValue = str | list[dict[str, str]]
ROLES = frozenset({"system", "developer", "user", "assistant"})
CODE_SUFFIXES = (".py", ".js", ".cjs", ".mjs", ".ts")
TEXT_SUFFIXES = (".txt", ".md", ".j2", ".prompt", ".tmpl", "")


def _entries(raw: Any) -> list[tuple[Any, str | None, int | None]]:
    """(prompt, label, line) for every form of `prompts:`."""
    line = getattr(raw, "line", None)
    if isinstance(raw, str):
        return [(raw, None, line)]
    if isinstance(raw, dict):  # {path: label}
        return [(k, v if isinstance(v, str) else None, raw.key_lines.get(k, line))
                for k, v in raw.items()]  # fmt: skip
    if isinstance(raw, list):
        lines = getattr(raw, "item_lines", [line] * len(raw))
        out = []
        for item, item_line in zip(raw, lines, strict=True):
            if isinstance(item, dict) and ("id" in item or "raw" in item):
                label = item.get("label") if isinstance(item.get("label"), str) else None
                out.append((item.get("raw", item.get("id")), label, item_line))
            else:
                out.append((item, None, item_line))
        return out
    return []


def _is_file_ref(text: str, ctx: Context) -> bool:
    if text.startswith("file://"):
        return True
    single = "\n" not in text and " " not in text and "{" not in text
    return single and (ctx.base / text).is_file()


def _chat(messages: Any) -> list[dict[str, str]] | str:
    """Messages as {role, content} dicts, or why they cannot be used."""
    if not isinstance(messages, list) or not messages:
        return "a chat prompt must be a non-empty list of {role, content}"
    out = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return f"role {message.get('role') if isinstance(message, dict) else message!r} " \
                   "is not one of system, developer, user, assistant"  # fmt: skip
        if not isinstance(message.get("content"), str):
            return "message content that is not text (image parts, tool calls)"
        out.append({"role": message["role"], "content": message["content"]})
    return out


def _parse_json_chat(text: str) -> list[dict[str, str]] | None:
    if not text.lstrip().startswith("["):
        return None
    try:
        chat = _chat(json.loads(text))
    except json.JSONDecodeError:
        return None
    return chat if isinstance(chat, list) else None


def _from_file(ref: str, ctx: Context) -> list[tuple[str, Any]] | str:
    """(name hint, raw prompt) for every prompt the file reference holds, or why not."""
    path_text = ref.removeprefix("file://")
    if any(path_text.partition(":")[0].endswith(s) for s in CODE_SUFFIXES):
        return "prompt functions (Python/JavaScript) cannot be imported: write the prompt out"
    pattern = str(ctx.source(path_text))
    paths = sorted(Path(p) for p in glob.glob(pattern)) if glob.has_magic(pattern) else [
        Path(pattern)
    ]  # fmt: skip
    if not paths or not all(p.is_file() for p in paths):
        return f"the file {ref} does not exist"
    found: list[tuple[str, Any]] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".json", ".yaml", ".yml"):
            try:
                data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            except (json.JSONDecodeError, yaml.YAMLError) as exc:
                return f"{path.name} cannot be parsed ({exc})"
            found.append((path.stem, data))
        elif path.suffix in TEXT_SUFFIXES:
            parts = [p.strip("\n") for p in _split(text)]
            many = len(parts) > 1
            found += [(f"{path.stem}-{i}" if many else path.stem, p)
                      for i, p in enumerate(parts, 1)]  # fmt: skip
        else:
            return f"prompt files of type {path.suffix} are not supported"
    return found


def _split(text: str) -> list[str]:
    """promptfoo separates prompts in one text file by a line holding only `---`."""
    parts, current = [], []
    for row in text.splitlines(keepends=True):
        if row.strip() == "---":
            parts.append("".join(current))
            current = []
        else:
            current.append(row)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def load_prompts(raw: Any, ctx: Context) -> dict[str, PromptValue]:
    variants: dict[str, PromptValue] = {}
    for index, (item, label, line) in enumerate(_entries(raw), 1):
        if not isinstance(item, str):
            ctx.skip("prompt", "not a string or file reference", line)
            continue
        what = f"prompt {label or item[:40]!r}"
        if _is_file_ref(item, ctx):
            found = _from_file(item, ctx)
            if isinstance(found, str):
                ctx.skip(what, found, line)
                continue
        else:
            found = [(f"p{index}", item)]
        for hint, prompt in found:
            name = slug(label) if label and len(found) == 1 else slug(hint) or f"p{index}"
            name = name or f"p{index}"
            value, error = _template(prompt)
            if error is not None:
                ctx.skip(what, error, line)
                continue
            base, n = name, 2
            while name in variants:
                name, n = f"{base}-{n}", n + 1
            variants[name] = value
    return variants


def _template(prompt: Any) -> tuple[PromptValue, str | None]:
    """The prompt with its templates converted to jinja2, or the reason it cannot be."""
    if isinstance(prompt, str):
        chat = _parse_json_chat(prompt)
        if chat is None:
            result = convert(prompt)
            return result.text, result.error
        prompt = chat
    chat = _chat(prompt)
    if isinstance(chat, str):
        return "", chat
    converted = []
    for message in chat:
        result = convert(message["content"])
        if result.error is not None:
            return "", f"{message['role']} message: {result.error}"
        converted.append({"role": message["role"], "content": result.text})
    return converted, None
