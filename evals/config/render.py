"""Prompt templates: jinja2, sandboxed, strict about undefined variables.

Only the suite's prompt text is ever a template. Case values are passed in as
data, so `{{` or `{%` inside a case reaches the model verbatim.
A message may carry images: each renders to a local path (sent as a base64 data
URL) or an http(s)/data URL (sent as it is).
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

IMAGE_DETAILS = ("low", "high", "auto", "original")


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


class ImageError(ValueError):
    """An image a case names cannot be read (missing file, unknown type)."""


@dataclass(frozen=True, slots=True)
class MessageSpec:
    role: str
    content: str
    images: tuple[str, ...] = ()
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class _MessageTemplate:
    role: str
    content: jinja2.Template
    images: tuple[jinja2.Template, ...] = ()
    detail: str | None = None


@lru_cache(maxsize=256)
def _data_url(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0]
    if mime is None or not mime.startswith("image/"):
        raise ImageError(f"{path}: not a known image type (use .png, .jpg, .gif or .webp)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read image ({exc.strerror})") from None
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _local_image(ref: str, base_dir: Path) -> Path | None:
    """The file a reference names, or None for a URL."""
    if ref.startswith(("http://", "https://", "data:")):
        return None
    return (Path(ref) if Path(ref).is_absolute() else base_dir / ref).resolve()


def check_image(ref: str, base_dir: Path) -> None:
    """Raise ImageError now for an image that could not be sent later (no bytes read)."""
    path = _local_image(ref, base_dir)
    if path is None:
        return
    mime = mimetypes.guess_type(path.name)[0]
    if mime is None or not mime.startswith("image/"):
        raise ImageError(f"{path}: not a known image type (use .png, .jpg, .gif or .webp)")
    if not path.is_file():
        raise ImageError(f"{path}: no such image file")


def image_url(ref: str, base_dir: Path) -> str:
    """A URL stays a URL; a local path (relative to the suite) becomes a data URL."""
    path = _local_image(ref, base_dir)
    return ref if path is None else _data_url(path)


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """One prompt variant: messages whose contents are compiled templates."""

    name: str
    messages: tuple[_MessageTemplate, ...]
    variables: frozenset[str]
    base_dir: Path = field(default=Path("."))

    def check_images(self, variables: dict[str, Any]) -> None:
        """Raise ImageError if an image these variables name cannot be sent."""
        for message in self.messages:
            for image in message.images:
                check_image(image.render(variables), self.base_dir)

    def render(self, variables: dict[str, Any]) -> list[dict[str, Any]]:
        rendered = []
        for message in self.messages:
            text = message.content.render(variables)
            if not message.images:
                rendered.append({"role": message.role, "content": text})
                continue
            parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
            for image in message.images:
                url: dict[str, Any] = {"url": image_url(image.render(variables), self.base_dir)}
                if message.detail:
                    url["detail"] = message.detail
                parts.append({"type": "image_url", "image_url": url})
            rendered.append({"role": message.role, "content": parts})
        return rendered


def compile_prompt(
    name: str, messages: list[MessageSpec], base_dir: Path = Path(".")
) -> PromptTemplate:
    env = _environment()
    compiled = []
    variables: set[str] = set()
    for index, spec in enumerate(messages):
        try:
            templates = [spec.content, *spec.images]
            for text in templates:
                variables |= meta.find_undeclared_variables(env.parse(text))
            content, *images = (env.from_string(text) for text in templates)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax error: {exc.message}", index) from None
        compiled.append(_MessageTemplate(spec.role, content, tuple(images), spec.detail))
    return PromptTemplate(name, tuple(compiled), frozenset(variables), base_dir)
