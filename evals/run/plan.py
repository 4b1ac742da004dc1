"""The plan: every (case × prompt variant × model × repeat) as one request, streamed.

One plan per model, so each endpoint's workers draw from their own stream and a
slow endpoint never holds back a fast one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from evals.config.cases import Case
from evals.config.render import PromptTemplate
from evals.config.runner import ModelSpec
from evals.config.suite import Suite
from evals.endpoints.capabilities import adapt_request, capabilities_for
from evals.engine.executor import canonical_json


@dataclass(slots=True)
class Job:
    suite: Suite
    case: Case
    prompt: str
    model: ModelSpec
    repeat: int
    body: dict[str, Any]
    request_hash: str
    stream: bool = False
    tool_results: dict[str, Any] | None = None
    kind: str = "chat"


def request_hash(
    endpoint_key: str, body: dict[str, Any], repeat: int, tool_results: dict | None = None
) -> str:
    """Canonical identity of a request: same inputs, same hash, whatever the key order.

    `endpoint_key` is the endpoint's cache identity (`cache_identity`), not its
    live URL. Canned tool results shape the rest of a conversation, so they are
    part of it.
    """
    identity: dict[str, Any] = {"base_url": endpoint_key, "body": body, "repeat": repeat}
    if tool_results is not None:
        identity["tool_results"] = tool_results
    payload = canonical_json(identity)
    return hashlib.sha256(payload.encode()).hexdigest()


def selected_prompts(suite: Suite, names: Sequence[str]) -> list[PromptTemplate]:
    if not names:
        return list(suite.prompts.values())
    return [suite.prompts[name] for name in names if name in suite.prompts]


def build_body(
    model: ModelSpec, suite_params: dict[str, Any], messages: list[dict]
) -> tuple[dict, list[str]]:
    params = {**suite_params, **model.params}
    caps = capabilities_for(model.api_model, model.capabilities or None)
    messages, params, notes = adapt_request(messages, params, caps)
    return {"model": model.api_model, "messages": messages, **params}, notes


def plan_model(
    suites: Sequence[Suite],
    model: ModelSpec,
    endpoint_key: str,
    prompts: Sequence[str] = (),
    repeat: int = 1,
    limit: int | None = None,
) -> Iterator[Job]:
    for suite in suites:
        if suite.kind != model.kind or suite.kind == "embeddings":
            continue  # embeddings suites run as a whole (evals.run.retrieval)
        variants = selected_prompts(suite, prompts)
        stream = model.stream if model.stream is not None else suite.stream
        for case in islice(suite.cases(), limit):
            for template in variants:
                body = _body(suite, model, template, case)
                for index in range(repeat):
                    yield Job(
                        suite=suite,
                        case=case,
                        prompt=template.name,
                        model=model,
                        repeat=index,
                        body=body,
                        request_hash=request_hash(endpoint_key, body, index, case.tool_results),
                        stream=stream,
                        tool_results=case.tool_results,
                        kind=suite.kind,
                    )


def _body(suite: Suite, model: ModelSpec, template: PromptTemplate, case: Case) -> dict[str, Any]:
    if suite.kind == "transcription":  # the template renders the audio file's path
        ref = template.render(case.vars)[0]["content"]
        path = Path(ref) if Path(ref).is_absolute() else suite.path.parent / ref
        return {"model": model.api_model, "file": str(path.resolve()), **suite.params}
    body, _ = build_body(model, suite.params, template.render(case.vars))
    return body


def count_planned(
    suites: Sequence[Suite],
    prompts: Sequence[str],
    repeat: int,
    limit: int | None,
    case_counts: dict[str, int],
) -> int:
    """Samples planned for one model."""
    total = 0
    for suite in suites:
        cases = case_counts[suite.name] if limit is None else min(limit, case_counts[suite.name])
        if suite.kind == "embeddings":  # one result per query and dimensions variant
            total += case_counts[suite.name] * max(len(suite.dimensions), 1)
            continue
        total += cases * len(selected_prompts(suite, prompts)) * repeat
    return total
