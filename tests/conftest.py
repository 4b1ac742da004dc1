"""Shared fixtures: one `evals sim` per test module, configured by that module's
`CONFIG` (a sim YAML string), its request log, and an SDK client for it.
A module may define its own `sim` fixture instead (it then takes precedence).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from evals.sim.server import SimHandle, start_in_thread
from tests.pg import pg_cluster, pg_url  # noqa: F401 (fixtures: a throwaway PostgreSQL)


@pytest.fixture(scope="module")
def paths(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    (root / "sim.yaml").write_text(request.module.CONFIG)
    return {"config": root / "sim.yaml", "log": root / "requests.jsonl"}


@pytest.fixture(scope="module")
def sim(paths: dict[str, Path]) -> Iterator[SimHandle]:
    handle = start_in_thread(config_path=str(paths["config"]), log_path=str(paths["log"]))
    yield handle
    handle.stop()


@pytest.fixture()
def client(sim: SimHandle) -> OpenAI:
    return OpenAI(base_url=sim.base_url, api_key="x", max_retries=0, timeout=5)
