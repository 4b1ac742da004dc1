"""Request validation with OpenAI's status codes, messages, params and codes.

Reasoning models (``reasoning: true``) reject ``max_tokens`` and any ``temperature``/``top_p``
other than 1, exactly as OpenAI's o-series and GPT-5 models do, and refuse ``logprobs``
(403, as OpenAI answers o4-mini); other models reject ``reasoning_effort``.
``top_logprobs`` is an integer 0..20 and needs ``logprobs: true``. The simulator serves one
choice per request, so ``n`` must be 1.
"""

from __future__ import annotations

from typing import Any

from evals.sim.config import ModelConfig
from evals.sim.reply import Problem
from evals.sim.reply import bad as _bad
from evals.sim.structured import check_response_format
from evals.sim.tools import check_tools
from evals.sim.usage import EFFORT_FACTORS

ROLES = ("system", "assistant", "user", "function", "tool", "developer")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_chat(model: ModelConfig, body: dict[str, Any]) -> Problem | None:
    """The first problem with a chat completion request, or None when it is acceptable."""
    if model.kind != "chat":
        return _bad(
            f"The model `{model.name}` is a {model.kind} model and does not support "
            "chat completions.",
            "model",
            "unsupported_model",
        )
    messages = body.get("messages")
    if messages is None:
        return _bad(
            "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
        )
    if not isinstance(messages, list) or not messages:
        return _bad(
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            "messages",
            "empty_array",
        )
    toolish = False
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role == "tool" or (role == "assistant" and m.get("tool_calls")):
            toolish = True
        if role not in ROLES:
            allowed = ", ".join(f"'{r}'" for r in ROLES[:-1]) + f", and '{ROLES[-1]}'"
            return _bad(
                f"Invalid value: '{role}'. Supported values are: {allowed}.",
                f"messages[{i}].role",
                "invalid_value",
            )
    if toolish or "tools" in body or "tool_choice" in body or "parallel_tool_calls" in body:
        problem = check_tools(body)
        if problem is not None:
            return problem
    if body.get("response_format") is not None:
        problem = check_response_format(body)
        if problem is not None:
            return problem
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            return _bad(
                f"Invalid '{key}': integer below minimum value. Expected a value >= 1, "
                f"but got {value!r} instead.",
                key,
                "integer_below_min_value",
            )
    n = body.get("n")
    if n is not None and n != 1:
        return _bad(
            "Unsupported value: 'n' must be 1 with the evals simulator.", "n", "unsupported_value"
        )
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        return _bad(
            f"Invalid type for 'stream': expected a boolean, got {body['stream']!r}.",
            "stream",
            "invalid_type",
        )
    for key in ("temperature", "top_p"):
        value = body.get(key)
        if value is not None and not _is_num(value):
            return _bad(f"Invalid type for '{key}': expected a number.", key, "invalid_type")
    problem = _check_logprobs(model, body)
    if problem is not None:
        return problem
    effort = body.get("reasoning_effort")
    if model.reasoning:
        if body.get("max_tokens") is not None:
            return _bad(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        for key in ("temperature", "top_p"):
            value = body.get(key)
            if value is not None and value != 1:
                return _bad(
                    f"Unsupported value: '{key}' does not support {value} with this model. "
                    "Only the default (1) value is supported.",
                    key,
                    "unsupported_value",
                )
        if effort is not None and effort not in EFFORT_FACTORS:
            allowed = ", ".join(f"'{e}'" for e in EFFORT_FACTORS)
            return _bad(
                f"Invalid value: '{effort}'. Supported values are: {allowed}.",
                "reasoning_effort",
                "invalid_value",
            )
    elif effort is not None:
        return _bad(
            "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
            "reasoning_effort",
            "unsupported_parameter",
        )
    return None


def _check_logprobs(model: ModelConfig, body: dict[str, Any]) -> Problem | None:
    logprobs, top = body.get("logprobs"), body.get("top_logprobs")
    if logprobs is not None and not isinstance(logprobs, bool):
        return _bad("Invalid type for 'logprobs': expected a boolean.", "logprobs", "invalid_type")
    if top is not None:
        if not _is_int(top) or not 0 <= top <= 20:
            return _bad(
                f"Invalid 'top_logprobs': expected an integer from 0 to 20, got {top!r}.",
                "top_logprobs",
                "invalid_value",
            )
        if not logprobs:
            return _bad(
                "Invalid value for 'logprobs': must be true when 'top_logprobs' is given.",
                "logprobs",
                "invalid_value",
            )
    if logprobs and model.reasoning:
        message = "You are not allowed to request logprobs from this model"
        return 403, message, "invalid_request_error", None, None
    return None


def check_embeddings(model: ModelConfig, body: dict[str, Any]) -> Problem | None:
    """The first problem with an embeddings request, or None."""
    if model.kind != "chat":
        return _bad(
            f"The model `{model.name}` is a {model.kind} model and does not support embeddings.",
            "model",
            "unsupported_model",
        )
    items = body.get("input")
    if items is None:
        return _bad("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    if isinstance(items, str) or (
        isinstance(items, list) and items and all(_is_int(t) for t in items)
    ):
        items = [items]
    if not isinstance(items, list) or not items:
        return _bad("'input' must be a non-empty string or array.", "input", "invalid_value")
    for item in items:
        ok_tokens = isinstance(item, list) and item and all(_is_int(t) for t in item)
        if not (isinstance(item, str) and item) and not ok_tokens:
            return _bad(
                "'input' cannot contain an empty string or a non-string item.",
                "input",
                "invalid_value",
            )
    dims = body.get("dimensions")
    if dims is not None and (not _is_int(dims) or dims < 1):
        return _bad(
            f"Invalid 'dimensions': expected an integer >= 1, got {dims!r}.",
            "dimensions",
            "invalid_value",
        )
    if dims is not None and dims > model.embedding_dimensions:
        return _bad(
            f"Invalid 'dimensions': this model supports at most {model.embedding_dimensions}, "
            f"got {dims}.",
            "dimensions",
            "invalid_value",
        )
    fmt = body.get("encoding_format")
    if fmt is not None and fmt not in ("float", "base64"):
        return _bad(
            f"Invalid value: '{fmt}'. Supported values are: 'float' and 'base64'.",
            "encoding_format",
            "invalid_value",
        )
    return None
