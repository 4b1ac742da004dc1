"""Reading openai/evals registries: the evals a registry YAML names, and their samples.

Kept apart from `openai_evals` (which maps classes onto graders and writes suites) so each
stays small. Samples that cannot become cases are reported through the job's `skip`, with
the samples file and line, never raised: one odd line must not lose a whole eval.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.config.yamlload import LineDict, load_yaml
from evals.errors import InputError
from evals.importers import ImportResult, Skipped

MATCH = "evals.elsuite.basic.match:Match"
INCLUDES = "evals.elsuite.basic.includes:Includes"
FUZZY = "evals.elsuite.basic.fuzzy_match:FuzzyMatch"
CLASSIFY = "evals.elsuite.modelgraded.classify:ModelBasedClassify"
ROLES = ("system", "developer", "user", "assistant")
LFS_POINTER = "version https://git-lfs.github.com/spec/"


@dataclass
class EvalEntry:
    """One eval of a registry file: its name, the spec it resolves to, class and args."""

    name: str
    spec_name: str
    cls: str
    args: dict[str, Any]
    description: str
    file: Path
    line: int | None

    @property
    def label(self) -> str:
        return f"eval {self.name}"


@dataclass
class Sample:
    """One sample as a case needs it: its line, its chat as (role, text), its ideal."""

    line: int
    messages: list[tuple[str, str]]
    ideal: Any


@dataclass
class Job:
    """One import: where samples are read from, where suites go, what was skipped."""

    data_dir: Path
    out: Path
    result: ImportResult = field(default_factory=ImportResult)
    taken: set[str] = field(default_factory=set)  # suite names written, so none is overwritten

    def unique(self, name: str) -> str:
        """`name`, or `name-2`, `name-3`, ... when an earlier suite of this import has it."""
        candidate, n = name, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{name}-{n}"
        self.taken.add(candidate)
        return candidate

    def skip(self, what: str, file: Path, line: int | None, why: str) -> None:
        self.result.skipped.append(Skipped(what, file, line, why))


def find_evals(registry: Path) -> list[EvalEntry]:
    """The evals of a registry file: aliases (`name: {id: spec}`), then unaliased specs."""
    tree = load_yaml(registry)
    if not isinstance(tree, dict):
        raise InputError("an openai/evals registry file must be a YAML mapping", registry, 1)
    found, aliased = [], set()
    for name, base in tree.items():
        if isinstance(base, dict) and "id" in base and "class" not in base:
            spec = tree.get(base["id"])
            if not isinstance(spec, dict) or "class" not in spec:
                raise InputError(
                    f"eval '{name}' points at id '{base['id']}', which is not in this file",
                    registry,
                    tree.key_lines.get(name),
                )
            aliased.add(base["id"])
            found.append(_entry(name, base["id"], spec, base, registry, tree))
    for name, spec in tree.items():
        if isinstance(spec, dict) and "class" in spec and name not in aliased:
            found.append(_entry(name, name, spec, spec, registry, tree))
    return found


def _entry(
    name: str, spec_name: str, spec: dict, base: dict, registry: Path, tree: LineDict
) -> EvalEntry:
    line = getattr(spec, "key_lines", {}).get("class") or tree.key_lines.get(spec_name)
    description = str(base.get("description") or spec.get("description") or "").strip()
    args = spec.get("args") or {}
    return EvalEntry(name, spec_name, str(spec["class"]), args, description, registry, line)


def select(found: list[EvalEntry], eval_name: str, registry: Path) -> list[EvalEntry]:
    """The eval called `eval_name` (its name or its spec id); InputError lists the others."""
    chosen = [e for e in found if eval_name in (e.name, e.spec_name)]
    if not chosen:
        names = ", ".join(e.name for e in found) or "none"
        raise InputError(f"no eval named '{eval_name}' in this file (it has: {names})", registry)
    return chosen


def spec_of(args: dict[str, Any]) -> Any:
    """The modelgraded spec's name (`modelgraded_spec_file` in older registries)."""
    return args.get("modelgraded_spec") or args.get("modelgraded_spec_file")


