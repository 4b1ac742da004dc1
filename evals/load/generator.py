"""Send one model's planned requests at a target rate (open loop) or N back to back
(closed loop), and time every one of them.

Open loop: a sender coroutine sleeps until each scheduled time (absolute deadlines on
the event loop's clock, `loop.time()`, so a slow send never shifts the ones after it),
records how late it woke (actual - scheduled) and starts the request as a task; it
never waits for answers. A request that would pass `max_in_flight` is dropped and
counted, so a dead server cannot pile up unbounded work. No retries: a load test
reports errors, it does not hide them.

Every time is in seconds on the loop clock, relative to the step's start (`t0`);
TTFT, chunk times and e2e are relative to the request's own `sent_s`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from evals.run.plan import Job

DEFAULT_MAX_IN_FLIGHT = 1024
SPIN_S = 0.002  # the last part of a wait, spent yielding (see sleep_until)
LEAD_S = 0.05  # the first send is this far after the step starts (setup is not lateness)
STREAM_OPTIONS = {"include_usage": True}
ERROR_KINDS = ("429", "5xx", "timeout", "connection", "other")


@dataclass(slots=True)
class RequestRecord:
    """One request of a load step: what was sent (the job) and how it went."""

    index: int
    suite: str
    case_id: str
    prompt: str
    model: str
    repeat: int
    scheduled_s: float  # when it was due, from the step's start
    sent_s: float  # when it was started
    lateness_s: float  # sent_s - scheduled_s
    ttft_s: float | None = None  # first content chunk, from sent_s
    chunk_s: list[float] = field(default_factory=list)  # each content chunk, from sent_s
    e2e_s: float | None = None  # the stream's end (or the error), from sent_s
    output: str | None = None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    finish_reason: str | None = None
    error: str | None = None  # one of ERROR_KINDS, None when it succeeded
    error_message: str | None = None
    status: int | None = None  # the HTTP status of an error response
    tokens_from_chunks: bool = False  # no usage was sent: completion_tokens = content chunks
    job: Job | None = None  # the planned sample (for grading and storing), not serialized

    @property
    def ok(self) -> bool:
        return self.error is None

    def itl_s(self) -> list[float]:
        """Gaps between consecutive content chunks (after the first)."""
        return [b - a for a, b in itertools.pairwise(self.chunk_s)]

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__ if name != "job"}
        if self.job is not None:
            data["vars"] = self.job.case.vars
            data["request"] = self.job.request.body
        return data


@dataclass
class StepResult:
    """One (model, rate) or (model, concurrency) step."""

    model: str
    mode: str  # "open" or "closed"
    arrival: str  # constant | poisson | closed
    rate: float | None  # target requests/s (open loop)
    concurrency: int | None  # workers (closed loop)
    scheduled: int  # requests the schedule asked for (closed loop: started)
    records: list[RequestRecord]
    dropped: int  # not sent: max_in_flight was reached
    window_s: float  # the planned length of the step (its schedule or duration)
    wall_s: float  # from the step's start to the last answer (at least window_s)
    max_in_flight: int


def error_kind(exc: BaseException) -> tuple[str, int | None]:
    """429 / 5xx / timeout / connection / other, from the SDK's exception types."""
    import openai

    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return "timeout", None
    if isinstance(exc, openai.APIConnectionError):
        return "connection", None
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return "429", status
        if status >= 500:
            return "5xx", status
        return "other", status
    return "other", None


class JobCycle:
    """The planned jobs, in order, then again from the first (drawn lazily)."""

    def __init__(self, jobs: Iterable[Job]):
        self._source: Iterator[Job] | None = iter(jobs)
        self._seen: list[Job] = []
        self._index = 0

    def next(self) -> Job:
        if self._source is not None:
            job = next(self._source, None)
            if job is not None:
                self._seen.append(job)
                return job
            self._source = None
            if not self._seen:
                raise ValueError("no requests planned")
        job = self._seen[self._index % len(self._seen)]
        self._index += 1
        return job


def _body(job: Job) -> dict[str, Any]:
    body = dict(job.request.body)
    body.pop("stream", None)
    body.pop("stream_options", None)
    return body


