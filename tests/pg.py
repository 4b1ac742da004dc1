"""A throwaway PostgreSQL server for tests: one cluster per pytest session.

`PgCluster` runs `initdb` into a new temporary folder, starts `postgres` on 127.0.0.1
at a free port (and on a Unix socket in that folder), and `stop()` kills it and removes
the folder. Durability is switched off (fsync, synchronous_commit, full_page_writes):
the data is thrown away anyway; initdb + start take one to two seconds.

PostgreSQL refuses to run as root. When the tests run as root, initdb and postgres run
as the `postgres` system user (Debian's package creates it), or as `evalspg`, created
on first use; the temporary folder is given to that user.

Authentication is on (scram-sha-256, TCP and socket): the superuser role `evals` has a
random password, and database `evals` exists. `url` holds no password: libpq (and so
psycopg) reads it from the PGPASSWORD environment variable, which `env` gives.

Fixtures: make them visible where they are used, either in tests/conftest.py
(`from tests.pg import pg_cluster, pg_url  # noqa: F401`) or in a test module as
attributes (`pg_cluster = tests.pg.pg_cluster`; importing them by name into the module
that uses them makes ruff report every test argument as F811):

- `pg_cluster` (session): the running `PgCluster`, started once, stopped at the end.
- `pg_url` (function): the URL of a new, empty database for this test alone
  (`CREATE DATABASE ... TEMPLATE template0`, dropped afterwards), with PGPASSWORD set in
  os.environ for the duration of the test.

When no PostgreSQL binaries are found the tests are skipped, or failed when the CI or
EVALS_REQUIRE_PG=1 environment variable is set (`make test` installs Debian's
postgresql package). Binaries that are found but fail to start are a real error.
A session killed before its teardown leaves a server behind: the next session stops it
and removes its folder (each folder records the pid of the session that made it).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_PROGRAMS = ("initdb", "pg_ctl", "postgres")
PREFIX = "evals-pg-"
ROLE = "evals"
DATABASE = "evals"
FALLBACK_USER = "evalspg"
SERVER_SETTINGS = (
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
)
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PgError(RuntimeError):
    """initdb, pg_ctl or psql failed, or the cluster cannot be set up."""


def _version_key(bin_dir: str) -> tuple[int, ...]:
    version = Path(bin_dir).parent.name  # /usr/lib/postgresql/15/bin -> "15"
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def _works(bin_dir: Path) -> bool:
    for program in PG_PROGRAMS:
        path = bin_dir / program
        if not os.access(path, os.X_OK):
            return False
    try:
        subprocess.run(
            [str(bin_dir / "postgres"), "--version"],
            check=True,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


@functools.cache
def find_pg_bin() -> Path | None:
    """The folder holding working initdb, pg_ctl and postgres, or None.

    PATH first (a symlink such as /usr/local/bin/initdb is followed to its real folder,
    which also holds the matching psql), then /usr/lib/postgresql/*/bin, newest first.
    """
    candidates: list[Path] = []
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
        candidates.append(Path(found).parent)
    for bin_dir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        candidates.append(Path(bin_dir))
    for bin_dir in dict.fromkeys(candidates):
        if _works(bin_dir):
            return bin_dir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> str | None:
    """The user to run PostgreSQL as: None for ourselves, else a non-root system user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    created = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        capture_output=True,
        text=True,
    )
    try:
        pwd.getpwnam(FALLBACK_USER)  # also fine when a parallel session created it first
    except KeyError:
        raise PgError(f"could not create user {FALLBACK_USER}: {created.stderr.strip()}") from None
    return FALLBACK_USER


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PgCluster:
    """A PostgreSQL cluster in a temporary folder; `start()` it, then `stop()` it."""

    def __init__(self, bin_dir: Path | None = None, base_dir: str | None = None) -> None:
        found = bin_dir or find_pg_bin()
        if found is None:
            raise PgError("no PostgreSQL binaries (initdb, pg_ctl, postgres) found")
        self.bin_dir = Path(found)
        self.base_dir = base_dir
        self.host = "127.0.0.1"
        self.user = ROLE
        self.database = DATABASE
        self.password = secrets.token_urlsafe(18)
        self.port: int | None = None
        self.root: Path | None = None
        self.os_user: str | None = None
        self._names = itertools.count(1)

    # -- paths -----------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        assert self.root is not None, "the cluster is not started"
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None, "the cluster is not started"
        return self.root / "s"

    @property
    def log_file(self) -> Path:
        assert self.root is not None, "the cluster is not started"
        return self.root / "server.log"

    # -- connection details ----------------------------------------------------

    @property
    def url(self) -> str:
        """postgresql://evals@127.0.0.1:PORT/evals, without the password (see `env`)."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        assert self.port is not None, "the cluster is not started"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def socket_url_for(self, database: str) -> str:
        """The same database through the Unix socket in the temporary folder."""
        assert self.port is not None, "the cluster is not started"
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password}

    @property
    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])

    # -- running programs ------------------------------------------------------

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.os_user is not None:
            command = ["runuser", "-u", self.os_user, "--", *command]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        for name in ("PGHOST", "PGPORT", "PGDATA", "PGUSER", "PGDATABASE", "PGPASSWORD"):
            env.pop(name, None)
        result = subprocess.run(
            command,
            cwd=self.root,  # the server user may not be able to enter ours
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise PgError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{self._log_tail()}"
            )
        return result

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()[-20:]
        except (OSError, AssertionError):
            return ""
        return "\nserver log:\n" + "\n".join(lines) if lines else ""

    @property
    def psql_path(self) -> str:
        """psql from the server's bin folder, else the one on PATH."""
        own = self.bin_dir / "psql"
        if os.access(own, os.X_OK):
            return str(own)
        found = shutil.which("psql")
        if found is None:
            raise PgError(f"psql not found in {self.bin_dir} nor on PATH")
        return found

    def psql(self, sql: str, database: str | None = None) -> str:
        """Run SQL with psql over TCP (one statement per call outside a transaction)."""
        command = [
            self.psql_path,
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.url_for(database or self.database),
            "-c",
            sql,
        ]
        env = {**os.environ, **self.env}
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise PgError(f"psql {sql!r} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def execute(self, sql: str, database: str | None = None) -> None:
        """Run one SQL statement in autocommit mode (psycopg if installed, else psql)."""
        try:
            import psycopg
        except ImportError:
            self.psql(sql, database)
            return
        with psycopg.connect(
            self.url_for(database or self.database), password=self.password, autocommit=True
        ) as conn:
            conn.execute(sql)

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> PgCluster:
        reap_leftovers(self.base_dir)
        self.os_user = _server_user()
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=self.base_dir))
        try:
            (self.root / "owner.pid").write_text(f"{os.getpid()}\n")
            self.socket_dir.mkdir()
            pwfile = self.root / "pwfile"
            pwfile.write_text(self.password + "\n")
            pwfile.chmod(0o600)
            if self.os_user is not None:
                entry = pwd.getpwnam(self.os_user)
                for path in (self.root, self.socket_dir, pwfile):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
                self._check_reachable()
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "-A",
                    "scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                    "--no-instructions",
                ]
            )
            pwfile.unlink()
            self._start_server()
            self.execute(f'CREATE DATABASE "{self.database}"', database="postgres")
        except BaseException:
            self.stop()
            raise
        return self

    def _check_reachable(self) -> None:
        """The server user must be able to reach the folder (TMPDIR could be under /root)."""
        assert self.root is not None and self.os_user is not None
        check = subprocess.run(
            ["runuser", "-u", self.os_user, "--", "test", "-w", str(self.root)],
            cwd="/",
            capture_output=True,
        )
        if check.returncode != 0:
            raise PgError(
                f"user {self.os_user} cannot write to {self.root}: "
                "give PgCluster a base_dir it can reach (or set TMPDIR, e.g. to /tmp)"
            )

    def _start_server(self) -> None:
        last: PgError | None = None
        for _ in range(3):  # a free port can be taken between picking and binding it
            self.port = _free_port()
            options = " ".join(
                (
                    "-c listen_addresses=127.0.0.1",
                    f"-p {self.port}",
                    f"-k '{self.socket_dir}'",
                    *SERVER_SETTINGS,
                )
            )
            try:
                self._run(
                    [
                        "pg_ctl",
                        "start",
                        "-w",
                        "-t",
                        "30",
                        "-D",
                        str(self.data_dir),
                        "-l",
                        str(self.log_file),
                        "-o",
                        options,
                    ]
                )
                return
            except PgError as error:
                last = error
                if "already in use" not in self._log_tail():
                    raise
        assert last is not None
        raise last

    def stop(self) -> None:
        """Stop the server at once (`-m immediate`: no checkpoint) and remove the folder."""
        if self.root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                try:
                    self._run(["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate"])
                except (PgError, subprocess.SubprocessError, OSError):
                    _kill_postmaster(self.data_dir)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            self.port = None

    # -- per-test databases ----------------------------------------------------

    def fresh_database(self, name: str | None = None) -> str:
        """Create a new, empty database (from template0) and return its URL (no password).

        Without a name, a unique one (`t1`, `t2`, ...) is chosen.
        """
        if name is None:
            name = f"t{next(self._names)}"
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a plain lower-case database name: {name!r}")
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0', database="postgres")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection a test left open to it."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a plain lower-case database name: {name!r}")
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', database="postgres")


def _kill_postmaster(data_dir: Path, sig: signal.Signals = signal.SIGKILL) -> None:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"postgres" in cmdline:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def reap_leftovers(base_dir: str | None = None) -> None:
    """Stop and remove the clusters of sessions that died before their teardown."""
    base = Path(base_dir or tempfile.gettempdir())
    for root in base.glob(PREFIX + "*"):
        try:
            owner = int((root / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            # No owner file: either being created right now, or not ours. Only old ones.
            try:
                if time.time() - root.stat().st_mtime < 3600:
                    continue
            except OSError:
                continue
            owner = 0
        if owner and _pid_alive(owner):
            continue
        _kill_postmaster(root / "data", signal.SIGQUIT)  # SIGQUIT: immediate shutdown
        shutil.rmtree(root, ignore_errors=True)


# -- pytest ----------------------------------------------------------------------


def _require_pg() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("EVALS_REQUIRE_PG") == "1"


def _unavailable(reason: str) -> None:
    message = f"PostgreSQL tests need a PostgreSQL server: {reason}"
    if _require_pg():
        pytest.fail(
            f"{message} (CI or EVALS_REQUIRE_PG=1 is set, so this is a failure, not a skip)",
            pytrace=False,
        )
    pytest.skip(message)


def require_pg() -> Path:
    """The PostgreSQL bin folder; skip (or fail under CI) when there is none."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        _unavailable(
            "initdb, pg_ctl and postgres not found on PATH nor under "
            "/usr/lib/postgresql/*/bin (apt-get install postgresql, or run `make test`)"
        )
    assert bin_dir is not None
    return bin_dir


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A running throwaway PostgreSQL cluster, shared by the session."""
    bin_dir = require_pg()
    # Installed but failing to start is a real error: let it propagate.
    cluster = PgCluster(bin_dir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture()
def pg_url(pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a new, empty database for this test; PGPASSWORD is set meanwhile."""
    url = pg_cluster.fresh_database()
    for name, value in pg_cluster.env.items():
        monkeypatch.setenv(name, value)
    try:
        yield url
    finally:
        pg_cluster.drop_database(url.rsplit("/", 1)[-1])
