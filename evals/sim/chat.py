"""One chat completion: pick the surface that answers it, then bill it.

Order of precedence (first match wins):

1. the conversation ends with ``tool`` messages -> ``Result: ...`` (``evals.sim.tools``);
2. ``tools`` offered and one is chosen -> ``tool_calls`` (``evals.sim.tools``);
3. ``response_format`` json_schema with ``score`` and ``reason`` -> judge verdict, then other
   json_schema -> schema-filled JSON, ``json_object`` -> ``{"answer": ...}``
   (``evals.sim.structured``);
4. the plain answer (``evals.sim.behaviour``: images, echo, arithmetic, canned).

Plain requests (no tools, no response_format, no tool messages) skip steps 1-3 after three
dictionary lookups, so the benchmarked hot path stays as cheap as before.
"""

from __future__ import annotations

import json
from typing import Any

from evals.sim.behaviour import plain_text, solve_last
from evals.sim.config import ModelConfig
from evals.sim.structured import fill_schema, is_judge, json_object, json_schema_of, judge
from evals.sim.textutil import text_tokens
from evals.sim.tools import plan_calls, results_answer
from evals.sim.usage import Answer, PromptCount, count_prompt, finish, last_user_text


def _prompt(body: dict[str, Any]) -> PromptCount:
    """Prompt tokens including tool definitions and a json_schema (billed as input)."""
    count = count_prompt(body["messages"])
    extra = 0
    if body.get("tools"):
        extra += text_tokens(json.dumps(body["tools"]))
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        extra += text_tokens(json.dumps(rf.get("json_schema")))
    if not extra:
        return count
    return PromptCount(count.tokens + extra, count.image_tokens, count.images)


def answer_chat(model: ModelConfig, body: dict[str, Any]) -> Answer:
    """Compute the answer and usage for a validated chat request body."""
    messages = body["messages"]
    prompt = _prompt(body)
    if messages[-1].get("role") == "tool":
        text = results_answer(messages) or ""
        return finish(model, body, text, "tool_results", None, prompt)
    tools, rf = body.get("tools"), body.get("response_format")
    user = last_user_text(messages) if tools or rf is not None else ""
    if tools:
        planned = plan_calls(model, body, user)
        if planned is not None:
            calls, correct = planned
            return finish(model, body, "", "tool_calls", correct, prompt, calls)
    solved = solve_last(model, messages)
    if rf is not None:
        spec = json_schema_of(body)
        if spec is not None and is_judge(spec[0]):
            return finish(model, body, judge(model, spec[0], messages, user), "judge", None, prompt)
        if spec is not None:
            text, correct = fill_schema(model, spec[0], spec[1], solved, user)
            return finish(model, body, text, "json_schema", correct, prompt)
        if rf.get("type") == "json_object":
            return finish(model, body, json_object(solved), "json_object", solved.correct, prompt)
    return finish(model, body, plain_text(solved, messages), solved.task, solved.correct, prompt)
