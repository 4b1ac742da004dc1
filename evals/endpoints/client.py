"""One AsyncOpenAI client per endpoint; the SDK's own retries are off (the engine retries)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evals.errors import InputError
from evals.redact import register_secret

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from evals.config.runner import EndpointSpec

PLACEHOLDER_KEY = "no-key"  # local servers need none, but the SDK insists on a string


@dataclass
class Endpoint:
    name: str
    spec: EndpointSpec
    base_url: str
    client: AsyncOpenAI


def missing_key(name: str, spec: EndpointSpec) -> str | None:
    """Why this endpoint cannot authenticate (its key variable is unset), or None."""
    if spec.api_key_env is None or os.environ.get(spec.api_key_env):
        return None
    return (
        f"endpoint '{name}' needs an API key: set the environment variable "
        f"{spec.api_key_env} (the runner profile names it in api_key_env)"
    )


def read_api_key(name: str, spec: EndpointSpec) -> str:
    if spec.api_key_env is None:
        return PLACEHOLDER_KEY
    problem = missing_key(name, spec)
    if problem:
        raise InputError(problem)
    key = os.environ[spec.api_key_env]
    register_secret(key)
    return key


def cache_identity(name: str, spec: EndpointSpec) -> str:
    """What the response cache knows an endpoint by.

    A served endpoint gets a new free port every run, so its URL would make every
    run a cache miss: it is known by its name and the command that starts it.
    """
    # The endpoint kind decides how usage is read (llama.cpp's timings), so a
    # result cached under another kind is not replayed.
    kind = f"#{spec.kind}" if spec.kind else ""
    if spec.serve is None:
        return spec.base_url + kind
    return "served:" + name + ":" + " ".join(spec.serve.command) + kind


def open_endpoint(name: str, spec: EndpointSpec, base_url: str) -> Endpoint:
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient
    from openai import Timeout as SdkTimeout

    connections = max(spec.max_concurrency, 1)
    import httpx2

    http_client = DefaultAsyncHttpxClient(
        limits=httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
    )
    client = AsyncOpenAI(
        base_url=base_url,
        api_key=read_api_key(name, spec),
        max_retries=0,
        timeout=SdkTimeout(spec.timeout_s, connect=min(10.0, spec.timeout_s)),
        http_client=http_client,
    )
    return Endpoint(name=name, spec=spec, base_url=base_url, client=client)
