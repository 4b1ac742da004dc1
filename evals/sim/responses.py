"""``POST /v1/responses``: the Responses API, answered by the sim's chat behaviour.

A Responses request is read back into the chat request it stands for (``chat_body``), so
answers, tool calls, structured output, reasoning tokens, token counts, faults and rate
limits are exactly those of ``/v1/chat/completions`` for the same conversation:

- ``instructions`` -> a leading ``system`` message; ``input`` (a string, or items) -> messages:
  message items (``input_text`` / ``output_text`` / ``input_image`` parts) keep their role,
  ``function_call`` items -> an assistant message's ``tool_calls`` (``call_id`` as the id),
  ``function_call_output`` items -> ``tool`` messages;
- ``tools`` ``[{type: function, name, parameters, ...}]`` -> chat ``tools``; a named
  ``tool_choice`` ``{type: function, name}`` likewise;
- ``text.format`` -> ``response_format``; ``max_output_tokens`` -> ``max_completion_tokens``
  (below 16: a 400, as OpenAI answers); ``reasoning.effort`` -> ``reasoning_effort``;
  ``include: [message.output_text.logprobs]`` (with ``top_logprobs``) -> ``logprobs: true``
  (and ``top_logprobs``): the ``output_text`` part then carries the tokens' logprobs.

Chat-only parameters (``messages``, ``max_tokens``, ``max_completion_tokens``,
``response_format``, ``reasoning_effort``, ``stop``, ``n``, ...) are rejected with a 400 that
names where the Responses API moved them, so a client that forgets to translate is caught.

The reply: a ``response`` object whose ``output`` holds a ``reasoning`` item (when reasoning
tokens were spent), a ``message`` item with one ``output_text`` part (unless the answer is
only tool calls) and one ``function_call`` item per call; ``status`` is ``incomplete`` (reason
``max_output_tokens``) when the limit cut the answer. Usage: ``input_tokens``,
``input_tokens_details.cached_tokens``, ``output_tokens``,
``output_tokens_details.reasoning_tokens``, ``total_tokens`` (the details are left out when
``usage_details`` is false; ``usage_style: none`` sends ``usage: null``; the other styles all
send this one shape). Streamed (``stream: true``): SSE frames ``event: <type>`` /
``data: {...}`` with ``sequence_number``: ``response.created``, ``response.in_progress``, per
item ``response.output_item.added`` / ``.done`` (text: ``response.content_part.added``,
``response.output_text.delta`` per 4 characters, ``response.output_text.done``,
``response.content_part.done``; calls: ``response.function_call_arguments.delta`` in two
halves, ``.done``), then ``response.completed`` (or ``response.incomplete``) carrying the whole
response with its usage. No ``[DONE]``.

The request log records the Responses body as received; ``usage`` is the Responses usage sent,
``tool_calls`` the calls in chat shape (``id`` = ``call_id``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from evals.sim import payloads
from evals.sim.admission import Admission, apply_fault
from evals.sim.answering import answer_request
from evals.sim.config import ModelConfig
from evals.sim.reply import Problem, Reply, bad, error_reply
from evals.sim.responses_payload import response_object, stream_frames
from evals.sim.usage import Answer

MOVED = {
    "messages": "input",
    "max_tokens": "max_output_tokens",
    "max_completion_tokens": "max_output_tokens",
    "response_format": "text.format",
    "reasoning_effort": "reasoning.effort",
    "verbosity": "text.verbosity",
}
UNSUPPORTED = ("stop", "n", "seed", "logprobs", "logit_bias", "frequency_penalty",
               "presence_penalty", "functions", "function_call")  # fmt: skip


class _Invalid(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _part(part: Any, i: int, j: int) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text", "text"):
        return {"type": "text", "text": part.get("text", "")}
    if kind == "input_image":
        url = part.get("image_url")
        return {
            "type": "image_url",
            "image_url": {"url": url, "detail": part.get("detail", "auto")},
        }
    raise _Invalid(
        bad(
            f"Invalid value: '{kind}'. Supported values are: 'input_text', 'input_image' "
            "and 'output_text'.",
            f"input[{i}].content[{j}].type",
            "invalid_value",
        )
    )


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        out.append({"role": "system", "content": instructions})
    items = body.get("input")
    if isinstance(items, str):
        return [*out, {"role": "user", "content": items}]
    if not isinstance(items, list):
        raise _Invalid(bad("Invalid type for 'input': expected a string or an array.", "input"))
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _Invalid(bad(f"Invalid type for 'input[{i}]': expected an object.", "input"))
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, list):
                content = [_part(p, i, j) for j, p in enumerate(content)]
            out.append({"role": item.get("role"), "content": content})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments", "")},
            }
            last = out[-1] if out else None
            if last is not None and last.get("role") == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else json.dumps(output)
            out.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": text})
        else:
            raise _Invalid(
                bad(
                    f"Invalid value: '{kind}'. The evals simulator supports the input item "
                    "types 'message', 'function_call' and 'function_call_output'.",
                    f"input[{i}].type",
                    "invalid_value",
                )
            )
    return out


def _tools(tools: Any) -> Any:
    if not isinstance(tools, list):
        return tools
    out = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function":
            fn = {k: v for k, v in tool.items() if k != "type"}
            out.append({"type": "function", "function": fn})
        else:
            out.append(tool)
    return out


def chat_body(body: dict[str, Any]) -> dict[str, Any]:
    """The chat completion request a Responses request stands for (raises _Invalid)."""
    for key, where in MOVED.items():
        if key in body:
            raise _Invalid(
                bad(
                    f"Unsupported parameter: '{key}'. In the Responses API, this parameter "
                    f"has moved to '{where}'.",
                    key,
                    "unsupported_parameter",
                )
            )
    for key in UNSUPPORTED:
        if key in body:
            raise _Invalid(bad(f"Unsupported parameter: '{key}'.", key, "unsupported_parameter"))
    if "input" not in body:
        raise _Invalid(
            bad("Missing required parameter: 'input'.", "input", "missing_required_parameter")
        )
    limit = body.get("max_output_tokens")
    if isinstance(limit, int) and limit < 16:
        raise _Invalid(
            bad(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value "
                f">= 16, but got {limit} instead.",
                "max_output_tokens",
                "integer_below_min_value",
            )
        )
    chat: dict[str, Any] = {"model": body["model"], "messages": _messages(body)}
    if "message.output_text.logprobs" in (body.get("include") or []):
        chat["logprobs"] = True
        if body.get("top_logprobs") is not None:
            chat["top_logprobs"] = body["top_logprobs"]
    for key in ("temperature", "top_p", "parallel_tool_calls", "stream"):
        if key in body:
            chat[key] = body[key]
    if "tools" in body:
        chat["tools"] = _tools(body["tools"])
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif choice is not None:
        chat["tool_choice"] = choice
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        chat["reasoning_effort"] = reasoning["effort"]
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = {k: v for k, v in fmt.items() if k != "type"}
        chat["response_format"] = {"type": "json_schema", "json_schema": spec}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    return chat


def usage_of(model: ModelConfig, ans: Answer) -> dict[str, Any] | None:
    """The Responses usage object (rules in the module docstring)."""
    if model.usage_style == "none":
        return None
    usage: dict[str, Any] = {
        "input_tokens": ans.prompt_tokens,
        "output_tokens": ans.completion_tokens,
        "total_tokens": ans.prompt_tokens + ans.completion_tokens,
    }
    if model.usage_details:
        usage["input_tokens_details"] = {"cached_tokens": ans.cached_tokens}
        usage["output_tokens_details"] = {"reasoning_tokens": ans.reasoning_tokens}
    return usage


def serve(
    admission: Admission,
    ids: Any,
    model: ModelConfig,
    body: dict[str, Any],
    sha: str,
    attempt: int,
    rec: dict | None,
) -> Reply:
    """Answer one ``/v1/responses`` request (the order of ``evals.sim.api`` chat handler)."""
    if model.kind != "chat":
        return error_reply(
            *bad(
                f"The model `{model.name}` is a {model.kind} model and does not support responses.",
                "model",
                "unsupported_model",
            )
        )
    try:
        chat = chat_body(body)
    except _Invalid as exc:
        return error_reply(*exc.problem)
    answered = answer_request(
        admission, ids, model, chat, sha, attempt, rec, lambda ans: usage_of(model, ans)
    )
    if isinstance(answered, Reply):
        return answered
    ans, usage, headers, fault = answered.ans, answered.usage, answered.headers, answered.fault
    stream, delay, gap = answered.stream, answered.delay_s, answered.gap_s
    rid = f"sim{answered.number:012x}"
    created = int(time.time())
    if stream:
        events, paced = stream_frames(rid, created, body, ans, usage, answered.logprobs)
        reply = Reply(
            events=events, headers=headers, content_type="text/event-stream", delay_s=delay
        )
        reply.event_gap_s, reply.paced_events = gap, paced
        if fault is not None and fault.kind == "malformed":
            reply.events = [events[0], payloads.MALFORMED_EVENT]
        elif fault is not None:  # stream_cut: the opening frames only, then close
            reply.events, reply.action = events[: max(1, len(events) // 2)], "cut"
        return reply
    payload = response_object(rid, created, body, ans, usage, answered.logprobs)
    reply = Reply(body=json.dumps(payload).encode(), headers=headers, delay_s=delay)
    return apply_fault(reply, fault)
