"""The plan: every (case × prompt variant × model × repeat) as one request, streamed.

One plan per model, so each endpoint's workers draw from their own stream and a
slow endpoint never holds back a fast one. Rendering happens here: the engine
receives finished requests and never sees a suite or a case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from evals.config.cases import Case
from evals.config.render import PromptTemplate
from evals.config.runner import ModelSpec
from evals.config.suite import Suite
from evals.engine.request import Request
from evals.graders.choice import ChoiceOptions, shuffle_case, shuffle_spec
from evals.pricing import Price
from evals.records import canonical_json
from evals.run.kinds import build_body, kind_of, request_kind

__all__ = ["Job", "build_body", "count_planned", "plan_model", "request_hash", "selected_prompts"]


@dataclass(slots=True)
class Job:
    """One planned sample: what it is (suite, case, prompt, model, repeat) and its request."""

    suite: Suite
    case: Case
    prompt: str
    model: ModelSpec
    repeat: int
    request: Request

    @property
    def body(self) -> dict[str, Any]:
        return self.request.body

    @property
    def request_hash(self) -> str:
        return self.request.cache_key or ""


def request_hash(
    endpoint_key: str,
    body: dict[str, Any],
    repeat: int,
    tool_results: dict | None = None,
    api: str = "chat",
) -> str:
    """Canonical identity of a request: same inputs, same hash, whatever the key order.

    `endpoint_key` is the endpoint's cache identity (`cache_identity`), not its
    live URL. Canned tool results shape the rest of a conversation, so they are
    part of it. `api` is the API the body goes to (a Responses request never
    replays a chat completion's answer); chat keys carry no `api`, as before.
    """
    identity: dict[str, Any] = {"base_url": endpoint_key, "body": body, "repeat": repeat}
    if tool_results is not None:
        identity["tool_results"] = tool_results
    if api != "chat":
        identity["api"] = api
    payload = canonical_json(identity)
    return hashlib.sha256(payload.encode()).hexdigest()


def selected_prompts(suite: Suite, names: Sequence[str]) -> list[PromptTemplate]:
    if not names:
        return list(suite.prompts.values())
    return [suite.prompts[name] for name in names if name in suite.prompts]


def plan_model(
    suites: Sequence[Suite],
    model: ModelSpec,
    endpoint_key: str,
    prompts: Sequence[str] = (),
    repeat: int = 1,
    limit: int | None = None,
    price: Price | None = None,
    skip: Callable[[Job], bool] | None = None,
    start: int = 0,
) -> Iterator[Job]:
    """The jobs of one model; `skip` leaves out what a resumed run already has; `start`
    skips each suite's first cases (a worker's chunk is cases start..limit)."""
    for suite in suites:
        kind = kind_of(suite)
        if suite.kind != model.kind or not kind.per_request:
            continue  # whole-suite kinds run apart (evals.run.retrieval)
        variants = selected_prompts(suite, prompts)
        stream = model.stream if model.stream is not None else suite.stream
        sent_as = request_kind(model, suite.kind)
        api = "responses" if sent_as == "responses" else "chat"  # part of the cache key
        shuffle = shuffle_spec(suite.graders)
        for case in islice(suite.cases(), start, limit):
            for template in variants:
                body = kind.body(suite, model, template, case)
                for index in range(repeat):
                    shown = case
                    if shuffle is not None:  # this repeat's order of the options
                        shown = _shuffled(case, shuffle, index)
                        body = kind.body(suite, model, template, shown)
                    request = Request(
                        endpoint=model.endpoint,
                        body=body,
                        kind=sent_as,
                        price=price,
                        cache_key=request_hash(endpoint_key, body, index, case.tool_results, api),
                        stream=stream,
                        tool_results=case.tool_results,
                        model_id=model.id,
                    )
                    job = Job(suite, shown, template.name, model, index, request)
                    if skip is None or not skip(job):
                        yield job


def _shuffled(case: Case, options: ChoiceOptions, repeat: int) -> Case:
    vars_, expect = shuffle_case(case.vars, case.expect, options, case.id, repeat)
    return replace(case, vars=vars_, expect=expect)


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
        all_cases = case_counts[suite.name]
        cases = all_cases if limit is None else min(limit, all_cases)
        variants = len(selected_prompts(suite, prompts))
        total += kind_of(suite).planned(suite, variants, repeat, cases, all_cases)
    return total
