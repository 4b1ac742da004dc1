"""Suite kinds as one strategy: how a kind's samples are planned, counted and sent.

chat and transcription suites are planned sample by sample (one request per
case x prompt x repeat); an embeddings suite runs as a whole (embed the corpus,
then rank each query: evals.run.retrieval). Everything that differs between
kinds is here, so the planner and the session carry no branches on kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evals.config.cases import Case
from evals.config.render import PromptTemplate
from evals.config.runner import ModelSpec
from evals.config.suite import Suite
from evals.endpoints.capabilities import adapt_request, capabilities_for
from evals.endpoints.responses import to_responses
from evals.engine.request import RequestKind


def build_body(
    model: ModelSpec, suite_params: dict[str, Any], messages: list[dict]
) -> tuple[dict, list[str]]:
    """A chat body for `model`, adapted to its family's rules; the notes say what changed.

    A model with `api: responses` gets the adapted body translated into a Responses
    request (evals.endpoints.responses).
    """
    params = {**suite_params, **model.params}
    caps = capabilities_for(model.api_model, model.capabilities or None)
    messages, params, notes = adapt_request(messages, params, caps)
    body = {"model": model.api_model, "messages": messages, **params}
    if model.api == "responses":
        body, more = to_responses(body)
        notes += more
    return body, notes


def request_kind(model: ModelSpec, suite_kind: str = "chat") -> RequestKind:
    """What the engine sends a sample of `model` as: chat samples go to its `api`."""
    if suite_kind == "chat" and model.api == "responses":
        return "responses"
    return suite_kind  # type: ignore[return-value]


class SuiteKind(Protocol):
    name: str
    per_request: bool  # planned sample by sample; otherwise run whole (embeddings)

    def body(
        self, suite: Suite, model: ModelSpec, template: PromptTemplate, case: Case
    ) -> dict[str, Any]:
        """The request body of one sample (per-request kinds only)."""
        ...

    def planned(self, suite: Suite, prompts: int, repeat: int, cases: int, all_cases: int) -> int:
        """Samples one model of this kind stores for `suite`."""
        ...


@dataclass(frozen=True)
class ChatKind:
    name: str = "chat"
    per_request: bool = True

    def body(self, suite, model, template, case) -> dict[str, Any]:
        body, _ = build_body(model, suite.params, template.render(case.vars))
        return body

    def planned(self, suite, prompts, repeat, cases, all_cases) -> int:
        return cases * prompts * repeat


@dataclass(frozen=True)
class TranscriptionKind(ChatKind):
    name: str = "transcription"

    def body(self, suite, model, template, case) -> dict[str, Any]:
        ref = template.render(case.vars)[0]["content"]  # the template renders the audio's path
        path = Path(ref) if Path(ref).is_absolute() else suite.path.parent / ref
        return {"model": model.api_model, "file": str(path.resolve()), **suite.params}


@dataclass(frozen=True)
class EmbeddingsKind:
    name: str = "embeddings"
    per_request: bool = False

    def body(self, suite, model, template, case) -> dict[str, Any]:
        raise TypeError("an embeddings suite is not planned request by request")

    def planned(self, suite, prompts, repeat, cases, all_cases) -> int:
        # one result per query and dimensions variant; --limit and prompts do not apply
        return all_cases * max(len(suite.dimensions), 1)


KINDS: dict[str, SuiteKind] = {
    kind.name: kind for kind in (ChatKind(), TranscriptionKind(), EmbeddingsKind())
}


def kind_of(suite: Suite) -> SuiteKind:
    return KINDS[suite.kind]