async def _stream(client: AsyncOpenAI, record: RequestRecord, body: dict[str, Any], t0: float):
    """Stream one chat completion, filling `record` in; never raises for a fault.

    The body is posted as it is and each chunk is read as a plain dict (the SDK's typed
    request transform and chunk models cost about 0.7 ms a request, which would count as
    the endpoint's latency); status errors, timeouts and disconnects come from the SDK."""
    from openai import AsyncStream

    from evals.redact import redact

    loop = asyncio.get_running_loop()
    start = t0 + record.sent_s
    pieces: list[str] = []
    try:
        stream = await client.post(
            "/chat/completions",
            body={**body, "stream": True, "stream_options": STREAM_OPTIONS},
            cast_to=object,
            stream=True,
            stream_cls=AsyncStream[dict[str, Any]],
        )
        async for chunk in stream:
            now = loop.time() - start
            usage = chunk.get("usage")
            if usage:
                record.completion_tokens = usage.get("completion_tokens")
                record.prompt_tokens = usage.get("prompt_tokens")
            choices = chunk.get("choices")
            if not choices:
                continue
            choice = choices[0]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content or delta.get("tool_calls"):
                if record.ttft_s is None:
                    record.ttft_s = now
                record.chunk_s.append(now)
                if content:
                    pieces.append(content)
            if choice.get("finish_reason"):
                record.finish_reason = choice["finish_reason"]
        record.output = "".join(pieces)
        if record.completion_tokens is None and record.chunk_s:  # llama_cpp.server sends none
            record.completion_tokens, record.tokens_from_chunks = len(record.chunk_s), True
        if record.finish_reason is None:
            record.error = "other"
            record.error_message = "the stream ended without a finish_reason (cut)"
    except Exception as exc:  # every fault is a result of a load test
        record.error, record.status = error_kind(exc)
        record.error_message = redact(f"{type(exc).__name__}: {exc}")[:500]
        record.output = "".join(pieces) or None
    finally:
        record.e2e_s = loop.time() - start


async def sleep_until(loop: asyncio.AbstractEventLoop, deadline: float) -> None:
    """Wake at `deadline` (loop clock), not a millisecond after: the loop's poll timeout
    is rounded up to whole milliseconds, so the last SPIN_S is spent yielding instead."""
    while (wait := deadline - loop.time()) > SPIN_S:
        await asyncio.sleep(wait - SPIN_S)
    while loop.time() < deadline:
        await asyncio.sleep(0)  # other requests' chunks are still read meanwhile


async def warm_up(client: AsyncOpenAI, job: Job, timeout_s: float) -> str | None:
    """One unrecorded request before a model's first step (connection, SDK imports);
    returns its error, or None."""
    loop = asyncio.get_running_loop()
    record = _record(-1, job, 0.0, 0.0)
    try:
        await asyncio.wait_for(_stream(client, record, _body(job), loop.time()), timeout_s)
    except TimeoutError:
        return "timeout"
    return None if record.ok else f"{record.error}: {record.error_message}"


def _record(index: int, job: Job, scheduled_s: float, sent_s: float) -> RequestRecord:
    return RequestRecord(
        index=index,
        suite=job.suite.name,
        case_id=str(job.case.id),
        prompt=job.prompt,
        model=job.model.id,
        repeat=job.repeat,
        scheduled_s=scheduled_s,
        sent_s=sent_s,
        lateness_s=sent_s - scheduled_s,
        job=job,
    )


async def open_loop(
    client: AsyncOpenAI,
    jobs: JobCycle,
    offsets: list[float],
    *,
    model: str,
    rate: float,
    arrival: str,
    window_s: float,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
) -> StepResult:
    """Send a job at each offset (s) without waiting for answers; time them all."""
    loop = asyncio.get_running_loop()
    bodies = [(job, _body(job)) for job in (jobs.next() for _ in offsets)]  # before the clock
    records: list[RequestRecord] = []
    tasks: set[asyncio.Task] = set()
    dropped = 0
    t0 = loop.time() + LEAD_S
    for index, (offset, (job, body)) in enumerate(zip(offsets, bodies, strict=True)):
        await sleep_until(loop, t0 + offset)
        sent = loop.time() - t0
        if len(tasks) >= max_in_flight:
            dropped += 1
            continue
        record = _record(index, job, offset, sent)
        records.append(record)
        task = asyncio.create_task(_stream(client, record, body, t0))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    end = max((r.sent_s + (r.e2e_s or 0.0) for r in records), default=0.0)
    return StepResult(
        model,
        "open",
        arrival,
        rate,
        None,
        len(offsets),
        records,
        dropped,
        window_s,
        max(window_s, end),
        max_in_flight,
    )


async def closed_loop(
    client: AsyncOpenAI,
    jobs: JobCycle,
    *,
    model: str,
    concurrency: int,
    duration_s: float | None = None,
    requests: int | None = None,
) -> StepResult:
    """`concurrency` workers, each sending its next request as soon as one is answered,
    until `duration_s` has passed (no new start after it) or `requests` were started."""
    loop = asyncio.get_running_loop()
    records: list[RequestRecord] = []
    counter = itertools.count()
    t0 = loop.time()

    async def worker() -> None:
        while True:
            now = loop.time() - t0
            if duration_s is not None and now >= duration_s:
                return
            index = next(counter)
            if requests is not None and index >= requests:
                return
            job = jobs.next()
            record = _record(index, job, now, now)
            records.append(record)
            await _stream(client, record, _body(job), t0)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    end = max((r.sent_s + (r.e2e_s or 0.0) for r in records), default=0.0)
    records.sort(key=lambda r: r.index)
    window = duration_s if duration_s is not None else 0.0
    return StepResult(
        model,
        "closed",
        "closed",
        None,
        concurrency,
        len(records),
        records,
        0,
        window,
        max(window, end),
        concurrency,
    )
