"""openai/evals registry entries (registry/evals/NAME.yaml + samples JSONL) as suites.

An entry `name: {id: name.dev.v0}` points at `name.dev.v0: {class: ..., args: {samples_jsonl}}`;
each such eval becomes one suite `out/<name>.yaml` with its cases in `out/<name>.cases.jsonl`
(id: the sample's line number, vars: its message texts, expect: its `ideal`).

Prompts. A sample's `input` is a whole chat (or a string, which openai/evals sends to chat
models as one system message). Prompt templates cannot take a message list from a case var,
so each message's text becomes a var named by its role (`system`, `user`, then `user_2`,
`assistant_2`, ... for repeats) and the prompt is those messages with `{{ var }}` as content.
Case data is never rendered, so braces in samples reach the model verbatim. Samples whose
chats differ in shape (roles in order) cannot share one prompt: a variant applies to every
case. So each shape gets its own suite, `<name>` for the first shape seen and `<name>-2`, ...
for the others; that keeps every case's conversation exactly as openai/evals sends it.
Match's few-shot (`num_few_shot`) is spliced in the same way openai/evals does it.

Graders (semantics checked against openai/evals' code):
- Match: passes when the raw completion `startswith` an ideal (no strip, case-sensitive) ->
  `starts-with`; several ideals -> an `any` group on each case. Temperature 0, as it sends.
- Includes: an ideal occurs in the completion (case-sensitive unless `ignore_case`) ->
  `contains` with `mode: any` over the ideals. (Their ignore_case lowercases, ours casefolds:
  they differ only on characters like "ß".)
- FuzzyMatch: both texts normalised (lowercase, no punctuation, no articles a/an/the, single
  spaces), then either contains the other; token F1 against the best ideal is reported. No
  built-in grader checks containment both ways after that normalisation, so it becomes a
  `python` grader calling `fuzzy_match` below: the same verdict, F1 as the score (openai/evals
  reports F1 as a second metric; here it is the grade's score). max_tokens 16, as it sends.
- ModelBasedClassify, spec `fact` -> `factuality` (the judge compares the answer with
  `expect`, the ideal, and picks A-E; A, B, C, E pass, D fails: openai/evals only counts the
  letters, it has no pass). Spec `closedqa` -> one `model-graded-closedqa` per criterion of
  `modelgraded_spec_args.criteria` (a string or a mapping), `value` = the criterion: like
  theirs, the judge sees the task, the answer and the criterion, not the ideal. (Our own
  `closedqa` type judges against `expect` and takes no criterion: a different check.)
  Differences: their judge answers a letter, after chain-of-thought for `eval_type:
  cot_classify`; ours gives a structured verdict; the question shown to it is the last user
  message (theirs: the whole chat as text); it is the runner profile's `judge:`, not
  gpt-3.5-turbo. The answer is sampled at temperature 0 with max_tokens 1024 (or the eval's
  `max_tokens`), as theirs is. A closedqa without criteria, and other specs, are skipped.

`samples_jsonl` is read relative to the data folder (registry/data, or `data_dir`); an
absolute path is kept. (openai/evals would also try the path as given, from its cwd.)

Not carried over (each named in the result): other classes, other specs, `metaeval`,
`multicomp_n`, unknown args, message `name` fields, samples with non-text messages, and a
runner profile: registries name no endpoints, so the suites run with your own (`-r`).
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evals.errors import InputError
from evals.importers import ImportResult
from evals.importers.openai_evals_read import (
    CLASSIFY,
    FUZZY,
    INCLUDES,
    MATCH,
    EvalEntry,
    Job,
    Sample,
    find_evals,
    samples,
    select,
    spec_of,
)

COMMON_ARGS = {"samples_jsonl", "max_tokens"}
KNOWN_ARGS = {
    MATCH: COMMON_ARGS | {"num_few_shot", "few_shot_jsonl"},
    INCLUDES: COMMON_ARGS | {"ignore_case"},
    FUZZY: COMMON_ARGS,
    CLASSIFY: COMMON_ARGS
    | {"modelgraded_spec", "modelgraded_spec_file", "modelgraded_spec_args", "eval_type"}
    | {"match_fn", "samples_renamings", "multicomp_n", "multicomp_temperature", "metaeval"},
}
HOW_TO_RUN = (
    "openai/evals registries name no endpoints, so none was written: run a suite with your "
    "own profile, `evals run SUITE -r RUNNER` (model-graded suites also need `judge:` in it)"
)


def import_registry(
    registry: Path, out: Path, eval_name: str | None = None, data_dir: Path | None = None
) -> ImportResult:
    """Import every eval of a registry YAML (or just `eval_name`) as suites under `out`.

    `data_dir` is where `samples_jsonl` paths start, registry/data by default, as openai/evals
    resolves them. Raises InputError when nothing at all could be imported.
    """
    registry = Path(registry)
    job = Job(data_dir or registry.resolve().parent.parent / "data", Path(out))
    evals_found = find_evals(registry)
    if eval_name is not None:
        evals_found = select(evals_found, eval_name, registry)
    for entry in evals_found:
        _import_eval(entry, job)
    if not job.result.imported_anything:
        reasons = "; ".join(str(s) for s in job.result.skipped[:5]) or "no evals in the file"
        raise InputError(f"nothing could be imported: {reasons}", registry)
    job.skip("runner profile", registry, None, HOW_TO_RUN)
    return job.result


def _import_eval(entry: EvalEntry, job: Job) -> None:
    if entry.cls not in KNOWN_ARGS:
        job.skip(entry.label, entry.file, entry.line, f"class {entry.cls} is not supported")
        return
    for arg in sorted(set(entry.args) - KNOWN_ARGS[entry.cls]):
        job.skip(f"{entry.label}: arg {arg}", entry.file, entry.line, "not carried over")
    made = _graders_and_params(entry, job)
    if made is None:
        return
    grading, params = made
    before = len(job.result.skipped)
    found = list(samples(entry, job))
    if not found:
        if not any(s.what == entry.label for s in job.result.skipped[before:]):
            job.skip(entry.label, entry.file, entry.line, "none of its samples could be imported")
        return
    by_shape: dict[tuple[str, ...], list[Sample]] = {}
    for sample in found:
        by_shape.setdefault(tuple(role for role, _ in sample.messages), []).append(sample)
    for shape, group in by_shape.items():
        _write_suite(job.unique(_suite_name(entry.name)), entry, shape, group, grading, params, job)


# --- graders ----------------------------------------------------------------------------


@dataclass
class _Grading:
    """How the cases are graded: suite-level specs, or (Match, several ideals) one per case."""

    graders: list[dict[str, Any]]
    per_case: bool = False  # Match: each case gets `starts-with` (`any` of) its own ideals


def _graders_and_params(entry: EvalEntry, job: Job) -> tuple[_Grading, dict[str, Any]] | None:
    args = entry.args
    if entry.cls == MATCH:
        return _Grading([], per_case=True), {"temperature": 0}
    if entry.cls == INCLUDES:
        grader: dict[str, Any] = {"type": "contains", "mode": "any"}
        if args.get("ignore_case"):
            grader["ignore_case"] = True
        return _Grading([grader]), {}
    if entry.cls == FUZZY:
        grader = {"type": "python", "value": f"{__name__}:fuzzy_match", "name": "fuzzy_match"}
        return _Grading([grader]), {"temperature": 0, "max_tokens": 16}
    return _classify_graders(entry, job)


def _classify_graders(entry: EvalEntry, job: Job) -> tuple[_Grading, dict[str, Any]] | None:
    args = entry.args
    spec = spec_of(args)
    params = {"temperature": 0, "max_tokens": int(args.get("max_tokens", 1024))}
    unsupported = _classify_unsupported(args, spec)
    if unsupported:
        job.skip(entry.label, entry.file, entry.line, unsupported)
        return None
    if spec == "fact":
        return _Grading([{"type": "factuality"}]), params
    criteria = _criteria((args.get("modelgraded_spec_args") or {}).get("criteria"))
    if not criteria:
        job.skip(
            entry.label,
            entry.file,
            entry.line,
            "closedqa without `modelgraded_spec_args: {criteria: ...}` has no criterion to judge",
        )
        return None
    graders = [
        {"type": "model-graded-closedqa", "name": name, "value": text} for name, text in criteria
    ]
    return _Grading(graders), params


def _classify_unsupported(args: dict[str, Any], spec: Any) -> str | None:
    if spec not in ("fact", "closedqa"):
        return f"modelgraded spec '{spec}' is not supported (only fact and closedqa)"
    if args.get("metaeval"):
        return "metaeval grades stored completions, not a model's answers"
    if args.get("multicomp_n", 1) != 1:
        return "multicomp_n compares several completions per sample"
    spec_args = set(args.get("modelgraded_spec_args") or {}) - {"criteria"}
    if spec_args:
        return f"modelgraded_spec_args {', '.join(sorted(spec_args))} not understood"
    return None


def _criteria(raw: Any) -> list[tuple[str, str]]:
    """(name, text) per criterion: a string (`"correctness: Is it correct?"`) or a mapping."""
    if isinstance(raw, str):
        return [(raw.split(":", 1)[0].strip() if ":" in raw else "criterion", raw)]
    if isinstance(raw, dict):
        return [(str(key), str(text)) for key, text in raw.items()]
    return []


def fuzzy_match(output: str, ctx: Any) -> dict[str, Any]:
    """openai/evals' FuzzyMatch as a `python` grader: passes when the normalised output and
    an ideal contain one another; the score is the token F1 with the best ideal."""
    ideals = ctx.expect if isinstance(ctx.expect, list) else [ctx.expect]
    ideals = [str(ideal) for ideal in ideals if ideal is not None]
    if not ideals:
        return {"pass": False, "score": 0.0, "reason": "no ideal answer (expect) to match"}
    got = normalize(output)
    matched = [ideal for ideal in ideals if _contain_each_other(got, normalize(ideal))]
    f1 = max(token_f1(output, ideal) for ideal in ideals)
    if matched:
        return {"pass": True, "score": f1, "reason": f"fuzzy match {matched[0]!r} (F1 {f1:.2f})"}
    return {"pass": False, "score": f1, "reason": f"no fuzzy match in {ideals!r} (F1 {f1:.2f})"}


def normalize(text: str) -> str:
    """Lowercase, drop ASCII punctuation and the articles a/an/the, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return " ".join(re.sub(r"\b(?:a|an|the)\b", " ", text).split())


