"""Finding the program in a model's answer for `code_exec`: a fenced block (the one
that defines the entry point), the whole output, or the case's prompt plus the
completion, as HumanEval runs it."""

from __future__ import annotations

import re

from evals.graders.code_child import SCRIPT

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.#-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
STRAY_FENCE = re.compile(r"^[ \t]*```[A-Za-z0-9_+.#-]*[ \t]*$\n?", re.M)
PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3"})


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, body) of each ``` block, an unclosed last block included."""
    return [(m.group(1).lower(), m.group(2)) for m in FENCE.finditer(text)]


def defines(code: str, name: str | None) -> bool:
    pattern = rf"^\s*(?:async\s+)?def\s+{re.escape(name or '')}\s*\("
    return bool(name) and re.search(pattern, code, re.M) is not None


def pick_block(text: str, entry_point: str | None) -> str | None:
    """The fenced block to run: the one defining the entry point, else the first Python one."""
    blocks = [
        (tag, body) for tag, body in fenced_blocks(text) if tag in PYTHON_TAGS and body.strip()
    ]
    if not blocks:
        return None
    for _, body in blocks:
        if defines(body, entry_point):
            return body
    tagged = [body for tag, body in blocks if tag]
    return tagged[0] if tagged else blocks[0][1]


def _compiles(source: str) -> bool:
    try:
        compile(source, SCRIPT, "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def extract_code(
    output: str, mode: str, entry_point: str | None, prompt: str | None
) -> tuple[str, str] | None:
    """(code, how it was found) from the model's output, or None when `fenced` finds none.

    A fenced block that restates the whole function is that program in every mode; the
    prompt (HumanEval's imports, helpers, signature) is put before it when that still
    compiles, so what the prompt imports or defines stays available (`auto` does the same
    for an unfenced restated function). Otherwise, `prompt_prefix` (and `auto`, when the
    code does not define the entry point and the case has a prompt) runs the prompt
    followed by the completion. Without a block, stray fence lines (a lone closing
    ```) are dropped from the whole output: they are never Python.
    """
    block = pick_block(output, entry_point) if mode != "whole" else None
    if mode == "fenced" and block is None:
        return None
    if block is not None and defines(block, entry_point):
        if prompt and _compiles(prompt + "\n" + block):
            return prompt + "\n" + block, "prompt + fenced block restating the function"
        return block, "fenced block"
    if block is None:
        output = STRAY_FENCE.sub("", output)
    code, how = (block, "fenced block") if block is not None else (output, "whole output")
    if mode == "auto" and prompt and defines(code, entry_point):
        if _compiles(prompt + "\n" + code):
            return prompt + "\n" + code, f"prompt + {how} restating the function"
        return code, how
    prefix = mode == "prompt_prefix" or (
        mode == "auto" and prompt and entry_point and not defines(code, entry_point)
    )
    if prefix and prompt:
        return prompt + code, f"prompt + {how}"
    return code, how
