"""Multi-step tool use: answer the model's calls with canned results and go on.

A case's `tool_results` (keyed by function name) stand in for real tools. The
results are appended in the order of the model's tool_call ids, as the API
expects, until the model answers in text or the step limit is reached.
"""

from __future__ import annotations

import json
from typing import Any

from evals.endpoints.responses import function_call_items
from evals.endpoints.usage import sum_usages
from evals.engine.response import Response

MAX_TOOL_STEPS = 5


def _result_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _canned(name: str, results: dict[str, Any]) -> str:
    if name in results:
        return _result_text(results[name])
    return json.dumps({"error": f"no canned result for function {name!r}"})


def follow_up(body: dict[str, Any], response: Response, results: dict[str, Any]) -> dict[str, Any]:
    """The next request: the conversation so far, the model's calls, then their results.

    A Responses body (`input` items, no `messages`) gets the calls as
    `function_call` items and each result as a `function_call_output` item.
    """
    calls = response.tool_calls or []
    if "messages" not in body and "input" in body:
        items = [*body["input"]]
        if response.output:
            items.append({"role": "assistant", "content": response.output})
        items += function_call_items(calls)
        for call in calls:
            name = call.get("function", {}).get("name", "")
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": call.get("id"),
                    "output": _canned(name, results),
                }
            )
        return {**body, "input": items}
    messages = [
        *body["messages"],
        {"role": "assistant", "content": response.output, "tool_calls": calls},
    ]
    for call in calls:
        name = call.get("function", {}).get("name", "")
        content = _canned(name, results)
        messages.append({"role": "tool", "tool_call_id": call.get("id"), "content": content})
    return {**body, "messages": messages}


def merge(done: Response, step: Response) -> Response:
    """One outcome for the whole conversation: the last answer, every call, summed costs."""
    cost = None if done.cost_usd is None or step.cost_usd is None else done.cost_usd + step.cost_usd
    return Response(
        output=step.output,
        tool_calls=[*(done.tool_calls or []), *(step.tool_calls or [])] or None,
        finish_reason=step.finish_reason,
        usage=sum_usages((done.usage, step.usage)) if step.failure is None else done.usage,
        latency_s=(done.latency_s or 0.0) + (step.latency_s or 0.0),
        attempts=done.attempts + step.attempts,
        failure=step.failure,
        backoff_s=done.backoff_s + step.backoff_s,
        ttft_s=done.ttft_s,
        rate_limited=done.rate_limited + step.rate_limited,
        cost_usd=cost,
        logprobs=step.logprobs,
    )
