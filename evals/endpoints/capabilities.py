"""Per-model-family request rules, and the adaptation of a request to them.

Reasoning models reject parameters other models accept (`max_tokens`,
`temperature`, `stop`, the `system` role) with HTTP 400. Adapting the request
before sending, and saying what changed, turns a run of failures into a run of
answers whose settings the report can show. The rules are data in
evals/data/models.yaml; unknown models get permissive defaults.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError, field_validator

from evals.endpoints.messages import content_text
from evals.modelnames import resolve_family

MaxTokensParam = Literal["max_tokens", "max_completion_tokens"]
SystemRole = Literal["system", "developer", "user"]


@dataclass(frozen=True)
class Capabilities:
    """What a model accepts. Defaults fit local and third-party servers.

    `system_role`: the role to send system instructions as; "user" means the
    model accepts neither system nor developer, so they are folded into the
    first user message. `reasoning_effort`: whether the parameter is sent at all
    (else it is dropped with a note); `reasoning_efforts`: the values it takes,
    or None when they are not known (then any value is sent as written).
    `responses_only`: served by the Responses API alone (o1-pro, o3-pro), so a
    model sent to /v1/chat/completions is refused when the runner profile loads.
    `logprobs`: whether `logprobs`/`top_logprobs` are accepted (reasoning models
    refuse them; they are then dropped with a note, and graders read the text).
    `model` and `family` only label notes and reports.
    """

    max_tokens_param: MaxTokensParam = "max_tokens"
    temperature: bool = True
    top_p: bool = True
    system_role: SystemRole = "system"
    reasoning_effort: bool = False
    stop: bool = True
    reasoning_efforts: tuple[str, ...] | None = None
    responses_only: bool = False
    logprobs: bool = True
    model: str = ""
    family: str | None = None


class _CapsEntry(BaseModel):
    """Schema of one models.yaml entry or runner-profile override (all optional)."""

    model_config = ConfigDict(extra="forbid")

    max_tokens_param: MaxTokensParam | None = None
    temperature: StrictBool | None = None
    top_p: StrictBool | None = None
    system_role: SystemRole | None = None
    reasoning_effort: StrictBool | None = None
    """Legacy switch: false = never send it; true = send it (values as the family's)."""
    stop: StrictBool | None = None
    reasoning_efforts: list[StrictStr] | None = None
    """The reasoning_effort values accepted; [] = the parameter is not accepted."""
    responses_only: StrictBool | None = None
    """Served by the Responses API only: the model needs `api: responses`."""
    logprobs: StrictBool | None = None
    """Accepts `logprobs` and `top_logprobs` (reasoning models do not)."""

    @field_validator("reasoning_efforts")
    @classmethod
    def _distinct_names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if any(not v.strip() for v in value):
                raise ValueError("values must be non-empty strings")
            if len(set(value)) != len(value):
                raise ValueError("values must not repeat")
        return value


_FIELDS = tuple(_CapsEntry.model_fields)
OVERRIDABLE_FIELDS: tuple[str, ...] = _FIELDS
"""Capability fields a runner profile may override (for schemas and messages)."""


def _parse(raw: Any, what: str) -> dict[str, Any]:
    """Validate an entry; return only the fields it sets. Errors name the key."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{what} must be a mapping, got {type(raw).__name__}")
    try:
        entry = _CapsEntry.model_validate(dict(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = err["loc"][0] if err["loc"] else "?"
        if err["type"] == "extra_forbidden":
            raise ValueError(
                f"{what}: unknown key {key!r} (allowed: {', '.join(_FIELDS)})"
            ) from None
        raise ValueError(f"{what}: {key!r} {err['msg']}") from None
    return {k: v for k, v in entry.model_dump(exclude_unset=True).items() if v is not None}


def _apply(caps: Capabilities, given: Mapping[str, Any], what: str) -> Capabilities:
    """`caps` with the fields of one parsed entry; reconciles the two effort keys.

    `reasoning_efforts: [...]` sets the accepted values (and `reasoning_effort`
    to whether there are any). The older boolean alone keeps working: false
    drops the parameter; true sends it, checked against the family's values
    when the family has some, else unchecked.
    """
    fields = dict(given)
    efforts = fields.pop("reasoning_efforts", None)
    switch = fields.pop("reasoning_effort", None)
    caps = replace(caps, **fields)
    if efforts is not None:
        if switch is not None and switch != bool(efforts):
            raise ValueError(
                f"{what}: reasoning_effort: {str(switch).lower()} contradicts "
                f"reasoning_efforts: [{', '.join(efforts)}]"
            )
        return replace(caps, reasoning_effort=bool(efforts), reasoning_efforts=tuple(efforts))
    if switch is False:
        return replace(caps, reasoning_effort=False, reasoning_efforts=())
    if switch is True:
        known = caps.reasoning_efforts or None  # a family without values: unchecked
        return replace(caps, reasoning_effort=True, reasoning_efforts=known)
    return caps


@lru_cache(maxsize=1)
def _table() -> Mapping[str, Mapping[str, Any]]:
    """models.yaml, validated, read once."""
    from importlib.resources import files

    import yaml

    text = files("evals").joinpath("data", "models.yaml").read_text(encoding="utf-8")
    models = (yaml.safe_load(text) or {}).get("models") or {}
    return MappingProxyType(
        {
            str(name): MappingProxyType(_parse(raw, f"evals/data/models.yaml: {name}"))
            for name, raw in models.items()
        }
    )


def known_families() -> list[str]:
    """Model families with rules in models.yaml, sorted."""
    return sorted(_table())


def capabilities_for(model: str, overrides: Mapping[str, Any] | None = None) -> Capabilities:
    """Capabilities of `model`: its family's rules, or defaults, then `overrides`.

    `overrides` is the runner profile's per-model dict; it may set any rule field
    (e.g. make a local reasoning model use max_completion_tokens). An unknown key
    raises ValueError naming it.
    """
    table = _table()
    family = resolve_family(model, table)
    caps = Capabilities(model=model, family=family)
    if family is not None:
        caps = _apply(caps, table[family], f"evals/data/models.yaml: {family}")
    if overrides:
        what = f"capability override for {model!r}"
        caps = _apply(caps, _parse(overrides, what), what)
    return caps


def reasoning_effort_problem(caps: Capabilities, value: Any) -> str | None:
    """Why `value` is not an accepted reasoning_effort for `caps`, or None if it is.

    Only a model whose accepted values are known (its family in models.yaml, or
    a `reasoning_efforts` override) is checked; a model that takes no
    reasoning_effort at all is not a problem here (adapt_request drops it).
    """
    if not caps.reasoning_effort or caps.reasoning_efforts is None:
        return None
    if isinstance(value, str) and value in caps.reasoning_efforts:
        return None
    name = caps.family or caps.model or "this model"
    shown = repr(value) if isinstance(value, str) else f"{value!r} (not a string)"
    return (
        f"reasoning_effort {shown} is not accepted; "
        f"{name} takes {', '.join(caps.reasoning_efforts)}"
    )


def _prepend(content: Any, text: str) -> Any:
    """Put `text` before a user message's content, keeping its shape."""
    if content is None or content == "":
        return text
    if isinstance(content, list):
        return [{"type": "text", "text": text}, *content]
    return f"{text}\n\n{content}"


def _fold_system(messages: list[dict], name: str, notes: list[str]) -> list[dict]:
    """Fold system/developer messages into user messages for models with neither."""
    leading: list[str] = []
    out: list[dict] = []
    first_user: int | None = None
    converted = 0
    for msg in messages:
        role = msg.get("role")
        if role in ("system", "developer"):
            if first_user is None:
                leading.append(content_text(msg.get("content")))
                continue
            # Later instructions stay where they are, as user turns.
            msg = {**msg, "role": "user"}
            converted += 1
        elif role == "user" and first_user is None:
            first_user = len(out)
        out.append(msg)
    if leading:
        text = "\n\n".join(t for t in leading if t)
        if first_user is None:
            out.insert(0, {"role": "user", "content": text})
        else:
            target = out[first_user]
            out[first_user] = {**target, "content": _prepend(target.get("content"), text)}
        notes.append(
            f"system message folded into the first user message: {name} accepts "
            "neither system nor developer"
        )
    if converted:
        notes.append(f"{converted} later system message(s) sent as user: {name}")
    return out


def adapt_request(
    messages: list[dict], params: dict, caps: Capabilities
) -> tuple[list[dict], dict, list[str]]:
    """Return (messages, params, notes) rewritten for `caps`; inputs are not mutated.

    Renames max_tokens <-> max_completion_tokens (if both are given, keeps the
    one the model wants), drops unsupported temperature / top_p / stop /
    reasoning_effort, and maps system <-> developer or folds system into user.
    Each note says what changed, for the report. A reasoning_effort value the
    model does not take is kept (changing it would change the experiment) with a
    note; a runner profile that sets one is refused at load (evals.config.runner).
    """
    name = caps.model or caps.family or "this model"
    notes: list[str] = []
    new_params = copy.deepcopy(dict(params))
    new_messages = copy.deepcopy(list(messages))

    want = caps.max_tokens_param
    other = "max_completion_tokens" if want == "max_tokens" else "max_tokens"
    if other in new_params:
        if want in new_params:
            del new_params[other]
            notes.append(f"{other} dropped: {want} also given and {name} wants {want}")
        else:
            new_params[want] = new_params.pop(other)
            notes.append(f"{other} sent as {want}")

    for key in ("temperature", "top_p", "stop", "reasoning_effort"):
        if key in new_params and not getattr(caps, key):
            del new_params[key]
            notes.append(f"{key} dropped: not supported by {name}")
    if not caps.logprobs and ("logprobs" in new_params or "top_logprobs" in new_params):
        dropped = [key for key in ("logprobs", "top_logprobs") if new_params.pop(key, None)]
        notes.append(f"{' and '.join(dropped) or 'logprobs'} dropped: not supported by {name}")
    if "reasoning_effort" in new_params:
        problem = reasoning_effort_problem(caps, new_params["reasoning_effort"])
        if problem is not None:  # sent as written: the API's 400 shows as an error
            notes.append(f"{problem}: {name} will likely reject the request")

    if caps.system_role == "user":
        new_messages = _fold_system(new_messages, name, notes)
    else:
        source = "developer" if caps.system_role == "system" else "system"
        count = 0
        for i, msg in enumerate(new_messages):
            if msg.get("role") == source:
                new_messages[i] = {**msg, "role": caps.system_role}
                count += 1
        if count:
            notes.append(f"role {source} sent as {caps.system_role} ({count} message(s))")
    return new_messages, new_params, notes
