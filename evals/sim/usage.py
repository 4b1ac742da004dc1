"""Token accounting for chat requests: prompt counts, the usage object, limits.

Token rules (documented contract; tests recompute them):

- ``text_tokens(s) = ceil(len(s) / 4)`` characters, 0 for empty text.
- ``prompt_tokens = sum over messages of (4 + text_tokens(text of the message))``, where a
  message's text is its string content, or its text parts joined with ``"\\n"``; each image
  part adds its image tokens (``evals.sim.vision``: 85 at ``low``, ``85 + 170 * tiles``
  otherwise), reported as ``prompt_tokens_details.image_tokens`` when there are images; each
  tool call of an assistant message adds ``text_tokens(name) + text_tokens(arguments)``.
  ``tools`` add ``text_tokens(json.dumps(tools))`` and a ``json_schema`` response format adds
  ``text_tokens(json.dumps(json_schema))`` (definitions are billed as input, as OpenAI does).
- ``reasoning_tokens = round(model.reasoning_tokens * factor(reasoning_effort))`` for
  reasoning models (factor none 0, minimal 0.125, low 0.5, medium/default 1, high 2,
  xhigh 4, max 8), else 0.
- ``completion_tokens = text_tokens(visible answer) + reasoning_tokens`` (reasoning tokens
  are inside completion_tokens, as OpenAI reports them); a tool call costs
  ``text_tokens(name) + text_tokens(arguments)``.
- ``cached_tokens = prompt_tokens // 2 if model.cache and prompt_tokens >= 8 else 0``.
- Limit ``max_completion_tokens`` (or ``max_tokens``) L: reasoning tokens are spent first;
  if they reach L the visible answer is empty; otherwise the visible answer is cut to
  ``4 * (L - reasoning_tokens)`` characters when longer. Either way ``finish_reason`` becomes
  ``"length"`` and ``correct`` becomes False. ``stop`` strings cut the answer before the
  first occurrence (``finish_reason`` stays ``"stop"``). Tool calls are never cut.

Where the counts are sent (``usage_style``; the counts are the same in every style):

- ``openai``: ``usage`` with ``prompt_tokens_details.cached_tokens`` and
  ``completion_tokens_details.reasoning_tokens`` (both left out when ``usage_details`` is false).
- ``deepseek``: ``usage`` with DeepSeek's top-level ``prompt_cache_hit_tokens`` (= cached) and
  ``prompt_cache_miss_tokens`` (= prompt - cached), never ``prompt_tokens_details``;
  ``completion_tokens_details.reasoning_tokens`` unless ``usage_details`` is false.
- ``groq``: the ``openai`` usage plus Groq's ``queue_time``/``prompt_time``/``completion_time``/
  ``total_time`` (seconds). A stream carries it in ``x_groq.usage`` of the chunk with the finish
  reason (the first chunk has ``x_groq`` with only an ``id``) and sends no top-level usage
  chunk, whatever ``stream_options`` says.
- ``none``: no usage at all (``"usage": null``, and no usage chunk in a stream), as some
  proxies and older servers do.
- ``llama.cpp``: ``usage`` with the three totals only (no details), plus llama-server's
  top-level ``timings`` object (``cache_n`` = cached, ``prompt_n`` = prompt - cached,
  ``predicted_n`` = completion, and ``*_ms`` / ``*_per_second`` figures). A stream sends both in
  its final ``choices: []`` chunk, only with ``stream_options.include_usage`` (as llama-server
  does since its PR 16052).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evals.sim.config import ModelConfig
from evals.sim.textutil import text_tokens
from evals.sim.vision import IMAGE_PART_TYPES, image_tokens, images_in

EFFORT_FACTORS = {
    "none": 0.0,
    "minimal": 0.125,
    "low": 0.5,
    "medium": 1.0,
    "high": 2.0,
    "xhigh": 4.0,
    "max": 8.0,
}


def message_text(message: Any) -> tuple[str, int]:
    """Text of one chat message and its number of image parts.

    The text is the string content, or the text parts joined with ``"\\n"``. This is the
    sim's one reader of message text: token counts, answers, tools and the judge all use it.
    """
    if not isinstance(message, dict):
        return "", 0
    content = message.get("content")
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        return "", 0
    texts, images = [], 0
    for part in content:
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") in IMAGE_PART_TYPES:
                images += 1
    return "\n".join(texts), images


@dataclass(slots=True)
class PromptCount:
    """Prompt tokens of the messages, and the image share of them."""

    tokens: int
    image_tokens: int
    images: int


def count_prompt(messages: list[Any]) -> PromptCount:
    """Prompt tokens: 4 per message + text tokens + image tokens + tool-call tokens."""
    total = image_total = images = 0
    for m in messages:
        text, n = message_text(m)
        total += 4 + text_tokens(text)
        if n:
            cost = sum(image_tokens(img) for img in images_in(m))
            total += cost
            image_total += cost
            images += n
        calls = m.get("tool_calls") if m.get("role") == "assistant" else None
        if calls and isinstance(calls, list):
            for call in calls:
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    total += text_tokens(str(fn.get("name") or ""))
                    total += text_tokens(str(fn.get("arguments") or ""))
    return PromptCount(total, image_total, images)


def prompt_tokens(messages: list[Any]) -> int:
    """Prompt token count of the messages alone (rule in the module docstring)."""
    return count_prompt(messages).tokens


def last_user(messages: list[Any]) -> dict[str, Any] | None:
    """The last user message, or None."""
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            return m
    return None


def last_user_text(messages: list[Any]) -> str:
    """Text of the last user message ('' when there is none)."""
    return message_text(last_user(messages))[0]


@dataclass(slots=True)
class Answer:
    """One completion as the simulator bills and logs it."""

    text: str
    finish_reason: str
    correct: bool | None
    task: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cached_tokens: int
    image_tokens: int = 0
    images: int = 0
    tool_calls: list[dict[str, Any]] | None = field(default=None)
    usage_style: str = "openai"

    def usage(self, details: bool) -> dict[str, Any] | None:
        """The usage object in this answer's ``usage_style`` (rules in the module docstring);
        ``details=False`` mimics providers that send only totals."""
        if self.usage_style == "none":
            return None
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        style = self.usage_style
        if style == "llama.cpp":
            return usage
        if style == "deepseek":
            usage["prompt_cache_hit_tokens"] = self.cached_tokens
            usage["prompt_cache_miss_tokens"] = self.prompt_tokens - self.cached_tokens
            if details:
                usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_tokens}
            return usage
        if style == "groq":
            usage.update(self._groq_times())
        if details:
            usage["prompt_tokens_details"] = {
                "cached_tokens": self.cached_tokens,
                "audio_tokens": 0,
            }
            if self.images:
                usage["prompt_tokens_details"]["image_tokens"] = self.image_tokens
            usage["completion_tokens_details"] = {
                "reasoning_tokens": self.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            }
        return usage

    def _groq_times(self) -> dict[str, float]:
        """Groq's timing fields, derived from the counts (deterministic)."""
        prompt_time = round(self.prompt_tokens * 1e-5, 6)
        completion_time = round(self.completion_tokens * 1e-3, 6)
        return {
            "queue_time": 0.01,
            "prompt_time": prompt_time,
            "completion_time": completion_time,
            "total_time": round(prompt_time + completion_time, 6),
        }

    def timings(self) -> dict[str, Any]:
        """llama-server's ``timings`` object (sent by the ``llama.cpp`` style only)."""
        prompt_n = self.prompt_tokens - self.cached_tokens
        prompt_ms = float(prompt_n)  # 1 ms per evaluated prompt token
        predicted_ms = 10.0 * self.completion_tokens  # 100 tokens/s
        return {
            "cache_n": self.cached_tokens,
            "prompt_n": prompt_n,
            "prompt_ms": prompt_ms,
            "prompt_per_token_ms": 1.0,
            "prompt_per_second": 1000.0,
            "predicted_n": self.completion_tokens,
            "predicted_ms": predicted_ms,
            "predicted_per_token_ms": 10.0,
            "predicted_per_second": 100.0,
        }


