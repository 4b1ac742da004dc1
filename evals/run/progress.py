"""Progress while a run is going: a live table on a terminal, log lines otherwise.

It reads the engine's per-model counters on a timer, so the request path pays
nothing for it however fast results arrive.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any, TextIO

from evals.engine.scheduler import ModelStats

TTY_INTERVAL_S = 0.5
LOG_INTERVAL_S = 5.0


def _eta(stats: ModelStats, rate: float) -> str:
    left = stats.total - stats.done
    if left <= 0:
        return "done"
    if rate <= 0:
        return "?"
    seconds = int(left / rate)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    def __init__(self, stats: dict[str, ModelStats], stream: TextIO = sys.stderr):
        self.stats = stats
        self.stream = stream
        self.started = time.monotonic()
        self.tty = stream.isatty()
        self._live: Any = None

    def _rate(self, stats: ModelStats) -> float:
        return stats.done / max(time.monotonic() - self.started, 1e-9)

    def lines(self) -> list[str]:
        out = []
        for model, s in self.stats.items():
            rate = self._rate(s)
            out.append(
                f"progress {model}: {s.done}/{s.total} in-flight {s.in_flight} "
                f"{rate:.1f}/s eta {_eta(s, rate)} spent ${s.spend_usd:.4f} "
                f"retries {s.retries} (backoff {s.backoff_s:.1f}s) 429s {s.rate_limited} "
                f"cached {s.cache_hits} errors {s.errors}"
            )
        return out

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for header in (
            "model",
            "done",
            "in flight",
            "rate/s",
            "ETA",
            "spent",
            "retries",
            "backoff",
            "429s",
            "cached",
            "errors",
        ):
            table.add_column(header, justify="left" if header == "model" else "right")
        for model, s in self.stats.items():
            rate = self._rate(s)
            table.add_row(
                model,
                f"{s.done}/{s.total}",
                str(s.in_flight),
                f"{rate:.1f}",
                _eta(s, rate),
                f"${s.spend_usd:.4f}",
                str(s.retries),
                f"{s.backoff_s:.1f}s",
                str(s.rate_limited),
                str(s.cache_hits),
                str(s.errors),
            )
        return table

    async def run(self) -> None:
        """Refresh until cancelled."""
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(file=self.stream), transient=True)
            self._live.start()
        interval = TTY_INTERVAL_S if self.tty else LOG_INTERVAL_S
        while True:
            await asyncio.sleep(interval)
            self.refresh()

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._table())
            return
        for line in self.lines():
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        for line in self.lines():
            print(line, file=self.stream, flush=True)
