"""HTTP/1.1 plumbing for the simulator on asyncio streams (stdlib only, keep-alive).

Bodies are read by Content-Length (or chunked); responses carry Content-Length, and SSE
streams use chunked transfer encoding so the connection can be reused afterwards. All
endpoint logic lives in ``evals.sim.api``; this module only moves bytes and waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import sys
import threading
from http import HTTPStatus
from typing import Any

from evals.errors import InputError
from evals.sim.api import App
from evals.sim.config import SimConfig, load_config
from evals.sim.loadmodel import new_event_loop
from evals.sim.reply import Reply

MAX_BODY = 64 * 1024 * 1024
_REASONS = {s.value: s.phrase for s in HTTPStatus} | {498: "Capacity Exceeded", 529: "Overloaded"}
_STATUS_LINES: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n".encode()
        _STATUS_LINES[status] = line
    return line


def _head(reply: Reply, keep_alive: bool, length: int | None) -> bytes:
    """Status line and headers; ``length=None`` means chunked."""
    parts = [_status_line(reply.status), b"content-type: ", reply.content_type.encode(), b"\r\n"]
    if length is None:
        parts.append(b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n")
    else:
        parts.append(b"content-length: %d\r\n" % length)
    parts.append(b"connection: keep-alive\r\n" if keep_alive else b"connection: close\r\n")
    for name, value in reply.headers:
        parts.append(f"{name}: {value}\r\n".encode())
    parts.append(b"\r\n")
    return b"".join(parts)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    """Read a chunked request body (rare for JSON clients, but legal HTTP/1.1)."""
    body = bytearray()
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
        if len(body) > limit:
            raise ValueError("body too large")


async def _discard(reader: asyncio.StreamReader, length: int) -> None:
    """Read and drop a body too large to keep, so the client can still read the answer."""
    while length > 0:
        length -= len(await reader.readexactly(min(length, 1 << 20)))


async def _send(
    writer: asyncio.StreamWriter, reply: Reply, keep_alive: bool, head_only: bool
) -> bool:
    """Write one reply; False when the connection must be closed afterwards."""
    if reply.action == "disconnect":
        return False
    if reply.action == "stall":
        await asyncio.sleep(reply.stall_s)
        return False
    if reply.load is not None:
        return await _send_loaded(writer, reply, keep_alive)
    if reply.delay_s > 0:
        await asyncio.sleep(reply.delay_s)
    cut = reply.action == "cut"
    events = reply.events
    if events is None:
        body = reply.body
        head = _head(reply, keep_alive, len(body))
        if head_only:
            writer.write(head)
        elif cut:
            writer.write(head + body[: len(body) // 2])
        else:
            writer.write(head + body)
    elif reply.event_gap_s <= 0:
        data = b"".join(_chunk(e) for e in events)
        writer.write(_head(reply, keep_alive, None) + data + (b"" if cut else b"0\r\n\r\n"))
    else:
        writer.write(_head(reply, keep_alive, None) + _chunk(events[0]))
        for i, event in enumerate(events[1:], 1):
            if i <= reply.paced_events:
                await writer.drain()
                await asyncio.sleep(reply.event_gap_s)
            writer.write(_chunk(event))
        if not cut:
            writer.write(b"0\r\n\r\n")
    await writer.drain()
    return not cut


async def _send_loaded(writer: asyncio.StreamWriter, reply: Reply, keep_alive: bool) -> bool:
    """A load-model reply (``evals.sim.loadmodel``): queue for a slot, then write each part
    at its absolute deadline; the slot is freed once the last part is written."""
    plan = reply.load
    assert plan is not None
    cut = reply.action == "cut"
    try:
        await plan.start()
        if reply.events is None:
            body = reply.body[: len(reply.body) // 2] if cut else reply.body
            await plan.wait_until(plan.done_at)
            writer.write(_head(reply, keep_alive, len(reply.body)) + body)
            plan.sent(plan.done_at)
        else:
            events, head = reply.events, _head(reply, keep_alive, None)
            for deadline, start, end in plan.stream_groups(len(events)):
                await plan.wait_until(deadline)
                writer.write(head + b"".join(_chunk(e) for e in events[start:end]))
                plan.sent(deadline)
                head = b""
                await writer.drain()
            await plan.wait_until(plan.done_at)  # a cut stream still decodes to the end
            if not cut:
                writer.write(b"0\r\n\r\n")
        plan.finish()
    finally:
        plan.close()  # frees a slot still held, writes the log record
    await writer.drain()
    return not cut


class Sim:
    """A running simulator: the asyncio server, its App and its open connections."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.server: asyncio.Server | None = None
        self.host = ""
        self.port = 0
        self._conns: set[asyncio.Task[Any]] = set()

    @classmethod
    async def start(cls, host: str, port: int, config: SimConfig, log_path: str | None) -> Sim:
        sim = cls(App(config, log_path))
        try:
            sim.server = await asyncio.start_server(sim._connection, host, port, backlog=2048)
        except BaseException:
            sim.app.close()  # the request log it opened
            raise
        sim.host = host
        sim.port = sim.server.sockets[0].getsockname()[1]
        return sim

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    async def close(self) -> None:
        """Stop accepting, drop open connections (including stalled ones), close the log."""
        if self.server is not None:
            self.server.close()
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.gather(*self._conns, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()
        self.app.close()

    async def _answer(
        self, reader: asyncio.StreamReader, method: str, target: str, headers: dict[str, str]
    ) -> Reply | None:
        """Read the body and let the app answer; None: too large, answer 413 and close.

        The app may allow a path a larger body (``/v1/files`` uploads) or answer a body over
        its limit itself, which is then read and dropped so the client gets that answer."""
        limit = max(MAX_BODY, self.app.body_limit(target) or 0)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader, limit)
        else:
            length = int(headers.get("content-length") or 0)
            if length > limit:
                reply = self.app.oversized(target, length)
                if reply is not None:
                    await _discard(reader, length)
                return reply
            body = await reader.readexactly(length) if length else b""
        return self.app.handle(method, target, body, headers.get("content-type", ""))

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, version = lines[0].split(" ", 2)
                except ValueError:
                    writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    return
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                conn = headers.get("connection", "").lower()
                keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                reply = await self._answer(reader, method, target, headers)
                if reply is None:
                    writer.write(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n")
                    return
                if not await _send(writer, reply, keep_alive, method == "HEAD") or not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        except asyncio.CancelledError:
            return  # close() cancels us; returning avoids 3.11's noisy streams callback
        finally:
            self._conns.discard(task)
            with contextlib.suppress(Exception):
                writer.close()


class SimHandle:
    """A simulator running on a background thread (for tests); ``stop()`` shuts it down."""

    def __init__(self, sim: Sim, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self._sim, self._loop, self._thread = sim, loop, thread
        self.host = sim.host
        self.port = sim.port
        self.base_url = sim.base_url

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._sim.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> SimHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    config_path: str | None = None,
    log_path: str | None = None,
) -> SimHandle:
    """Start a simulator on a daemon thread and return once it accepts connections."""
    config = load_config(config_path)
    loop = new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            started["sim"] = loop.run_until_complete(Sim.start(host, port, config, log_path))
        except BaseException as exc:  # reported to the caller below
            started["error"] = exc
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="evals-sim", daemon=True)
    thread.start()
    ready.wait()
    if "error" in started:
        raise started["error"]
    return SimHandle(started["sim"], loop, thread)


