"""The one exception a user can cause: it carries the file, line and what to do."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input (file, flag, environment). The CLI prints it and exits 2, no traceback."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        if self.path and self.line:
            return f"{self.path}:{self.line}: {self.message}"
        if self.path:
            return f"{self.path}: {self.message}"
        return self.message
