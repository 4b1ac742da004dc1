"""Load model: a fixed number of decoding slots per model, with a FIFO queue in front.

On for a model with ``slots: N`` (chat completions, plain and streamed; other endpoints keep
the ``latency_ms`` timing). Like llama.cpp's ``--parallel N`` or a vLLM batch, at most N
requests of that model are served at once; the others wait, in order of arrival, for a slot.
Once it holds a slot a request is timed as::

    slot_s        the slot is acquired (= arrival when one is free)
    + latency_s   latency_ms (+/- latency_jitter_ms, by hash), spent holding the slot
    + prefill_s   prompt_tokens * prefill_ms_per_token
    = token 0     the first output token; token k is ready at token 0 + k * decode_s_per_token
    done_s        the last output token: token 0 + (completion_tokens - 1) * decode

so TTFT = queue_s + latency_s + prefill_s, e2e = TTFT + (completion_tokens - 1) * decode
and one slot serves 1 / (latency_s + prefill_s + (completion_tokens - 1) * decode) requests
per second. A reasoning model's hidden reasoning tokens come first (they are part of
completion_tokens), so its first visible token is token ``reasoning_tokens``.

What is sent when:

- a stream sends its response headers, the role frame and the first content frame at the
  first visible token, each further content frame at its token, and the finish / usage /
  ``[DONE]`` frames with the last one. Plain text goes one token (4 characters) per frame,
  so a client counts ``completion_tokens - reasoning_tokens`` content frames and measures
  the decode time between them. Tool-call and ``logprobs`` frames (their own granularity)
  are spread over the visible tokens, the last with the last token.
- a non-streamed reply sends headers and body together at ``done_s``.

The slot is released when the last frame is written (not when the client has read it), and
the next request in the queue starts its prefill at that instant. A client that goes away
is noticed at its next write (a queued one keeps its place until its slot comes), which
frees the slot. Deadlines are absolute (computed from ``slot_s``, never accumulated
sleeps), so timer lateness does not add up over a stream; the sim's event loop
(``new_event_loop``) wakes within ~0.2 ms of a deadline rather than asyncio's 0.5-2 ms.

Request log (``evals.sim.reqlog``): the record of a load-model request is written when the
request is over (so in order of completion), with an extra ``load`` object::

    {"slots": 2,                    # the model's slots
     "slots_busy_at_arrival": 2,    # slots held by other requests when it arrived
     "queued_at_arrival": 1,        # requests already waiting ahead of it
     "arrived_s": 1234.5,           # when the request was handled (its body read)
     "slot_s": 1234.9,              # when it got a slot
     "first_token_s": 1235.0,       # first visible token (first content frame of a stream;
                                    # = done_s when nothing visible is sent)
     "done_s": 1235.3,              # last token: the body or the last frames were sent
     "queue_s": 0.4,                # slot_s - arrived_s
     "latency_s": 0.0,              # latency_ms (with jitter) / 1000
     "prefill_s": 0.05,             # prompt_tokens * prefill_ms_per_token / 1000
     "decode_s_per_token": 0.01,    # decode_ms_per_token / 1000
     "ttft_s": 0.45,                # first_token_s - arrived_s
     "e2e_s": 0.75,                 # done_s - arrived_s
     "output_tokens": 31,           # completion_tokens (hidden reasoning tokens included)
     "content_frames": 31,          # content frames of the stream (null when not streamed)
     "late_s": 0.0004,              # worst lateness of a write against its deadline
     "completed": true}             # false when the client went away / the sim stopped

Times ending in ``_s`` that are instants (arrived, slot, first_token, done) are absolute
``time.perf_counter()`` seconds; on Linux that is the system-wide CLOCK_MONOTONIC, so a
client on the same host (in any process) can compare its own ``time.perf_counter()``
readings with them. ``first_token_s`` and ``done_s`` are the model's deadlines; the actual
writes are at most ``late_s`` after them.
"""

