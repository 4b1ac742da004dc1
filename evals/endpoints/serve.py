"""Start the local servers a runner profile asks for (`serve:`), wait for them, stop them.

A server that fails to start is bad input (exit 2) with the tail of its output,
so the user sees why (missing package, bad model path) without a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evals.config.runner import EndpointSpec
from evals.errors import InputError

_RESOURCE = re.compile(r"\{resource:([A-Za-z0-9_.]+)/([^}]+)\}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _resource_path(package: str, name: str) -> str:
    """`{resource:pkg/file}`: a data file shipped inside an installed package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            f"serve command needs the package '{package}', which is not installed: "
            "install it (e.g. `pip install -e '.[local]'`, or `make demo` does it)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.exists():
        raise InputError(f"package '{package}' has no file '{name}'")
    return str(path)


def expand(arg: str, port: int) -> str:
    arg = arg.replace("{port}", str(port)).replace("{python}", sys.executable)
    return _RESOURCE.sub(lambda m: _resource_path(m.group(1), m.group(2)), arg)


class ServedEndpoint:
    """A server process started for one endpoint; `stop()` ends it."""

    def __init__(self, name: str, spec: EndpointSpec):
        assert spec.serve is not None
        self.name = name
        self.spec = spec
        self.port = free_port()
        self.base_url = spec.base_url.replace("{port}", str(self.port))
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        command = [expand(arg, self.port) for arg in spec.serve.command]
        env = {**os.environ, **spec.serve.env}
        try:
            self.process = subprocess.Popen(
                command,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise InputError(f"endpoint '{name}': cannot start `{command[0]}`: {exc}") from None

    def _output_tail(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return "\n".join(lines[-15:])

    def wait_ready(self) -> None:
        serve = self.spec.serve
        assert serve is not None
        parts = urlsplit(self.base_url)
        url = f"{parts.scheme}://{parts.netloc}{serve.ready}"
        deadline = time.monotonic() + serve.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self._output_tail()
                self.stop()
                raise InputError(
                    f"endpoint '{self.name}': server exited with code {self.process.returncode} "
                    f"before it was ready; its output ends with:\n{tail}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        tail = self._output_tail()
        self.stop()
        raise InputError(
            f"endpoint '{self.name}': server not ready at {url} after "
            f"{serve.startup_timeout_s:.0f} s (raise serve.startup_timeout_s?); output:\n{tail}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start_servers(profile: Any, names: set[str]) -> tuple[dict[str, str], list[ServedEndpoint]]:
    """Start the `serve:` endpoints among `names` (in name order); every endpoint's base
    URL. If one fails to start, those already started are stopped before raising."""
    base_urls: dict[str, str] = {}
    servers: list[ServedEndpoint] = []
    try:
        for name in sorted(names):
            spec = profile.endpoints[name]
            if spec.serve is None:
                base_urls[name] = spec.base_url
                continue
            print(f"starting endpoint '{name}'...", file=sys.stderr, flush=True)
            server = ServedEndpoint(name, spec)
            servers.append(server)
            server.wait_ready()
            base_urls[name] = server.base_url
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return base_urls, servers
