"""The throwaway PostgreSQL server of tests/pg.py: it answers, asks for a password,
gives each test its own database, and does not run as root."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests import pg
from tests.pg import PgCluster, find_pg_bin, require_pg

# The fixtures, as module attributes (an import would make ruff see each argument as F811).
pg_cluster = pg.pg_cluster
pg_url = pg.pg_url


def psql(url: str, sql: str, password: str | None) -> subprocess.CompletedProcess[str]:
    bin_dir = find_pg_bin()
    assert bin_dir is not None
    psql_bin = bin_dir / "psql"
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        [str(psql_bin) if psql_bin.exists() else "psql", "-X", "-A", "-t", "-d", url, "-c", sql],
        env={**env, "PGCONNECT_TIMEOUT": "5"},
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_the_server_answers_on_127_0_0_1_with_the_password_from_the_environment(
    pg_url: str,
) -> None:
    assert pg_url.startswith("postgresql://evals@127.0.0.1:")
    assert os.environ["PGPASSWORD"]  # set by the fixture; not in the URL
    assert os.environ["PGPASSWORD"] not in pg_url
    result = psql(pg_url, "select 1", os.environ["PGPASSWORD"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_psycopg_reads_the_password_from_the_environment(pg_url: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select current_user, version()").fetchone()[0] == "evals"


def test_the_default_database_and_the_unix_socket(pg_cluster: PgCluster) -> None:
    assert pg_cluster.url == f"postgresql://evals@127.0.0.1:{pg_cluster.port}/evals"
    assert psql(pg_cluster.url, "select current_database()", pg_cluster.password).stdout == (
        "evals\n"
    )
    via_socket = psql(
        pg_cluster.socket_url_for("evals"), "select inet_server_addr()", pg_cluster.password
    )
    assert via_socket.returncode == 0, via_socket.stderr
    assert via_socket.stdout.strip() == ""  # NULL: not over TCP


def test_a_wrong_or_missing_password_is_refused(pg_cluster: PgCluster) -> None:
    wrong = psql(pg_cluster.url, "select 1", "not-the-password")
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr
    missing = psql(pg_cluster.url, "select 1", None)
    assert missing.returncode != 0
    assert "password" in missing.stderr
    via_socket = psql(pg_cluster.socket_url_for("evals"), "select 1", "not-the-password")
    assert via_socket.returncode != 0


def test_fresh_databases_are_isolated(pg_cluster: PgCluster) -> None:
    first = pg_cluster.fresh_database("iso_a")
    second = pg_cluster.fresh_database("iso_b")
    try:
        assert first != second
        pw = pg_cluster.password
        assert psql(first, "create table t (x int); insert into t values (7)", pw).returncode == 0
        assert psql(first, "select x from t", pw).stdout.strip() == "7"
        in_second = psql(second, "select x from t", pw)
        assert in_second.returncode != 0
        assert 'relation "t" does not exist' in in_second.stderr
        tables = "select count(*) from pg_tables where schemaname = 'public'"
        assert psql(second, tables, pw).stdout.strip() == "0"
    finally:
        pg_cluster.drop_database("iso_a")
        pg_cluster.drop_database("iso_b")
    with pytest.raises(ValueError):
        pg_cluster.fresh_database('x"; drop database evals; --')


def test_each_test_gets_its_own_database(pg_url: str, pg_cluster: PgCluster) -> None:
    name = pg_url.rsplit("/", 1)[-1]
    assert name not in ("evals", "postgres", "template0", "template1")
    listed = psql(pg_cluster.url, "select datname from pg_database", pg_cluster.password)
    assert name in listed.stdout.split()


def test_the_server_does_not_run_as_root(pg_cluster: PgCluster) -> None:
    pid = pg_cluster.postmaster_pid
    user = subprocess.run(
        ["ps", "-o", "user=", "-p", str(pid)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert user, f"no process {pid}"
    if os.geteuid() == 0:
        assert user != "root"
        assert user == pg_cluster.os_user
    else:
        assert pg_cluster.os_user is None
    assert Path(f"/proc/{pid}/status").exists()


def test_it_listens_on_127_0_0_1_only(pg_cluster: PgCluster) -> None:
    shown = psql(pg_cluster.url, "show listen_addresses", pg_cluster.password).stdout.strip()
    assert shown == "127.0.0.1"
    durability = psql(pg_cluster.url, "show fsync", pg_cluster.password).stdout.strip()
    assert durability == "off"


def test_a_cluster_left_by_a_killed_session_does_not_stop_the_next(tmp_path: Path) -> None:
    """A session killed mid-run leaves a server and its folder behind: the next cluster
    still starts (new folder, new port) and stops the leftover."""
    require_pg()
    # The server user must reach the base folder: pytest's tmp_path is private to root.
    base = Path(tempfile.mkdtemp(prefix="evals-pg-reap-", dir="/tmp"))
    base.chmod(0o755)
    try:
        leftover = PgCluster(base_dir=str(base)).start()
        assert leftover.root is not None
        pid = leftover.postmaster_pid
        (leftover.root / "owner.pid").write_text("999999999\n")  # a session that is gone
        leftover.root = None  # killed: its stop() never runs

        second = PgCluster(base_dir=str(base)).start()
        try:
            assert second.port != leftover.port or not _running(pid)
            assert psql(second.url, "select 1", second.password).stdout.strip() == "1"
            deadline = time.monotonic() + 10
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _running(pid), "the leftover server was not stopped"
            assert list(base.iterdir()) == [second.root]
        finally:
            second.stop()
    finally:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
