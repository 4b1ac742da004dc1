"""promptfoo providers -> runner-profile endpoints and models.

Only providers that speak the OpenAI chat API can be run here: OpenAI itself and the
OpenAI-compatible services and servers whose base URL and key variable are known (the
table below). Anything else (Anthropic, Vertex, Bedrock, Replicate, custom JS/Python
providers, HTTP providers) raises ProviderSkip with the reason, and the import goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from evals.importers.context import slug

KNOWN: dict[str, tuple[str, str, str | None]] = {
    "openai": ("openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    "groq": ("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "togetherai": ("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "together": ("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "fireworks": ("fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
    "deepseek": ("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "openrouter": ("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "vllm": ("vllm", "http://localhost:8000/v1", None),
    "ollama": ("ollama", "http://localhost:11434/v1", None),
    "localai": ("localai", "http://localhost:8080/v1", None),
}
"""promptfoo prefix -> (endpoint name, base URL, API key variable; None for local servers)."""

ENDPOINT_KIND = {"openai": "openai", "groq": "groq", "together": "together",
                 "deepseek": "deepseek", "vllm": "vllm", "ollama": "ollama"}  # fmt: skip
CHAT_MODES = frozenset({"chat", "completion"})  # ollama/localai `completion` -> chat here
NOT_CHAT = frozenset(
    {"embedding", "embeddings", "assistant", "realtime", "image", "moderation", "audio",
     "transcription", "tts", "video", "agents", "codex", "codex-sdk"}
)  # fmt: skip
PARAMS = ("temperature", "max_tokens", "max_completion_tokens", "top_p", "seed", "stop",
          "presence_penalty", "frequency_penalty", "reasoning_effort")  # fmt: skip
"""promptfoo provider `config:` keys carried to the model's request `params`."""
CONNECTION = ("apiBaseUrl", "apiHost", "apiKeyEnvar")
IGNORED = frozenset({"organization", "cost", "apiVersion"})


class ProviderSkip(Exception):
    """This provider cannot be run here; the message says why."""


@dataclass
class Endpoint:
    name: str
    base_url: str
    api_key_env: str | None
    kind: str | None = None


@dataclass
class Model:
    label: str
    """The id it gets in the runner profile (promptfoo's label, else the model name)."""
    endpoint: Endpoint
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    api: str | None = None  # "responses" for openai:responses:
    dropped: list[tuple[str, str]] = field(default_factory=list)
    """(config key, why) of provider settings not carried over."""


def provider_id(raw: Any) -> tuple[str, dict[str, Any]]:
    """(id, options) of the forms "openai:x", {id: ..., config: ...} and {"openai:x": {...}}."""
    if isinstance(raw, str):
        return raw, {}
    if isinstance(raw, dict):
        if isinstance(raw.get("id"), str):
            return raw["id"], dict(raw)
        if len(raw) == 1:
            ((key, value),) = raw.items()
            if isinstance(key, str) and isinstance(value, dict):
                return key, {**value, "id": key}
    raise ProviderSkip("not a provider id or {id, config} mapping")


def _endpoint(prefix: str, config: dict[str, Any]) -> Endpoint:
    name, base_url, key_env = KNOWN[prefix]
    custom = config.get("apiBaseUrl")
    if not custom and config.get("apiHost"):
        custom = f"https://{config['apiHost']}/v1"
    if isinstance(custom, str) and custom.rstrip("/") != base_url:
        parsed = urlparse(custom)
        host = slug(f"{parsed.hostname or 'custom'}-{parsed.port or ''}", 32)
        name, base_url = f"{name}-{host}", custom.rstrip("/")
        kind = None  # some other server behind an OpenAI-style URL: not known
    else:
        kind = ENDPOINT_KIND.get(name)
    if isinstance(config.get("apiKeyEnvar"), str):
        key_env = config["apiKeyEnvar"]
    return Endpoint(name, base_url, key_env, kind)


