"""Suite files: schema (pydantic), loading, and every check that can fail before a request.

A bad suite ends in one InputError naming the file, the line and the fix.
Runner profiles live in `evals.config.runner`.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.config.cases import (
    Case,
    CasesSourceSpec,
    FieldMap,
    iter_file,
    iter_inline,
    resolve_cases_file,
    resolve_cases_source,
)
from evals.config.expand import FILE_PREFIX, CaseDefaults, CaseExpander, load_file_value
from evals.config.render import (
    ImageError,
    MessageSpec,
    PromptTemplate,
    TemplateError,
    compile_prompt,
)
from evals.config.response_format import response_format
from evals.config.schema_errors import input_error
from evals.config.yamlload import LineDict, line_of, load_yaml
from evals.errors import InputError
from evals.graders.base import Grader, GraderSpecError, template_variables
from evals.graders.registry import build_grader


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    content: str = ""
    """A jinja2 template; case `vars` are substituted into it."""
    images: list[str] = []
    """Templates rendering to image paths (relative to the suite) or URLs (vision)."""
    detail: Literal["low", "high", "auto", "original"] | None = None


PromptSpec = list[Message] | str
"""A list of chat messages, or a bare string meaning one user message (or `file://path`:
a text file is one user message, a .json/.yaml file a list of {role, content} messages)."""


class DefaultsSpec(BaseModel):
    """`defaults:`: what every case gets unless it says otherwise (promptfoo's defaultTest;
    its `assert` is the suite's `graders:`, which apply to every case already)."""

    model_config = ConfigDict(extra="forbid")

    vars: dict[str, Any] = {}
    threshold: float | None = None


class SuiteSpec(BaseModel):
    """The suite file as written (see DESIGN.md, "Suite file")."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_-]+$")
    description: str = ""
    kind: Literal["chat", "transcription", "embeddings"] = "chat"
    """chat (default); transcription (audio files -> text); embeddings (retrieval)."""
    audio: str | None = None
    """transcription: a template rendering to the audio file (relative to the suite)."""
    corpus: str | None = None
    """embeddings: a .jsonl of {id, text} documents (relative to the suite)."""
    k: list[int] = Field(default=[1, 5, 10], min_length=1)
    """embeddings: recall@k for each k; a query passes when the first k finds a relevant id."""
    dimensions: list[int] = []
    """embeddings: Matryoshka truncations to compare (empty: the model's native size)."""
    prompts: dict[str, PromptSpec] | None = None
    """Named prompt variants."""
    prompt: PromptSpec | None = None
    """The one-variant form; the variant is named `default`."""
    params: dict[str, Any] = {}
    """Request defaults (max_tokens, temperature, ...); models may override."""
    cases: str | list[Any] | CasesSourceSpec
    """A path relative to the suite file (.jsonl/.jsonl.gz/.csv/.yaml), an inline list, or
    a mapping: {file: or resource: package/file, id:, vars: [...], expect:, install:}."""
    graders: list[dict[str, Any]] = []
    defaults: DefaultsSpec | None = None
    stream: bool = False
    """Stream responses to measure time to first token and tokens/s."""
    tools: list[dict[str, Any]] | None = None
    """Functions the model may call (OpenAI `tools` format)."""
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    """Structured output: {type: json_schema, schema: {...} or file.json, strict: true}."""

    @model_validator(mode="after")
    def _one_prompt_form(self) -> SuiteSpec:
        if self.kind == "embeddings" and self.corpus is None:
            raise ValueError("an embeddings suite needs `corpus:` (a .jsonl of {id, text})")
        if self.kind == "transcription":
            if self.audio is None:
                raise ValueError('a transcription suite needs `audio:` (e.g. "{{ file }}")')
            if self.prompts is not None or self.prompt is not None:
                raise ValueError("a transcription suite has no prompts: use `params: {prompt}`")
            return self
        if (self.prompts is None) == (self.prompt is None):
            raise ValueError("give either `prompts:` (named variants) or `prompt:`, not both")
        return self


@dataclass
class Suite:
    name: str
    description: str
    path: Path
    prompts: dict[str, PromptTemplate]
    params: dict[str, Any]
    graders: list[Grader]
    inline_cases: list[Any] | None
    cases_file: Path | None
    stream: bool = False
    kind: str = "chat"
    corpus: Path | None = None
    k: tuple[int, ...] = (1, 5, 10)
    dimensions: tuple[int, ...] = ()
    case_fields: FieldMap | None = None  # how records of `cases_file` map onto cases
    defaults: CaseDefaults | None = None

    def cases(self) -> Iterator[Case]:
        """Stream the cases (defaults applied, matrices expanded, file:// vars read);
        nothing is held beyond the current one."""
        if self.cases_file is not None:
            raw = iter_file(self.cases_file, self.case_fields)
        else:
            raw = iter_inline(self.inline_cases or [], self.path)
        return CaseExpander(self.path, self.defaults).expand(raw)


def build_graders(specs: list[dict[str, Any]], lines: list[int | None], path: Path) -> list[Grader]:
    graders = []
    for spec, line in zip(specs, lines, strict=True):
        schema_file = spec.get("schema_file") if isinstance(spec, dict) else None
        if isinstance(schema_file, str) and not Path(schema_file).is_absolute():
            spec = {**spec, "schema_file": str((path.parent / schema_file).resolve())}
        try:
            graders.append(build_grader(spec))
        except GraderSpecError as exc:
            key_line = getattr(spec, "key_lines", {}).get(exc.key) if exc.key else None
            raise InputError(f"grader: {exc}", path, exc.line or key_line or line) from None
    return graders


def _compile_prompts(spec: SuiteSpec, tree: LineDict, path: Path) -> dict[str, PromptTemplate]:
    if spec.kind == "transcription":  # one "variant": the audio file template
        try:
            return {
                "default": compile_prompt("default", [MessageSpec("user", spec.audio)], path.parent)
            }
        except TemplateError as exc:
            raise InputError(f"audio: {exc}", path, tree.key_lines.get("audio")) from None
    variants = spec.prompts if spec.prompts is not None else {"default": spec.prompt}
    key = "prompts" if spec.prompts is not None else "prompt"
    compiled = {}
    for name, messages in variants.items():
        loc: tuple[Any, ...] = (key, name) if spec.prompts is not None else (key,)
        if isinstance(messages, str) and messages.startswith(FILE_PREFIX):
            messages = _prompt_file(messages, path, line_of(tree, loc))
        specs = (
            [MessageSpec("user", messages)]
            if isinstance(messages, str)
            else [MessageSpec(m.role, m.content, tuple(m.images), m.detail) for m in messages]
        )
        try:
            compiled[name] = compile_prompt(name, specs, path.parent)
        except TemplateError as exc:
            line = line_of(tree, (*loc, exc.index) if not isinstance(messages, str) else loc)
            raise InputError(f"prompt '{name}': {exc}", path, line) from None
    return compiled


def _prompt_file(ref: str, path: Path, line: int | None) -> str | list[Message]:
    """A `file://` prompt: a text file is the user message; JSON/YAML, the chat messages."""
    try:
        loaded = load_file_value(ref, path.parent)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"prompt {ref} cannot be read ({exc}): the path is relative to the suite file",
            path,
            line,
        ) from None
    if isinstance(loaded, str):
        return loaded
    try:
        return [Message.model_validate(m) for m in loaded]
    except (TypeError, ValidationError) as exc:
        raise InputError(
            f"prompt {ref}: a JSON/YAML prompt file must be a list of {{role, content}} "
            f"messages ({exc.__class__.__name__})",
            path,
            line,
        ) from None


def load_suite(path: str | Path) -> Suite:
    """Load and check the suite file itself (cases are checked by `check_cases`)."""
    path = Path(path)
    tree = load_yaml(path)
    if not isinstance(tree, dict):
        raise InputError(
            "a suite file must be a YAML mapping (name, prompts, cases, graders)", path, 1
        )
    try:
        spec = SuiteSpec.model_validate(tree)
    except ValidationError as exc:
        raise input_error(exc, tree, path, SuiteSpec, "suite") from None
    if str(path.parent.resolve()) not in sys.path:  # `python:` graders import from here
        sys.path.append(str(path.parent.resolve()))
    grader_lines = getattr(tree.get("graders"), "item_lines", [tree.line] * len(spec.graders))
    graders = build_graders(tree.get("graders") or [], grader_lines, path)
    cases_file, case_fields = None, None
    if isinstance(spec.cases, str):
        cases_file = resolve_cases_file(spec.cases, path, tree.key_lines.get("cases"))
    elif isinstance(spec.cases, CasesSourceSpec):
        cases_file, case_fields = resolve_cases_source(
            spec.cases, path, tree.key_lines.get("cases")
        )
    params = dict(spec.params)
    for key in ("tools", "tool_choice"):
        if getattr(spec, key) is not None:
            params[key] = getattr(spec, key)
    if spec.response_format is not None:
        params["response_format"] = response_format(
            spec.response_format, path, tree.key_lines.get("response_format")
        )
    return Suite(
        name=spec.name,
        description=spec.description,
        path=path,
        prompts=_compile_prompts(spec, tree, path),
        params=params,
        graders=graders,
        inline_cases=tree["cases"] if cases_file is None else None,
        cases_file=cases_file,
        stream=spec.stream,
        kind=spec.kind,
        corpus=_corpus_path(spec, path, tree),
        k=tuple(spec.k),
        dimensions=tuple(spec.dimensions),
        case_fields=case_fields,
        defaults=(
            CaseDefaults(dict(spec.defaults.vars), spec.defaults.threshold)
            if spec.defaults is not None
            else None
        ),
    )


def _corpus_path(spec: SuiteSpec, path: Path, tree: LineDict) -> Path | None:
    if spec.corpus is None:
        return None
    corpus = (path.parent / spec.corpus).resolve()
    if not corpus.is_file():
        raise InputError(
            f"corpus file '{spec.corpus}' does not exist (looked at {corpus})",
            path,
            tree.key_lines.get("corpus"),
        )
    return corpus


@lru_cache(maxsize=1)
def _tool_calls_grader() -> Grader:
    return build_grader({"type": "tool_calls"})


def graders_for(suite: Suite, case: Case) -> list[Grader]:
    """The suite's graders, then the case's; a case's `expect_tool_calls` is checked
    by a `tool_calls` grader even when none is named."""
    graders = list(suite.graders)
    if case.grader_specs:
        graders += build_graders(list(case.grader_specs), list(case.grader_lines), case.path)
    if case.expect_tool_calls is not None and not any(
        grader.type_name.endswith("tool_calls") for grader in graders
    ):
        graders.append(_tool_calls_grader())
    return graders


def check_cases(suite: Suite) -> int:
    """Stream every case once: ids unique, template variables present, graders valid.

    Returns the number of cases. Raises InputError at the first problem.
    """
    id_hashes = array("q")  # 8 bytes a case: a set of a million ids would cost ~80 MB
    count = 0
    for case in suite.cases():
        count += 1
        id_hashes.append(_id_hash(case.id))
        for prompt in suite.prompts.values():
            missing = prompt.variables - case.vars.keys()
            if missing:
                names = ", ".join(sorted(missing))
                raise InputError(
                    f"case '{case.id}' does not provide template variable(s) {names} "
                    f"used by prompt '{prompt.name}' of {suite.path}: add them to the case's vars",
                    case.path,
                    case.line,
                )
            try:
                prompt.check_images(case.vars)
            except ImageError as exc:
                raise InputError(
                    f"case '{case.id}', prompt '{prompt.name}': {exc}: fix the path in the "
                    "case's vars (relative to the suite file)",
                    case.path,
                    case.line,
                ) from None
        graders = graders_for(suite, case)
        _check_value_templates(graders, case)
        if suite.kind == "embeddings":
            if case.expect is None or case.expect == []:
                raise InputError(
                    f"query '{case.id}' has no relevant ids: set `expect` to a list of corpus ids",
                    case.path,
                    case.line,
                )
        elif not graders:
            raise InputError(
                f"case '{case.id}' has no grader: add `graders:` to the suite or the case",
                case.path,
                case.line,
            )
    if count == 0:
        raise InputError("the suite has no cases: add some under `cases:`", suite.path)
    _check_unique_ids(suite, id_hashes)
    return count


def _check_value_templates(graders: list[Grader], case: Case) -> None:
    """A grader `value` written as a template needs the case's vars: say so before sending."""
    for grader in graders:
        options = getattr(grader, "options", None)
        if options is None or "value" not in options.model_fields_set:
            continue
        missing = template_variables(options.value) - case.vars.keys()
        if missing:
            raise InputError(
                f"case '{case.id}': grader {grader.type_name}'s value {options.value!r} uses "
                f"{', '.join(sorted(missing))}, which the case's vars do not have",
                case.path,
                case.line,
            )


def _id_hash(case_id: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(case_id.encode(), digest_size=8).digest(), "little", signed=True
    )


def _check_unique_ids(suite: Suite, id_hashes: array) -> None:
    """Sort the id hashes; on a collision, find the duplicate id itself with a second pass."""
    if len(id_hashes) < 100_000:  # small: plain Python, no numpy import
        ordered = sorted(id_hashes)
        suspects = {a for a, b in zip(ordered, ordered[1:], strict=False) if a == b}
    else:
        import numpy as np

        sorted_hashes = np.sort(np.frombuffer(id_hashes, dtype=np.int64))
        suspects = set(sorted_hashes[1:][sorted_hashes[1:] == sorted_hashes[:-1]].tolist())
    if not suspects:
        return
    seen: set[str] = set()
    for case in suite.cases():
        if _id_hash(case.id) not in suspects:
            continue
        if case.id in seen:
            raise InputError(
                f"duplicate case id '{case.id}': ids must be unique", case.path, case.line
            )
        seen.add(case.id)
