"""Runner profiles: which models, on which endpoints, with which limits and prices."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evals.config.schema_errors import input_error
from evals.config.yamlload import line_of, load_yaml
from evals.errors import InputError


class ServeSpec(BaseModel):
    """How `evals run` starts a local server for an endpoint, and stops it afterwards."""

    model_config = ConfigDict(extra="forbid")

    command: list[str] = Field(min_length=1)
    """argv; `{port}` is replaced by a free port, `{python}` by this interpreter."""
    ready: str = "/v1/models"
    """Path polled (GET, relative to the endpoint's host) until it answers 200."""
    startup_timeout_s: float = 120.0
    env: dict[str, str] = {}


class EndpointSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str
    """OpenAI-compatible base URL; may contain `{port}` when `serve:` starts it."""
    api_key_env: str | None = None
    """Name of the environment variable holding the key; null for local servers."""
    max_concurrency: int = Field(default=8, ge=1)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    """Attempts per request, the first included, before it is recorded as an error."""
    deadline_s: float | None = Field(default=None, gt=0)
    """Optional cap on one request's total time, retries and waits included."""
    adaptive: bool = True
    """Cut concurrency on 429s and recover gradually (AIMD)."""
    serve: ServeSpec | None = None
    price_per_hour: float | None = Field(default=None, ge=0, allow_inf_nan=False, strict=True)
    """USD per hour of a self-hosted server: its models' cost is this rate times the
    run's wall time on the endpoint, shared equally by the requests sent to it
    (evals.pricing.hourly_costs). It wins over any per-token price of those models."""
    batch_discount: float | None = Field(default=None, gt=0, lt=1, strict=False)
    """Share taken off the online price for requests sent through this endpoint's Batch
    API (0.5: half price), for providers whose prices have no batch rates; a model's own
    `batch_input`/`batch_output` rates win over it."""
    batch_max_requests: int = Field(default=50_000, ge=1)
    """Most requests per batch file (OpenAI: 50,000; Together: 50,000)."""
    batch_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    """Largest batch file in bytes (OpenAI: 200 MB; Together: 100 MB)."""
    kind: (
        Literal["openai", "llama.cpp", "vllm", "ollama", "groq", "together", "deepseek", "other"]
        | None
    ) = None
    """Which server this is, for its non-standard response fields; null: unknown.
    Only `llama.cpp` changes anything today: llama-server's `timings.cache_n` is
    then read as the cached prompt tokens (when `usage` has no cached count), a
    field trusted from no other kind. Standard fields, DeepSeek's
    `prompt_cache_hit_tokens` and Groq's `x_groq.usage` are read whatever the kind."""


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    """The name used in reports and `-m`; unique within the profile."""
    endpoint: str
    model: str | None = None
    """The model name sent to the endpoint; defaults to `id`."""
    params: dict[str, Any] = {}
    """Request parameters that override the suite's."""
    capabilities: dict[str, Any] = {}
    """Overrides of evals/data/models.yaml for this model (e.g. max_tokens_param)."""
    stream: bool | None = None
    """Stream responses (time to first token, tokens/s); overrides the suite's `stream`."""
    kind: Literal["chat", "embeddings", "transcription"] = "chat"
    """Which suites this model runs: those of the same kind."""
    api: Literal["chat", "responses"] = "chat"
    """Which OpenAI API a chat model is sent to: `chat` (/v1/chat/completions) or
    `responses` (/v1/responses; messages and parameters are translated, see
    evals.endpoints.responses). Responses-only models (o1-pro, o3-pro) need it."""

    @model_validator(mode="after")
    def _api_for_chat(self) -> ModelSpec:
        if self.api != "chat" and self.kind != "chat":
            raise ValueError(
                f"model '{self.id}': api: {self.api} applies to chat models only "
                f"(this one is kind: {self.kind})"
            )
        return self

    @property
    def api_model(self) -> str:
        return self.model or self.id


class EmbedderSpec(ModelSpec):
    dimensions: int | None = Field(default=None, ge=1)
    """Matryoshka truncation for models that support it (text-embedding-3-*)."""


class RunnerProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoints: dict[str, EndpointSpec]
    models: list[ModelSpec] = Field(min_length=1)
    pricing: dict[str, dict[str, Any]] = {}
    """USD per 1M tokens per model; overrides evals/data/pricing.yaml."""
    judge: ModelSpec | None = None
    """The model that grades answers for `llm_rubric` and `closedqa` (grader cost)."""
    embedder: EmbedderSpec | None = None
    """The embeddings model used by the `similar` grader."""

    @model_validator(mode="after")
    def _references(self) -> RunnerProfile:
        for role, helper in (("judge", self.judge), ("embedder", self.embedder)):
            if helper is not None and helper.endpoint not in self.endpoints:
                raise ValueError(
                    f"{role} uses endpoint '{helper.endpoint}', which is not defined "
                    f"(defined: {', '.join(sorted(self.endpoints))})"
                )
        seen: set[str] = set()
        for index, model in enumerate(self.models):
            if model.endpoint not in self.endpoints:
                known = ", ".join(sorted(self.endpoints))
                raise ValueError(
                    f"models[{index}] ({model.id}) uses endpoint '{model.endpoint}', "
                    f"which is not defined (defined: {known})"
                )
            if model.id in seen:
                raise ValueError(f"model id '{model.id}' appears twice: ids must be unique")
            seen.add(model.id)
        return self


def load_runner(path: str | Path) -> RunnerProfile:
    path = Path(path)
    tree = load_yaml(path)
    if not isinstance(tree, dict):
        raise InputError("a runner profile must be a YAML mapping (endpoints, models)", path, 1)
    try:
        profile = RunnerProfile.model_validate(tree)
    except ValidationError as exc:
        raise input_error(exc, tree, path, RunnerProfile, "runner profile") from None
    _check_pricing(profile, path, tree)
    _check_capabilities(profile, path, tree)
    return profile


def _check_pricing(profile: RunnerProfile, path: Path, tree: Any) -> None:
    from evals.pricing import PriceTable

    try:
        PriceTable.bundled().with_overrides(profile.pricing, f"runner profile {path}")
    except ValueError as exc:
        raise InputError(f"pricing: {exc}", path, tree.key_lines.get("pricing")) from None


def _check_capabilities(profile: RunnerProfile, path: Path, tree: Any) -> None:
    """Each chat model's `capabilities:` overrides parse, and its own `params`
    set only a reasoning_effort its family takes (models.yaml `reasoning_efforts`).

    A model the table does not know (a local server) is not checked, unless its
    overrides list `reasoning_efforts`. Suite params are not checked here: they
    meet the models at plan time (evals.run.plan.build_body), where a value a
    model does not take is noted.
    """
    from evals.endpoints.capabilities import capabilities_for, reasoning_effort_problem

    specs: list[tuple[list[str | int], ModelSpec]] = [
        (["models", index], model) for index, model in enumerate(profile.models)
    ]
    if profile.judge is not None:
        specs.append((["judge"], profile.judge))
    for loc, model in specs:
        if model.kind != "chat":
            continue
        try:
            caps = capabilities_for(model.api_model, model.capabilities or None)
        except ValueError as exc:
            raise InputError(
                f"model '{model.id}': {exc}", path, line_of(tree, [*loc, "capabilities"])
            ) from None
        if caps.responses_only and model.api != "responses":
            raise InputError(
                f"model '{model.id}' ({model.api_model}) is served by the Responses API only: "
                "a chat completions request to it would fail; set `api: responses` on the "
                "model in the runner profile",
                path,
                line_of(tree, loc),
            )
        if "reasoning_effort" not in model.params:
            continue
        problem = reasoning_effort_problem(caps, model.params["reasoning_effort"])
        if problem is not None:
            raise InputError(
                f"model '{model.id}' ({model.api_model}): {problem}",
                path,
                line_of(tree, [*loc, "params", "reasoning_effort"]),
            )
