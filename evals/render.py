"""Prompt templates: jinja2, sandboxed, strict about undefined variables.

Only the suite's prompt text is ever a template. Case values are passed in as
data, so `{{` or `{%` inside a case reaches the model verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


class TemplateError(ValueError):
    """A prompt template that does not compile; `index` is the message's position."""

    def __init__(self, message: str, index: int):
        super().__init__(message)
        self.index = index


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """One prompt variant: messages whose contents are compiled templates."""

    name: str
    roles: tuple[str, ...]
    templates: tuple[jinja2.Template, ...]
    variables: frozenset[str]

    def render(self, variables: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {"role": role, "content": template.render(variables)}
            for role, template in zip(self.roles, self.templates, strict=True)
        ]


def compile_prompt(name: str, messages: list[tuple[str, str]]) -> PromptTemplate:
    env = _environment()
    templates = []
    variables: set[str] = set()
    for index, (_, content) in enumerate(messages):
        try:
            variables |= meta.find_undeclared_variables(env.parse(content))
            templates.append(env.from_string(content))
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax error: {exc.message}", index) from None
    return PromptTemplate(
        name=name,
        roles=tuple(role for role, _ in messages),
        templates=tuple(templates),
        variables=frozenset(variables),
    )
