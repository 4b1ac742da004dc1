"""Shared test helpers: run the real `evals` CLI in a subprocess, in a scratch folder."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def evals_cli(cwd: Path, *args: str, timeout: float = 300, env: dict | None = None):
    """Run `python -m evals ARGS` with its state under `cwd`; returns CompletedProcess."""
    full_env = {**os.environ, "EVALS_HOME": str(cwd / ".evals"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "evals", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def serving_sim(folder: Path, models: str) -> Iterator[Any]:
    """`evals sim` in a thread, serving `models` (a YAML mapping's body) and logging to
    folder/sim.jsonl; stopped on exit."""
    from evals.sim.server import start_in_thread

    config = write(folder / "sim.yaml", f"models:\n{models}")
    handle = start_in_thread(config_path=str(config), log_path=str(folder / "sim.jsonl"))
    try:
        yield handle
    finally:
        handle.stop()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def chat_log(path: Path) -> list[dict[str, Any]]:
    """The chat-completion requests a sim logged (GETs and embeddings left out)."""
    return [e for e in read_jsonl(path) if e["path"].endswith("/chat/completions")]


def store_query(evals_home_parent: Path, query: str) -> list[sqlite3.Row]:
    """Rows of `query` on the store of runs made with `evals_cli(evals_home_parent, ...)`,
    read with sqlite3 directly (not through the code under test)."""
    db = sqlite3.connect(evals_home_parent / ".evals" / "evals.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def stored_results(evals_home_parent: Path) -> list[sqlite3.Row]:
    """Every result row in the store of a run made with `evals_cli(evals_home_parent, ...)`."""
    return store_query(evals_home_parent, "SELECT * FROM results ORDER BY id")


# A dollar amount and how the report writes it (Python fmt_usd and the explorer's script)
USD_TEXTS = [
    (0, "$0.00"),
    (0.000021, "$0.000021"),
    (0.00228, "$0.00228"),
    (0.5, "$0.50"),
    (0.123456, "$0.123"),
    (1234.567, "$1,234.57"),
    (1e-14, "<$0.000000000001"),
]


QUICKSTART = REPO / "suites" / "quickstart.yaml"


def run_quickstart(cwd: Path, runner: Path, *args: str, **kwargs: Any):
    """`evals run suites/quickstart.yaml -r RUNNER ARGS` in `cwd`."""
    return evals_cli(cwd, "run", str(QUICKSTART), "-r", str(runner), *args, **kwargs)


def explorer_samples(html: str) -> list[dict[str, Any]]:
    """The samples a report embeds for its case explorer, one dict per sample by column
    name, interned strings resolved (the format of evals.report.explorer)."""
    from evals.report.explorer import INTERNED

    def block(name: str) -> Any:
        match = re.search(f'<script type="application/json" id="{name}">(.*?)</script>', html, re.S)
        assert match, f"no {name} block in the report"
        return json.loads(match.group(1))

    data, strings = block("explorer-rows"), block("explorer-strings")
    samples = []
    for row in data["rows"]:
        sample = dict(zip(data["columns"], row, strict=True))
        for name in INTERNED:
            if sample[name] is not None:
                sample[name] = strings[sample[name]]
        sample["tags"] = [strings[t] for t in sample["tags"]]
        sample["grades"] = [
            {"type": strings[t], "status": strings[s], "score": score, "reason": strings[r]}
            for t, s, score, r in sample["grades"]
        ]
        samples.append(sample)
    return samples