def map_provider(raw: Any) -> Model:
    """One promptfoo provider as a runner model; raises ProviderSkip when it cannot run here."""
    pid, options = provider_id(raw)
    prefix, _, rest = pid.partition(":")
    if prefix not in KNOWN:
        if pid.startswith(("file://", "python:", "exec:", "golang:", "ruby:")):
            raise ProviderSkip("a custom provider (code): it cannot run here")
        if pid.startswith(("http:", "https:", "ws:", "wss:")):
            raise ProviderSkip("an HTTP provider: only OpenAI-compatible APIs run here")
        raise ProviderSkip(
            f"'{prefix}' has no OpenAI-compatible API known to evals (supported: "
            f"{', '.join(sorted(KNOWN))}, or openai:chat:MODEL with config.apiBaseUrl)"
        )
    mode, _, model = rest.partition(":")
    api = None
    if mode in NOT_CHAT:
        raise ProviderSkip(f"'{prefix}:{mode}' is not a chat model")
    if mode == "completion" and prefix == "openai":
        raise ProviderSkip("the legacy completions API is not supported: use openai:chat:MODEL")
    if mode == "responses" and prefix == "openai":
        api = "responses"
    elif mode not in CHAT_MODES:
        model = rest  # no mode segment: the whole rest is the model (ollama's `llama3:8b`)
    if not model:
        raise ProviderSkip("no model name")
    config = options.get("config") or {}
    if not isinstance(config, dict):
        raise ProviderSkip("`config` is not a mapping")
    params = {key: config[key] for key in PARAMS if key in config}
    dropped = [
        (key, "API keys are never written to a profile: set the key's environment variable")
        if key == "apiKey"
        else (key, "no equivalent request parameter here")
        for key in config
        if key not in PARAMS and key not in CONNECTION and key not in IGNORED
    ]
    for key in ("transform", "delay", "prompts", "env"):
        if key in options:
            dropped.append((key, _OPTION_WHY[key]))
    label = options.get("label") if isinstance(options.get("label"), str) else model
    return Model(label, _endpoint(prefix, config), model, params, api, dropped)


_OPTION_WHY = {
    "transform": "output transforms are JavaScript",
    "delay": "evals paces requests by the endpoint's rpm/tpm and concurrency",
    "prompts": "every prompt variant runs on every model here (use --prompt to pick)",
    "env": "set environment variables before `evals run`",
}


def runner_profile(
    models: list[Model],
    suite_params: dict[str, Any] | None,
    judge: Model | None = None,
    embedder: Model | None = None,
) -> dict[str, Any]:
    """The runner profile dict: endpoints used, models (params unless the suite has them)."""
    endpoints: dict[str, dict[str, Any]] = {}
    for m in [*models, judge, embedder]:
        if m is not None and m.endpoint.name not in endpoints:
            spec: dict[str, Any] = {"base_url": m.endpoint.base_url,
                                    "api_key_env": m.endpoint.api_key_env}  # fmt: skip
            if m.endpoint.kind:
                spec["kind"] = m.endpoint.kind
            endpoints[m.endpoint.name] = spec
    profile: dict[str, Any] = {"endpoints": endpoints, "models": []}
    seen: set[str] = set()
    for m in models:
        model_id, n = m.label, 2
        while model_id in seen:
            model_id, n = f"{m.label}-{n}", n + 1
        seen.add(model_id)
        entry: dict[str, Any] = {"id": model_id, "endpoint": m.endpoint.name}
        if m.model != model_id:
            entry["model"] = m.model
        if m.api:
            entry["api"] = m.api
        if suite_params is None and m.params:
            entry["params"] = dict(m.params)
        profile["models"].append(entry)
    for role, m in (("judge", judge), ("embedder", embedder)):
        if m is not None:
            helper: dict[str, Any] = {"id": role, "endpoint": m.endpoint.name, "model": m.model}
            if m.params and role == "judge":
                helper["params"] = dict(m.params)
            profile[role] = helper
    return profile


def shared_params(models: list[Model]) -> dict[str, Any] | None:
    """The params every model agrees on (they then go to the suite), else None."""
    if not models:
        return None
    first = models[0].params
    return dict(first) if all(m.params == first for m in models) else None
