"""Self-hosted endpoints priced per hour: busy time, and each request's share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

IDLE_GAP_S = 300.0
"""An hourly endpoint idle (nothing in flight) for longer than this is not billed for
the gap: an interrupted run resumed the next day is not charged for the night."""


@dataclass(frozen=True)
class HourlyCost:
    """What an endpoint priced per hour cost a run: `price_per_hour` x its busy time.

    `busy_s` runs from the first request sent to the last answer received (each
    request spans its stored `created_at` minus its `latency_s` to its `created_at`),
    less any idle gap longer than IDLE_GAP_S; `sent` counts the requests that went
    to the endpoint (errors included, cache replays not), which share the cost equally.
    """

    endpoint: str
    price_per_hour: float
    busy_s: float | None  # None: no request sent to it has a stored timing
    sent: int

    @property
    def spend_usd(self) -> float | None:
        """New spend on the endpoint: 0 when nothing was sent, None when it is unknown."""
        if not self.sent:
            return 0.0
        return None if self.busy_s is None else self.price_per_hour * self.busy_s / 3600.0

    @property
    def per_request_usd(self) -> float | None:
        """Each request's equal share; None when nothing was sent (all replayed) or untimed."""
        spend = self.spend_usd
        return spend / self.sent if self.sent and spend is not None else None


def busy_seconds(spans: Iterable[tuple[float, float]], idle_gap_s: float = IDLE_GAP_S) -> float:
    """Seconds from the first start to the last end of (start, end) spans, less the
    stretches longer than `idle_gap_s` in which no span was open."""
    total = 0.0
    first = last = None
    for start, end in sorted(spans):
        if last is not None and start - last > idle_gap_s:
            total += last - first
            first = last = None
        if first is None:
            first, last = start, end
        else:
            last = max(last, end)
    return total if first is None else total + last - first


def _epoch(stamp: Any) -> float | None:
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def hourly_endpoints(config: Mapping[str, Any]) -> dict[str, tuple[str, float]]:
    """model id -> (endpoint, price_per_hour) for the models of a run's config whose
    endpoint is priced per hour."""
    endpoints = config.get("endpoints") or {}
    found = {}
    for model in config.get("models") or []:
        rate = (endpoints.get(model.get("endpoint")) or {}).get("price_per_hour")
        if rate is not None:
            found[model["id"]] = (model["endpoint"], float(rate))
    return found


def endpoint_busy(
    config: Mapping[str, Any], results: Iterable[Any]
) -> dict[str, tuple[float | None, int]]:
    """endpoint -> (busy seconds, requests sent) over a run's stored samples.

    `results` are anything with model, cache_hit, latency_s and created_at
    (evals.store.ResultRow); a model's endpoint is the one the run's config names.
    Busy seconds are None when no request sent has a stored timing; cache replays
    were not sent and do not count.
    """
    by_model = {model["id"]: model["endpoint"] for model in config.get("models") or []}
    spans: dict[str, list[tuple[float, float]]] = {}
    sent: dict[str, int] = {}
    for result in results:
        endpoint = by_model.get(result.model)
        if endpoint is None or result.cache_hit:
            continue
        sent[endpoint] = sent.get(endpoint, 0) + 1
        end = _epoch(result.created_at)
        if end is not None and result.latency_s is not None:
            spans.setdefault(endpoint, []).append((end - result.latency_s, end))
    return {
        endpoint: (busy_seconds(spans[endpoint]) if endpoint in spans else None, count)
        for endpoint, count in sent.items()
    }


def hourly_costs(config: Mapping[str, Any], results: Iterable[Any]) -> dict[str, HourlyCost]:
    """model id -> its endpoint's HourlyCost, for a run's models on hourly endpoints."""
    by_model = hourly_endpoints(config)
    busy = endpoint_busy(config, results) if by_model else {}
    return {
        model: HourlyCost(endpoint, rate, *busy.get(endpoint, (None, 0)))
        for model, (endpoint, rate) in by_model.items()
    }
