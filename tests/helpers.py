"""Shared test helpers: run the real `evals` CLI in a subprocess, in a scratch folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def evals_cli(cwd: Path, *args: str, timeout: float = 300, env: dict | None = None):
    """Run `python -m evals ARGS` with its state under `cwd`; returns CompletedProcess."""
    full_env = {**os.environ, "EVALS_HOME": str(cwd / ".evals"), **(env or {})}
    full_env.pop("CI", None) if env and env.get("CI") == "" else None
    return subprocess.run(
        [sys.executable, "-m", "evals", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
