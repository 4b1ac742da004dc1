"""Text out of chat messages: one reading of a `content` (a string or a list of parts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or its `text` parts joined by newlines."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return str(content)


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last user message (what a model-graded grader calls the question)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""
