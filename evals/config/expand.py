"""What a suite adds to each case as it is read: its defaults, matrix expansion, file:// values.

- `defaults:` (promptfoo's `defaultTest`): `vars` merged under every case's own (the
  case wins) and a default `threshold`;
- a case's `matrix: {var: [values...]}` becomes one case per combination (the cartesian
  product, in the order written), each id saying which: `greet[lang=fr,tone=warm]`;
- a var whose value is a `file://path` string is that file's content, the path relative
  to the suite file: `.json` parsed, `.yaml`/`.yml` parsed, anything else as text.

Files are read once per suite pass, however many cases name them; a missing or
unreadable file is an InputError at the case that names it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from evals.config.cases import Case
from evals.errors import InputError

FILE_PREFIX = "file://"
ID_VALUE_CHARS = 24  # how much of a matrix value a case id shows


@dataclass(frozen=True, slots=True)
class CaseDefaults:
    vars: Mapping[str, Any] = field(default_factory=dict)
    threshold: float | None = None


def load_file_value(ref: str, base: Path) -> Any:
    """The content a `file://` reference stands for (raises OSError, ValueError)."""
    path = (base / ref.removeprefix(FILE_PREFIX)).resolve()
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    if path.suffix in (".yaml", ".yml"):
        return yaml.safe_load(text)
    return text


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= ID_VALUE_CHARS else text[: ID_VALUE_CHARS - 1] + "…"


def _matrix(case: Case) -> Iterator[Case]:
    names = list(case.matrix or {})
    if not names:
        yield replace(case, matrix=None)
        return
    for combo in itertools.product(*(case.matrix[name] for name in names)):
        chosen = dict(zip(names, combo, strict=True))
        label = ",".join(f"{name}={_short(value)}" for name, value in chosen.items())
        yield replace(case, id=f"{case.id}[{label}]", vars={**case.vars, **chosen}, matrix=None)


class CaseExpander:
    """Applies a suite's defaults, matrices and file:// values to its cases, in order."""

    def __init__(self, suite_path: Path, defaults: CaseDefaults | None = None) -> None:
        self.base = suite_path.parent
        self.defaults = defaults or CaseDefaults()
        self._files: dict[str, Any] = {}

    def expand(self, cases: Iterator[Case]) -> Iterator[Case]:
        for case in cases:
            if self.defaults.vars:
                case = replace(case, vars={**self.defaults.vars, **case.vars})
            if case.threshold is None and self.defaults.threshold is not None:
                case = replace(case, threshold=self.defaults.threshold)
            for one in _matrix(case) if case.matrix else (case,):
                yield self._with_files(one)

    def _with_files(self, case: Case) -> Case:
        refs = [k for k, v in case.vars.items() if isinstance(v, str) and v.startswith(FILE_PREFIX)]
        if not refs:
            return case
        loaded = dict(case.vars)
        for name in refs:
            ref = loaded[name]
            if ref not in self._files:
                try:
                    self._files[ref] = load_file_value(ref, self.base)
                except (OSError, ValueError, yaml.YAMLError) as exc:
                    raise InputError(
                        f"case '{case.id}': var `{name}` names {ref}, which cannot be read "
                        f"({exc}): the path is relative to the suite file",
                        case.path,
                        case.line,
                    ) from None
            loaded[name] = self._files[ref]
        return replace(case, vars=loaded)