from __future__ import annotations

import asyncio
import math
import select
import selectors
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from evals.sim.config import ModelConfig
from evals.sim.reqlog import RequestLog
from evals.sim.usage import Answer


class PreciseEpollSelector(getattr(selectors, "EpollSelector", selectors.DefaultSelector)):
    """epoll whose timed waits end within ~0.1 ms of the deadline instead of 0.5-2 ms late.

    ``epoll_wait`` counts whole milliseconds (and CPython rounds the timeout up twice), so an
    asyncio timer fires up to 2 ms late. Here a timed wait is done by ``select()`` on the epoll
    descriptor itself (microseconds; it turns readable when any registered socket is ready),
    then the ready events are collected without blocking. Only idle waits take this path; a
    busy loop (timeout 0) is unchanged.
    """

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is not None and timeout > 0:
            fd = self._selector.fileno()  # type: ignore[attr-defined]
            if fd < 1024:  # select()'s FD_SETSIZE
                try:
                    select.select([fd], [], [], timeout)
                except InterruptedError:
                    return []
                timeout = 0
        return super().select(timeout)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The sim's event loop: asyncio's, with ``PreciseEpollSelector`` where epoll exists."""
    if not hasattr(selectors, "EpollSelector"):
        return asyncio.new_event_loop()
    return asyncio.SelectorEventLoop(PreciseEpollSelector())


class SlotPool:
    """N slots handed out first come, first served; a released slot goes straight to the
    longest waiter, whose start time is the instant of release."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.busy = 0
        self._waiters: deque[asyncio.Future[float]] = deque()

    @property
    def queued(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> float:
        """Wait for a slot; returns when it was granted (``time.perf_counter()``)."""
        if self.busy < self.slots and not self._waiters:
            self.busy += 1
            return time.perf_counter()
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # granted just as we were cancelled: pass it on
            else:
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(time.perf_counter())  # busy count unchanged: handed over
                return
        self.busy -= 1


class LoadModel:
    """The slot pools of every model with ``slots`` (one per model name)."""

    def __init__(self, models: Mapping[str, ModelConfig]) -> None:
        self.pools = {n: SlotPool(m.slots) for n, m in models.items() if m.slots is not None}

    def plan(
        self,
        model: ModelConfig,
        ans: Answer,
        stream: bool,
        latency_s: float,
        logprobs: list[dict[str, Any]] | None,
    ) -> LoadPlan | None:
        """The timing plan of one admitted chat request, or None without a load model."""
        pool = self.pools.get(model.name)
        if pool is None:
            return None
        if not stream:
            frames = 0
        elif ans.tool_calls:
            frames = 3 * len(ans.tool_calls)  # payloads.tool_call_deltas
        elif logprobs is not None:
            frames = len(logprobs)
        else:
            frames = math.ceil(len(ans.text) / 4)  # payloads.CHUNK_CHARS
        return LoadPlan(
            pool=pool,
            latency_s=latency_s,
            prefill_s=ans.prompt_tokens * model.prefill_ms_per_token / 1000,
            decode_s=model.decode_ms_per_token / 1000,
            tokens=ans.completion_tokens,
            hidden=ans.reasoning_tokens,
            frames=frames,
            stream=stream,
        )


class LoadPlan:
    """One request's slot, deadlines and log record (``Reply.load``; the server runs it)."""

    def __init__(
        self,
        pool: SlotPool,
        latency_s: float,
        prefill_s: float,
        decode_s: float,
        tokens: int,
        hidden: int,
        frames: int,
        stream: bool,
    ) -> None:
        self.pool = pool
        self.latency_s, self.prefill_s, self.decode_s = latency_s, prefill_s, decode_s
        self.tokens, self.hidden, self.frames, self.stream = tokens, hidden, frames, stream
        self.arrived = time.perf_counter()
        self.busy_at_arrival = pool.busy
        self.queued_at_arrival = pool.queued
        self.slot: float | None = None
        self.held = False
        self.late = 0.0
        self.completed = False
        self.rec: dict[str, Any] | None = None
        self.log: RequestLog | None = None

    def record(self, rec: dict[str, Any] | None, log: RequestLog | None) -> None:
        """Keep the log record; it is written with the ``load`` figures when the request ends."""
        self.rec, self.log = rec, log

    # -- deadlines (valid once the slot is held) --------------------------------------------

    def token_at(self, k: int) -> float:
        """When output token ``k`` (0-based, hidden reasoning tokens first) is ready."""
        assert self.slot is not None
        return self.slot + self.latency_s + self.prefill_s + k * self.decode_s

    @property
    def done_at(self) -> float:
        return self.token_at(max(self.tokens - 1, 0))

    @property
    def first_token_at(self) -> float:
        visible = self.tokens - self.hidden
        return self.token_at(self.hidden) if visible > 0 else self.done_at

    def frame_at(self, i: int) -> float:
        """When content frame ``i`` of ``frames`` is sent: at its visible token (one token
        per frame for text; other frames spread evenly, the last with the last token)."""
        visible = self.tokens - self.hidden
        if visible <= 0:
            return self.done_at
        k = i if self.frames == visible else math.ceil((i + 1) * visible / self.frames) - 1
        return self.token_at(self.hidden + min(k, visible - 1))

    def stream_groups(self, count: int) -> list[tuple[float, int, int]]:
        """``(deadline, start, end)`` slices of a stream's ``count`` frames: the role frame
        with the first content frame, each content frame at its token, the rest at done."""
        k = min(self.frames, count - 1)
        if k <= 0:
            return [(self.done_at, 0, count)]
        groups = [(self.frame_at(0), 0, 2)]
        groups += [(self.frame_at(i), i + 1, i + 2) for i in range(1, k)]
        if k + 1 < count:
            groups.append((self.done_at, k + 1, count))
        return groups

    # -- the server's side ------------------------------------------------------------------

    async def start(self) -> None:
        """Queue for a slot (FIFO)."""
        self.slot = await self.pool.acquire()
        self.held = True

    async def wait_until(self, deadline: float) -> None:
        """Sleep until the absolute ``deadline`` (perf_counter seconds)."""
        delay = deadline - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    def sent(self, deadline: float) -> None:
        """Note a write meant for ``deadline`` (for ``late_s``)."""
        self.late = max(self.late, time.perf_counter() - deadline)

    def finish(self) -> None:
        """The last frame is written: free the slot for the next in the queue."""
        if self.held:
            self.held, self.completed = False, True
            self.pool.release()

    def close(self) -> None:
        """Release a slot still held (client gone, sim stopped) and write the log record."""
        if self.held:
            self.held = False
            self.pool.release()
        if self.rec is not None and self.log is not None:
            self.rec["load"] = self.figures()
            self.log.write(self.rec)
            self.rec = None

    def figures(self) -> dict[str, Any]:
        """The ``load`` object of the log record (fields in the module docstring)."""
        got = self.slot is not None
        first = self.first_token_at if got else None
        done = self.done_at if got else None
        return {
            "slots": self.pool.slots,
            "slots_busy_at_arrival": self.busy_at_arrival,
            "queued_at_arrival": self.queued_at_arrival,
            "arrived_s": self.arrived,
            "slot_s": self.slot,
            "first_token_s": first,
            "done_s": done,
            "queue_s": None if self.slot is None else self.slot - self.arrived,
            "latency_s": self.latency_s,
            "prefill_s": self.prefill_s,
            "decode_s_per_token": self.decode_s,
            "ttft_s": None if first is None else first - self.arrived,
            "e2e_s": None if done is None else done - self.arrived,
            "output_tokens": self.tokens,
            "content_frames": self.frames if self.stream else None,
            "late_s": self.late,
            "completed": self.completed,
        }
