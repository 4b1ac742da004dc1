"""`evals import promptfoo CONFIG`: a promptfoo config -> a suite, its cases and a runner.

The pieces are read by their own modules (prompts, providers, tests, assertions); this one
puts them together in our format and writes them. Cases get stable ids (their position
and a slug of their description), list-valued vars become a `matrix:` (promptfoo runs one
test per value, over the cartesian product), `file://` vars keep pointing at a copy of
their file next to the suite, and `defaultTest` becomes the suite's `defaults:` and
graders. Whatever cannot be carried over is in the result's `skipped`, with its file and
line; nothing is written when no prompt or no case could be imported.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Any

from evals.errors import InputError
from evals.importers import ImportResult
from evals.importers.context import Context, dump_yaml, load_config_yaml, slug
from evals.importers.pf_asserts import map_assertions
from evals.importers.pf_prompts import load_prompts
from evals.importers.pf_tests import Test, load_tests
from evals.importers.providers import (
    Model,
    ProviderSkip,
    map_provider,
    provider_id,
    runner_profile,
    shared_params,
)

IGNORED_KEYS = frozenset(
    {"description", "outputPath", "sharing", "writeLatestResults", "tags", "metadata", "$schema",
     "assertionTemplates", "prompts", "providers", "tests", "defaultTest", "targets"}
)  # fmt: skip
TOP_LEVEL_WHY = {
    "scenarios": "scenarios (vars crossed with test groups): write the combinations as tests",
    "redteam": "red-team generation is not part of evals",
    "nunjucksFilters": "custom Nunjucks filters are JavaScript",
    "derivedMetrics": "derived metrics are computed by expressions evals does not run",
    "extensions": "extension hooks are code",
    "env": "set environment variables before `evals run`",
    "evaluateOptions": "use `evals run` flags (--concurrency, --repeat) instead",
}
CODE_VAR = (".py", ".js", ".ts", ".mjs", ".cjs")
_SINGLE_VAR = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")


def default_out(config: Path) -> Path:
    return Path("imported") / (slug(config.resolve().parent.name) or "promptfoo")


def import_config(config: Path, out: Path | None = None) -> ImportResult:
    """Read `config`, write the suite, cases and runner into `out`; report what was left."""
    if config.suffix in (".js", ".cjs", ".mjs", ".ts"):
        raise InputError("a JavaScript config cannot be read here: write it as YAML", config)
    tree = load_config_yaml(config)
    if not isinstance(tree, dict):
        raise InputError(
            "not a promptfoo config: expected a YAML mapping with prompts, providers, tests",
            config,
            getattr(tree, "line", 1),
        )
    ctx = Context(config, out or default_out(config))
    lines = tree.key_lines
    if isinstance(tree.get("assertionTemplates"), dict):
        ctx.templates = dict(tree["assertionTemplates"])
    for key in tree:
        if key not in IGNORED_KEYS:
            ctx.skip(key, TOP_LEVEL_WHY.get(key, "not carried over"), lines.get(key))
    prompts = load_prompts(tree.get("prompts"), ctx)
    if not prompts and "prompts" not in tree:
        ctx.skip("prompts", "the config has no prompts", None)
    defaults, suite_graders, judge, embedder = _default_test(tree, ctx)
    tests = load_tests(tree.get("tests"), ctx, lines.get("tests"))
    graded = bool(suite_graders)
    cases = [case for test in tests if (case := _case(test, ctx, graded))]
    _expect_from_vars(suite_graders, cases, defaults)
    models = _providers(tree.get("providers", tree.get("targets")), ctx, lines)
    _helpers_needed(ctx, judge, embedder)
    result = ImportResult(skipped=ctx.skipped)
    if not prompts or not cases:
        return result
    return _write(tree, ctx, result, prompts, defaults, suite_graders, cases, models,
                  judge, embedder)  # fmt: skip


def _default_test(tree: Any, ctx: Context) -> tuple[dict, list, Model | None, Model | None]:
    raw = tree.get("defaultTest")
    line = tree.key_lines.get("defaultTest")
    file = ctx.config
    if isinstance(raw, str):  # defaultTest: file://defaults.yaml
        file = ctx.source(raw)
        try:
            raw = load_config_yaml(file)
        except InputError as exc:
            ctx.skip("defaultTest", exc.message, line)
            return {}, [], None, None
        line = getattr(raw, "line", None)
    if raw is None:
        return {}, [], None, None
    if not isinstance(raw, dict):
        ctx.skip("defaultTest", "not a mapping", line, file)
        return {}, [], None, None
    key_lines = raw.key_lines
    defaults: dict[str, Any] = {}
    variables = raw.get("vars")
    if isinstance(variables, dict):
        kept = {}
        for name, value in variables.items():
            if isinstance(value, list):
                ctx.skip(f"defaultTest vars.{name}", "a list in default vars (one case per "
                         "value) has no equivalent: put it in the tests", key_lines.get("vars"),
                         file)  # fmt: skip
                continue
            fixed = _file_var(value, ctx, key_lines.get("vars"), file)
            if fixed is not _BAD:
                kept[name] = fixed
        if kept:
            defaults["vars"] = kept
    if isinstance(raw.get("threshold"), int | float):
        defaults["threshold"] = raw["threshold"]
    graders = map_assertions(raw.get("assert"), ctx, key_lines.get("assert", line), file)
    judge = embedder = None
    options = raw.get("options") or {}
    option_lines = getattr(options, "key_lines", {})
    for key, value in options.items() if isinstance(options, dict) else ():
        if key == "provider":
            judge, embedder = _grading_providers(value, ctx, option_lines.get(key), file)
        else:
            why = "output transforms are JavaScript" if key in ("transform", "postprocess") \
                else "no equivalent"  # fmt: skip
            ctx.skip(f"defaultTest options.{key}", why, option_lines.get(key), file)
    for key in raw:
        if key not in ("vars", "threshold", "assert", "options"):
            ctx.skip(f"defaultTest {key}", "not carried over", key_lines.get(key), file)
    return defaults, graders, judge, embedder


def _grading_providers(value: Any, ctx: Context, line: int | None, file: Path):
    """defaultTest.options.provider: the judge (and, in {text, embedding} form, the embedder)."""
    if isinstance(value, dict) and ("text" in value or "embedding" in value):
        roles = {"judge": value.get("text"), "embedder": value.get("embedding")}
    else:
        roles = {"judge": value, "embedder": None}
    found: dict[str, Model | None] = {"judge": None, "embedder": None}
    for role, raw in roles.items():
        if raw is None:
            continue
        try:
            pid, _ = provider_id(raw)
            if role == "embedder":  # openai:embedding:MODEL is what promptfoo expects here
                pid = re.sub(r":(embeddings?):", ":", pid)
                raw = pid if isinstance(raw, str) else {**raw, "id": pid}
            found[role] = map_provider(raw)
        except ProviderSkip as exc:
            ctx.skip(f"defaultTest options.provider ({role})", str(exc), line, file)
    return found["judge"], found["embedder"]


def _helpers_needed(ctx: Context, judge: Model | None, embedder: Model | None) -> None:
    if ctx.model_graded and judge is None:
        ctx.skip("grading provider", "promptfoo's default grading model is not carried over: "
                 "add `judge:` to the runner profile", None)  # fmt: skip
    if ctx.uses_embeddings and embedder is None:
        ctx.skip("embedding provider", "promptfoo's default embedding model is not carried "
                 "over: add `embedder:` to the runner profile", None)  # fmt: skip


def _providers(raw: Any, ctx: Context, lines: dict) -> list[Model]:
    line = lines.get("providers", lines.get("targets"))
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    item_lines = getattr(raw, "item_lines", None) or [line] * len(items)
    if isinstance(raw, dict) and not ("id" in raw or len(raw) == 1):  # {id: options} mapping
        items = [{k: v} for k, v in raw.items()]
        item_lines = [raw.key_lines.get(k, line) for k in raw]
    models = []
    for item, item_line in zip(items, item_lines, strict=True):
        name = item if isinstance(item, str) else getattr(item, "get", lambda _: None)("id")
        try:
            model = map_provider(item)
        except ProviderSkip as exc:
            ctx.skip(f"provider {name or item!r}", str(exc), item_line)
            continue
        for key, why in model.dropped:
            ctx.skip(f"provider {name} {key}", why, item_line)
        models.append(model)
    if raw is None:
        ctx.skip("providers", "the config names no providers: write the runner profile", None)
    return models


_BAD = object()


def _file_var(value: Any, ctx: Context, line: int | None, file: Path) -> Any:
    """A `file://` var points at a copy next to the suite; a glob is a list of them."""
    if not isinstance(value, str) or not value.startswith("file://"):
        return value
    ref = value.removeprefix("file://")
    if ref.partition(":")[0].endswith(CODE_VAR):
        ctx.skip(f"var {value}", "vars computed by code cannot be imported", line, file)
        return _BAD
    pattern = str(ctx.source(ref, file.parent))
    if glob.has_magic(pattern):
        paths = sorted(Path(p) for p in glob.glob(pattern) if Path(p).is_file())
        if not paths:
            ctx.skip(f"var {value}", "the glob matches no file", line, file)
            return _BAD
        return [f"file://{ctx.copy(p)}" for p in paths]
    path = Path(pattern)
    if not path.is_file():
        ctx.skip(f"var {value}", "the file does not exist", line, file)
        return _BAD
    return f"file://{ctx.copy(path)}"


def _case(test: Test, ctx: Context, suite_graded: bool) -> dict[str, Any] | None:
    case_id = f"c{test.index}" + (f"-{slug(test.description, 40)}" if test.description else "")
    case: dict[str, Any] = {"id": case_id.rstrip("-")}
    if test.description:
        case["description"] = test.description
    var_lines = getattr(test.raw.get("vars"), "key_lines", {})
    variables, matrix = {}, {}
    for name, value in test.vars.items():
        line = var_lines.get(name, test.line)
        before = len(ctx.skipped)
        items = value if isinstance(value, list) and test.expand_lists else [value]
        fixed_items = [_file_var(v, ctx, line, test.file) for v in items]
        if any(v is _BAD for v in fixed_items):  # one entry for the test, with the reason
            reasons = "; ".join(f"{s.what}: {s.why}" for s in ctx.skipped[before:])
            del ctx.skipped[before:]
            ctx.skip(f"test {case['id']}", f"var `{name}`: {reasons}", line, test.file)
            return None
        if items is value:
            fixed = [x for v in fixed_items for x in (v if isinstance(v, list) else [v])]
        else:
            fixed = fixed_items[0]
        if isinstance(fixed, list) and test.expand_lists:
            matrix[name] = fixed
        else:
            variables[name] = fixed
    if variables:
        case["vars"] = variables
    if matrix:
        case["matrix"] = matrix
    graders = test.graders
    if not graders and not suite_graded:
        ctx.skip(f"test {case['id']}", "no assertion carried over, and every case here needs a "
                 "grader: add one to the test or to defaultTest", test.line, test.file)  # fmt: skip
        return None
    _expect_from_vars(graders, [{**case, "vars": variables}], {}, into=case)
    if graders:
        case["graders"] = graders
    if test.threshold is not None:
        case["threshold"] = test.threshold
    return case


def _expect_from_vars(
    graders: list[dict], cases: list[dict], defaults: dict, into: dict | None = None
) -> None:
    """A grader whose value is just `{{ var }}` (promptfoo renders it per test) grades
    against the case's `expect` instead, set from that var, when every case has it."""
    for grader in graders:
        match = _SINGLE_VAR.match(grader.get("value", "")) if isinstance(
            grader.get("value"), str
        ) else None  # fmt: skip
        if match is None:
            continue
        name = match.group(1)
        default = defaults.get("vars", {}).get(name)
        values = [c.get("vars", {}).get(name, default) for c in cases]
        if not cases or any(v is None or isinstance(v, list | dict) for v in values):
            continue
        if any("expect" in c and c["expect"] != v for c, v in zip(cases, values, strict=True)):
            continue
        del grader["value"]
        for case, value in zip(cases, values, strict=True):
            (into if into is not None else case)["expect"] = value
        return  # one grader reads `expect`; others keep their template values


def _write(tree, ctx, result, prompts, defaults, graders, cases, models, judge, embedder):
    description = tree.get("description") if isinstance(tree.get("description"), str) else ""
    name = slug(description) or slug(ctx.config.resolve().parent.name) or "promptfoo"
    params = shared_params(models)
    suite: dict[str, Any] = {"name": name}
    if description:
        suite["description"] = description
    suite["prompts"] = prompts
    if params:
        suite["params"] = params
    if defaults:
        suite["defaults"] = defaults
    if graders:
        suite["graders"] = graders
    suite["cases"] = "cases.yaml"
    header = f"# imported from {ctx.config} by `evals import promptfoo`\n"
    filename = "suite.yaml" if name in ("cases", "runner") else f"{name}.yaml"
    suite_path = dump_yaml(suite, ctx.out / filename, header)
    result.suites.append(suite_path)
    result.written += [suite_path, dump_yaml(cases, ctx.out / "cases.yaml", header)]
    if models:
        profile = runner_profile(models, params, judge, embedder)
        result.runner = dump_yaml(profile, ctx.out / "runner.yaml", header)
        result.written.append(result.runner)
    else:
        ctx.skip("runner profile", "no provider could be imported: none was written", None)
    result.written += ctx.write_copies()
    return result
