"""Chat-shaped requests as Responses API requests (`POST /v1/responses`).

Suites are written once, as chat messages and chat parameters; a model whose
runner-profile entry says `api: responses` gets them translated here, after the
family's rules (evals.endpoints.capabilities) have been applied:

| chat (suite, adapted)                        | Responses                                   |
|----------------------------------------------|---------------------------------------------|
| system / developer messages                  | `instructions` (joined with a blank line)   |
| user / assistant messages                    | `input` message items (`input_text`,        |
|                                              | `input_image` parts; assistant text as is)  |
| assistant `tool_calls`                       | `function_call` items {call_id, name, args} |
| `tool` messages                              | `function_call_output` items {call_id, out} |
| `tools: [{type: function, function: {...}}]` | `tools: [{type: function, name, ...}]`      |
| `tool_choice: {type: function, function: {name}}` | `tool_choice: {type: function, name}`  |
| `response_format` json_schema / json_object  | `text.format` {type: json_schema, name,     |
|                                              | schema, strict?, description?}              |
| `verbosity`                                  | `text.verbosity`                            |
| `max_tokens` / `max_completion_tokens`       | `max_output_tokens` (at least 16: the API's |
|                                              | minimum; a smaller limit is raised, noted)  |
| `reasoning_effort`                           | `reasoning: {effort}`                       |
| `logprobs: true` (+ `top_logprobs`)          | `include: [message.output_text.logprobs]`   |
|                                              | (+ `top_logprobs`)                          |
| `stop`, `n`, `seed`, penalties               | dropped, with a note (no Responses field)   |

Everything else (temperature, top_p, parallel_tool_calls, metadata, store,
service_tier, prompt_cache_key, ...) is sent under the same name.
"""

from __future__ import annotations

import copy
from typing import Any

from evals.endpoints.messages import content_text

UNSUPPORTED = ("stop", "n", "seed", "logit_bias", "frequency_penalty",
               "presence_penalty", "stream_options", "modalities", "audio", "prediction",
               "web_search_options", "function_call", "functions")  # fmt: skip
"""Chat parameters the Responses API has no field for: dropped with a note."""
MIN_OUTPUT_TOKENS = 16  # 400 "integer below minimum value. Expected a value >= 16"
LOGPROBS_INCLUDE = "message.output_text.logprobs"


def _content(role: str, content: Any) -> Any:
    """A message's content as Responses content: a string stays a string."""
    if not isinstance(content, list):
        return "" if content is None else content
    kind = "output_text" if role == "assistant" else "input_text"
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append({"type": kind, "text": part.get("text", "")})
        elif part.get("type") == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            item: dict[str, Any] = {"type": "input_image", "image_url": url}
            if isinstance(image, dict) and image.get("detail"):
                item["detail"] = image["detail"]
            else:
                item["detail"] = "auto"
            parts.append(item)
        else:
            parts.append(part)  # already a Responses part (input_text, input_file, ...)
    return parts


def input_items(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """(instructions, input items) of chat messages."""
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    for msg in messages:
        role = msg.get("role")
        if role in ("system", "developer"):
            instructions.append(content_text(msg.get("content")))
        elif role == "tool":
            output = msg.get("content")
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": msg.get("tool_call_id"),
                    "output": output if isinstance(output, str) else content_text(output),
                }
            )
        elif role == "assistant":
            content = msg.get("content")
            if content:
                items.append({"role": "assistant", "content": _content("assistant", content)})
            items.extend(function_call_items(msg.get("tool_calls") or []))
        else:
            items.append({"role": role or "user", "content": _content("user", msg.get("content"))})
    text = "\n\n".join(t for t in instructions if t)
    return (text or None), items


def function_call_items(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat tool_calls as Responses `function_call` input items."""
    return [
        {
            "type": "function_call",
            "call_id": call.get("id"),
            "name": (call.get("function") or {}).get("name", ""),
            "arguments": (call.get("function") or {}).get("arguments", ""),
        }
        for call in calls
    ]


def _tool(tool: Any) -> Any:
    if isinstance(tool, dict) and tool.get("type") == "function" and "function" in tool:
        fn = tool["function"] or {}
        return {"type": "function", **fn}
    return tool


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"type": "function", "name": choice["function"].get("name")}
    return choice


def _text_format(response_format: Any) -> Any:
    if not isinstance(response_format, dict):
        return response_format
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        return {"type": "json_schema", **spec}
    return dict(response_format)


def to_responses(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A Responses request body for a chat body (table in the module docstring), and notes."""
    params = copy.deepcopy(dict(body))
    notes: list[str] = []
    out: dict[str, Any] = {"model": params.pop("model")}
    instructions, items = input_items(params.pop("messages", []))
    if instructions is not None:
        out["instructions"] = instructions
    out["input"] = items
    limit = params.pop("max_completion_tokens", None)
    legacy = params.pop("max_tokens", None)
    if limit is None:
        limit = legacy
    if isinstance(limit, int) and 0 < limit < MIN_OUTPUT_TOKENS:
        notes.append(
            f"max_output_tokens raised from {limit} to {MIN_OUTPUT_TOKENS}: the Responses "
            "API's minimum"
        )
        limit = MIN_OUTPUT_TOKENS
    if limit is not None:
        out["max_output_tokens"] = limit
    if params.pop("logprobs", None):
        out["include"] = [*params.pop("include", []), LOGPROBS_INCLUDE]
    elif "top_logprobs" in params:
        del params["top_logprobs"]
        notes.append("top_logprobs dropped: logprobs is not true")
    if "reasoning_effort" in params:
        out["reasoning"] = {"effort": params.pop("reasoning_effort")}
    if "tools" in params:
        out["tools"] = [_tool(t) for t in params.pop("tools") or []]
    if "tool_choice" in params:
        out["tool_choice"] = _tool_choice(params.pop("tool_choice"))
    text: dict[str, Any] = {}
    if "response_format" in params:
        rf = params.pop("response_format")
        if rf is not None:
            text["format"] = _text_format(rf)
    if "verbosity" in params:
        text["verbosity"] = params.pop("verbosity")
    if text:
        out["text"] = text
    for key in UNSUPPORTED:
        if key in params:
            del params[key]
            notes.append(f"{key} dropped: the Responses API has no such parameter")
    out.update(params)
    return out, notes