def finish(
    model: ModelConfig,
    body: dict[str, Any],
    text: str,
    task: str,
    correct: bool | None,
    prompt: PromptCount,
    tool_calls: list[dict[str, Any]] | None = None,
) -> Answer:
    """Apply stop strings, reasoning tokens and the token limit; bill the answer."""
    stop = body.get("stop")
    if tool_calls is None:
        for s in [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []:
            if isinstance(s, str) and s and s in text:
                text = text[: text.index(s)]
    reasoning = 0
    if model.reasoning:
        factor = EFFORT_FACTORS.get(body.get("reasoning_effort") or "medium", 1.0)
        reasoning = round(model.reasoning_tokens * factor)
    finish_reason = "tool_calls" if tool_calls else "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and limit > 0 and tool_calls is None:
        if reasoning >= limit:
            reasoning, text, finish_reason = limit, "", "length"
        elif text_tokens(text) > limit - reasoning:
            text, finish_reason = text[: 4 * (limit - reasoning)], "length"
    if finish_reason == "length" and correct:
        correct = False
    out_tokens = text_tokens(text)
    for call in tool_calls or []:
        fn = call["function"]
        out_tokens += text_tokens(fn["name"]) + text_tokens(fn["arguments"])
    ptok = prompt.tokens
    return Answer(
        text=text,
        finish_reason=finish_reason,
        correct=correct,
        task=task,
        prompt_tokens=ptok,
        completion_tokens=out_tokens + reasoning,
        reasoning_tokens=reasoning,
        cached_tokens=ptok // 2 if model.cache and ptok >= 8 else 0,
        image_tokens=prompt.image_tokens,
        images=prompt.images,
        tool_calls=tool_calls,
        usage_style=model.usage_style,
    )