def _contain_each_other(a: str, b: str) -> bool:
    if not a or not b:
        return a == b
    return a in b or b in a


def token_f1(prediction: str, reference: str) -> float:
    """F1 of the normalised tokens (counted with multiplicity)."""
    got, want = normalize(prediction).split(), normalize(reference).split()
    same = sum((Counter(got) & Counter(want)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(got), same / len(want)
    return 2 * precision * recall / (precision + recall)


# --- writing ----------------------------------------------------------------------------


def _suite_name(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    return cleaned or "imported"


def _var_names(shape: tuple[str, ...]) -> list[str]:
    """`system`, `user`, `assistant`, then `user_2`, ... for a role's later messages."""
    seen: Counter[str] = Counter()
    names = []
    for role in shape:
        seen[role] += 1
        names.append(role if seen[role] == 1 else f"{role}_{seen[role]}")
    return names


def _case(sample: Sample, names: list[str], grading: _Grading) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": str(sample.line),
        "vars": {name: text for name, (_, text) in zip(names, sample.messages, strict=True)},
    }
    if sample.ideal is not None:
        case["expect"] = sample.ideal
    if grading.per_case:
        ideals = sample.ideal if isinstance(sample.ideal, list) else [sample.ideal]
        checks = [{"type": "starts-with", "value": str(ideal)} for ideal in ideals]
        case["graders"] = checks if len(checks) == 1 else [{"type": "any", "graders": checks}]
    return case


def _write_suite(
    name: str,
    entry: EvalEntry,
    shape: tuple[str, ...],
    group: list[Sample],
    grading: _Grading,
    params: dict[str, Any],
    job: Job,
) -> None:
    names = _var_names(shape)
    job.out.mkdir(parents=True, exist_ok=True)
    cases_path = job.out / f"{name}.cases.jsonl"
    with cases_path.open("w", encoding="utf-8") as stream:
        for sample in group:
            stream.write(json.dumps(_case(sample, names, grading), ensure_ascii=False) + "\n")
    suite: dict[str, Any] = {"name": name}
    if entry.description:
        suite["description"] = entry.description
    suite["prompt"] = [
        {"role": role, "content": f"{{{{ {var} }}}}"}
        for role, var in zip(shape, names, strict=True)
    ]
    if params:
        suite["params"] = params
    suite["cases"] = cases_path.name
    suite["graders"] = grading.graders
    header = f"# Imported from openai/evals: {entry.file}\n# eval {entry.spec_name}: {entry.cls}\n"
    suite_path = job.out / f"{name}.yaml"
    body = yaml.safe_dump(suite, sort_keys=False, allow_unicode=True, width=100)
    suite_path.write_text(header + body, encoding="utf-8")
    job.result.suites.append(suite_path)
    job.result.written += [suite_path, cases_path]