def samples(entry: EvalEntry, job: Job) -> Iterator[Sample]:
    """The eval's samples that can become cases; the others are skipped with their line."""
    if "samples_jsonl" not in entry.args:
        job.skip(entry.label, entry.file, entry.line, "no samples_jsonl in its args")
        return
    path = _data_path(entry.args["samples_jsonl"], job)
    records = _read_jsonl(path, entry, job)
    few_shot = _few_shot(entry, job)
    if records is None or few_shot is None:
        return
    renamings = entry.args.get("samples_renamings") or {}
    needs_ideal = entry.cls != CLASSIFY or spec_of(entry.args) == "fact"
    names_dropped = False
    for line, record in records:
        if isinstance(record, dict):
            record = {renamings.get(k, k): v for k, v in record.items()}
        why = _sample_problem(record, needs_ideal)
        if why:
            job.skip("sample", path, line, why)
            continue
        chat = _chat(record["input"])
        if few_shot:  # as Match does: before the last message
            chat = chat[:-1] + few_shot + chat[-1:]
        names_dropped = names_dropped or any("name" in m for m in chat)
        yield Sample(line, [(m["role"], m["content"]) for m in chat], record.get("ideal"))
    if names_dropped:
        why = "message `name` fields (e.g. example_user) are dropped: suite messages have none"
        job.skip(f"{entry.label}: message names", path, None, why)


def _data_path(raw: Any, job: Job) -> Path:
    path = Path(str(raw))
    return path if path.is_absolute() else job.data_dir / path


def _read_jsonl(path: Path, entry: EvalEntry, job: Job) -> Iterator[tuple[int, Any]] | None:
    """(line, record) of a samples file, or None (skipped, with the reason) if unreadable."""
    if not path.is_file():
        why = f"samples file {path} does not exist (give the registry's data folder with --data)"
        job.skip(entry.label, entry.file, entry.line, why)
        return None
    text = path.read_text(encoding="utf-8")
    if text.startswith(LFS_POINTER):
        why = f"samples file {path} is a Git LFS pointer: run `git lfs pull` in the evals repo"
        job.skip(entry.label, entry.file, entry.line, why)
        return None
    return _records(text, path, job)


def _records(text: str, path: Path, job: Job) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            job.skip("sample", path, number, f"not valid JSON ({exc.msg})")


def _few_shot(entry: EvalEntry, job: Job) -> list[dict[str, Any]] | None:
    """Match's few-shot messages (the `sample` chats of the first `num_few_shot` records)."""
    count = int(entry.args.get("num_few_shot") or 0)
    if entry.cls != MATCH or count <= 0:
        return []
    if "few_shot_jsonl" not in entry.args:
        job.skip(entry.label, entry.file, entry.line, "num_few_shot without few_shot_jsonl")
        return None
    records = _read_jsonl(_data_path(entry.args["few_shot_jsonl"], job), entry, job)
    if records is None:
        return None
    messages: list[dict[str, Any]] = []
    for _, record in list(records)[:count]:
        messages += _chat(record.get("sample", []) if isinstance(record, dict) else [])
    return messages


def _chat(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):  # openai/evals sends a text prompt to chat models as system
        return [{"role": "system", "content": raw}]
    return list(raw)


def _sample_problem(record: Any, needs_ideal: bool) -> str | None:
    """Why a sample cannot become a case, or None."""
    if not isinstance(record, dict) or "input" not in record:
        return "a sample needs an `input` (a chat or a string)"
    if needs_ideal and record.get("ideal") is None:
        return "a sample needs an `ideal` answer for this eval"
    raw = record["input"]
    if isinstance(raw, str):
        return None
    if not isinstance(raw, list) or not raw:
        return "`input` must be a string or a non-empty list of messages"
    for message in raw:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return f"message {message!r:.60} has a role suites cannot send ({', '.join(ROLES)})"
        if not isinstance(message.get("content"), str):
            return "a message's content is not text (images, parts): not carried over"
    return None
