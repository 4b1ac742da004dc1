"""Issue 14: user-caused failures end in one `error: ...` line and exit 2, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from evals.store import Store


def cli(home: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evals", *args],
        cwd=home,
        env={**os.environ, "EVALS_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], proc.stderr


def test_sim_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = cli(tmp_path, "sim", "--host", "127.0.0.1", "--port", str(port), timeout=10)
    assert_one_error(proc, str(port), "in use", "--port")


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_sim_port_out_of_range(tmp_path: Path, port: str) -> None:
    proc = cli(tmp_path, "sim", "--port", port, timeout=10)
    assert_one_error(proc, port, "65535")


@pytest.fixture(params=["random", "text"])
def corrupt_home(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    db = tmp_path / "evals.sqlite"
    if request.param == "random":
        db.write_bytes(os.urandom(4096))
    else:
        db.write_text("this is a text file, not a database\n" * 50)
    return tmp_path


@pytest.mark.parametrize(
    "args", [("runs",), ("runs", "--json"), ("report", "latest"), ("run", "--resume", "x")]
)
def test_corrupt_store(corrupt_home: Path, args: tuple[str, ...]) -> None:
    before = (corrupt_home / "evals.sqlite").read_bytes()
    proc = cli(corrupt_home, *args)
    assert_one_error(proc, str(corrupt_home / "evals.sqlite"), "not an evals store", "EVALS_HOME")
    assert (corrupt_home / "evals.sqlite").read_bytes() == before  # left as it was


def test_runs_into_closed_pipe(tmp_path: Path) -> None:
    store = Store(tmp_path / "evals.sqlite")
    try:
        with store.db:  # one transaction: 2000 inserts in milliseconds
            store.db.execute("BEGIN")
            for i in range(2000):
                store.start_run(f"run-{i:05d}", ["suite"], f"2024-01-01T00:00:{i:05d}", {})
    finally:
        store.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evals", "runs"],
        cwd=tmp_path,
        env={**os.environ, "EVALS_HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("run-")
    proc.stdout.close()
    try:
        stderr = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    assert stderr.strip().splitlines() == ["error: output closed early (broken pipe)"], stderr
    assert proc.returncode == 2
