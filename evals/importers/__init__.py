"""Importers: other tools' configs (promptfoo, openai/evals) written out as this tool's
suites, cases and runner profiles.

Each importer returns an ImportResult: the files it wrote and every item it could not
carry over (with the file and line it came from, and why), so `evals import` can print
them and exit 0 with warnings, or 2 when nothing could be imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Skipped:
    """One thing that was not imported: what it was, where, and why."""

    what: str  # e.g. "assertion javascript", "provider file://provider.js", "transform"
    file: Path
    line: int | None
    why: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        return f"{where}: {self.what}: {self.why}"


@dataclass(slots=True)
class ImportResult:
    suites: list[Path] = field(default_factory=list)  # suite files written
    runner: Path | None = None  # the runner profile written, if any
    written: list[Path] = field(default_factory=list)  # every file written (suites included)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def imported_anything(self) -> bool:
        return bool(self.suites)
