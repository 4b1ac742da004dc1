"""Progress while a run is going: a live rich bar on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

LOG_INTERVAL_S = 5.0


class Progress:
    def __init__(self, total: int, stream: TextIO = sys.stderr):
        self.total = total
        self.done = 0
        self.errors = 0
        self.spent_usd = 0.0
        self.stream = stream
        self.started = time.monotonic()
        self._last_log = self.started
        self._bar: Any = None
        if stream.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[extra]}"),
                TimeRemainingColumn(),
                transient=True,
            )
            self._task = self._bar.add_task("requests", total=total, extra="")
            self._bar.start()

    def _extra(self) -> str:
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        return f"{rate:.1f}/s  errors {self.errors}  spent ${self.spent_usd:.4f}"

    def advance(self, error: bool, cost_usd: float | None) -> None:
        self.done += 1
        self.errors += int(error)
        self.spent_usd += cost_usd or 0.0
        if self._bar is not None:
            self._bar.update(self._task, advance=1, extra=self._extra())
            return
        now = time.monotonic()
        if now - self._last_log >= LOG_INTERVAL_S or self.done == self.total:
            self._last_log = now
            print(f"progress: {self.done}/{self.total}  {self._extra()}", file=self.stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
