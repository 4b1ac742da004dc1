"""One AsyncOpenAI client per endpoint; the SDK's own retries are off (the engine retries)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evals.errors import InputError
from evals.redact import register_secret

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from evals.runner import EndpointSpec

PLACEHOLDER_KEY = "no-key"  # local servers need none, but the SDK insists on a string


@dataclass
class Endpoint:
    name: str
    spec: EndpointSpec
    base_url: str
    client: AsyncOpenAI


def read_api_key(name: str, spec: EndpointSpec) -> str:
    if spec.api_key_env is None:
        return PLACEHOLDER_KEY
    key = os.environ.get(spec.api_key_env)
    if not key:
        raise InputError(
            f"endpoint '{name}' needs an API key: set the environment variable "
            f"{spec.api_key_env} (the runner profile names it in api_key_env)"
        )
    register_secret(key)
    return key


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