def _listen_error(exc: OSError, host: str, port: int, log_path: str | None) -> InputError:
    """Why `evals sim` could not start, as one line that says what to do."""
    reason = exc.strerror or str(exc)
    if exc.filename is not None:  # opening the request log, not binding
        return InputError(f"cannot open the request log ({reason}): pass --log FILE", log_path)
    if exc.errno == errno.EADDRINUSE:
        return InputError(
            f"port {port} on {host} is already in use: stop what listens there, "
            "or pass --port with a free port (0 picks one)"
        )
    if exc.errno == errno.EACCES:
        return InputError(
            f"no permission to listen on {host}:{port} ({reason}): "
            "pass --port 1024 or higher (0 picks a free one)"
        )
    return InputError(f"cannot listen on {host}:{port} ({reason}): check --host and --port")


def serve(host: str, port: int, config_path: str | None, log_path: str | None) -> None:
    """Run the simulator in the foreground until SIGINT/SIGTERM, then exit cleanly."""
    config = load_config(config_path)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            sim = await Sim.start(host, port, config, log_path)
        except OSError as exc:
            raise _listen_error(exc, host, port, log_path) from None
        print(f"sim listening on {sim.base_url}", file=sys.stderr, flush=True)
        try:
            await stop.wait()
        finally:
            await sim.close()

    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=new_event_loop) as run:
        run.run(main())
