"""What an importer carries while it reads a foreign config: where it is, where the
output goes, what was skipped, and which referenced files must be copied next to it.

Files are only copied when the import is written, so an import that carries nothing
over leaves nothing behind.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evals.config.yamlload import LineLoader, load_yaml
from evals.importers import Skipped

RESERVED = frozenset({"cases.yaml", "runner.yaml"})


def slug(text: str, limit: int = 48) -> str:
    """Lower-case words joined by dashes: a suite name, a case id part, a variant name."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:limit].rstrip("-")


@dataclass
class Context:
    config: Path
    """The config being imported (Skipped items name it, or the file they came from)."""
    out: Path
    skipped: list[Skipped] = field(default_factory=list)
    copies: dict[Path, str] = field(default_factory=dict)
    """Source file -> its path relative to the output folder."""
    templates: dict[str, Any] = field(default_factory=dict)
    """promptfoo's `assertionTemplates`, for `$ref`s."""
    tests_seen: int = 0  # tests read so far, skipped ones included (case ids)
    model_graded: bool = False  # some grader needs the runner's judge
    uses_embeddings: bool = False  # some grader needs the runner's embedder

    @property
    def base(self) -> Path:
        return self.config.parent

    def skip(self, what: str, why: str, line: int | None, file: Path | None = None) -> None:
        self.skipped.append(Skipped(what, file or self.config, line, why))

    def source(self, ref: str, base: Path | None = None) -> Path:
        """The file a `file://` reference (or a bare relative path) names."""
        path = Path(ref.removeprefix("file://"))
        return path if path.is_absolute() else (base or self.base) / path

    def copy(self, src: Path) -> str:
        """Schedule `src` to be copied into the output; returns its path relative to it."""
        src = src.resolve()
        if src in self.copies:
            return self.copies[src]
        try:
            rel = src.relative_to(self.base.resolve()).as_posix()
        except ValueError:  # outside the config's folder: keep the name only
            rel = f"files/{src.name}"
        if rel in RESERVED or rel.endswith(".yaml") and "/" not in rel:
            rel = f"files/{rel}"
        taken = set(self.copies.values())
        stem, n = rel, 2
        while rel in taken:
            rel = f"{Path(stem).with_suffix('')}-{n}{Path(stem).suffix}"
            n += 1
        self.copies[src] = rel
        return rel

    def write_copies(self) -> list[Path]:
        written = []
        for src, rel in self.copies.items():
            dest = self.out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.resolve() != src:  # --out is the config's own folder: already there
                shutil.copyfile(src, dest)
            written.append(dest)
        return written


def plain(value: Any) -> Any:
    """Line-aware dicts and lists back to plain ones (yaml.safe_dump refuses subclasses)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text and not text.startswith((" ", "\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any, path: Path, header: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(plain(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + text, encoding="utf-8")
    return path


class _Yaml12Loader(LineLoader):
    """promptfoo reads YAML 1.2 (js-yaml): `Yes`, `No`, `on`, `off` are strings there, not
    booleans as in PyYAML's YAML 1.1; a var `body: Yes` must stay the text "Yes"."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in LineLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_config_yaml(path: Path) -> Any:
    """A promptfoo YAML file, line-aware (LineDict/LineList), read with YAML 1.2 booleans."""
    return load_yaml(path, _Yaml12Loader)
