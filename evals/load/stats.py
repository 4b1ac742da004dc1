"""The figures of one load step, from its per-request records (pure).

- achieved_rate: completed requests / wall, where wall runs from the step's start to
  its last answer and is never shorter than the planned window (duration, or the
  schedule's length, n / rate), so a server that keeps up shows the target rate.
- TTFT, e2e: per successful request, from the moment it was started; ITL: every gap
  between consecutive content chunks of successful requests, pooled.
- output tokens/s: in total, the completion tokens of successful requests / wall; per
  request, completion tokens / (e2e - TTFT) (the decode speed after the first chunk).
- goodput: the share of the scheduled requests (dropped and errored ones included, and
  never meeting it) that succeeded within every SLO bound; a request's ITL for the
  bound is the mean gap between its chunks. None without an SLO.
- client_bound: the sender, not the server, may be the bottleneck: lateness p99 above
  5 ms, or one send later than the mean gap between sends (it fell behind).
- cost: per 1M input and output tokens from the model's price and blended 3:1
  (3 input : 1 output, as Artificial Analysis publishes); for an endpoint priced per
  hour, per 1M output tokens at the achieved throughput.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from evals.stats.descriptive import mean, percentile

if TYPE_CHECKING:
    from evals.load.generator import RequestRecord, StepResult
    from evals.pricing import Price

CLIENT_BOUND_LATENESS_S = 0.005
BLEND_INPUT, BLEND_OUTPUT = 3, 1
QUANTILES = (50, 90, 99)


def _pcts(name: str, values: list[float]) -> dict[str, float | None]:
    return {f"{name}_p{q}_s": percentile(values, q) for q in QUANTILES}


def decode_tokens_per_s(record: RequestRecord) -> float | None:
    """Completion tokens / (e2e - TTFT); None when it cannot be told."""
    tokens = record.completion_tokens
    if not tokens or record.ttft_s is None or record.e2e_s is None:
        return None
    decode = record.e2e_s - record.ttft_s
    return tokens / decode if decode > 0 else None


def meets_slo(record: RequestRecord, slo: dict[str, float]) -> bool:
    """A successful request within every bound (a bound it cannot be timed on fails)."""
    if not record.ok:
        return False
    if "ttft" in slo and (record.ttft_s is None or record.ttft_s > slo["ttft"]):
        return False
    if "e2e" in slo and (record.e2e_s is None or record.e2e_s > slo["e2e"]):
        return False
    if "itl" in slo:
        gaps = record.itl_s()
        if gaps and mean(gaps) > slo["itl"]:  # one chunk: no gap to exceed
            return False
    return True


def cost_figures(
    price: Price | None, price_per_hour: float | None, output_tokens_per_s: float | None
) -> dict[str, Any]:
    """USD per 1M tokens: input, output, blended 3:1, and what they rest on."""
    if price_per_hour is not None:
        per_output = None
        if output_tokens_per_s:
            per_output = price_per_hour / (output_tokens_per_s * 3600) * 1e6
        return {
            "cost_per_1m_input": None,
            "cost_per_1m_output": per_output,
            "cost_per_1m_blended": None,
            "cost_basis": "per_hour",
        }
    if price is None:
        return {
            "cost_per_1m_input": None,
            "cost_per_1m_output": None,
            "cost_per_1m_blended": None,
            "cost_basis": None,
        }
    blended = None
    if price.input is not None and price.output is not None:
        blended = (BLEND_INPUT * price.input + BLEND_OUTPUT * price.output) / (
            BLEND_INPUT + BLEND_OUTPUT
        )
    return {
        "cost_per_1m_input": price.input,
        "cost_per_1m_output": price.output,
        "cost_per_1m_blended": blended,
        "cost_basis": "per_token",
    }


def step_row(
    step: StepResult,
    slo: dict[str, float] | None = None,
    price: Price | None = None,
    price_per_hour: float | None = None,
) -> dict[str, Any]:
    """The JSON row of one step (see the module docstring for each figure)."""
    slo = slo or {}
    records = step.records
    good = [r for r in records if r.ok]
    wall = step.wall_s
    completion = sum(r.completion_tokens or 0 for r in good)
    prompt = sum(r.prompt_tokens or 0 for r in good)
    output_tps = completion / wall if wall > 0 else None
    errors = Counter(r.error for r in records if r.error is not None)
    lateness = [r.lateness_s for r in records] if step.mode == "open" else []
    late_p99 = percentile(lateness, 99)
    late_max = max(lateness) if lateness else None
    behind = bool(step.rate) and late_max is not None and late_max > 1.0 / step.rate
    client_bound = (late_p99 is not None and late_p99 > CLIENT_BOUND_LATENESS_S) or behind
    requests = step.scheduled
    goodput = None
    if slo and requests:
        goodput = sum(meets_slo(r, slo) for r in records) / requests
    per_request_tps = [v for r in good if (v := decode_tokens_per_s(r)) is not None]
    return {
        "model": step.model,
        "mode": step.mode,
        "rate": step.rate,
        "concurrency": step.concurrency,
        "arrival": step.arrival,
        "requests": requests,
        "sent": len(records),
        "completed": len(good),
        "dropped": step.dropped,
        "max_in_flight": step.max_in_flight,
        "wall_s": wall,
        "achieved_rate": len(good) / wall if wall > 0 else None,
        **_pcts("ttft", [r.ttft_s for r in good if r.ttft_s is not None]),
        **_pcts("itl", [gap for r in good for gap in r.itl_s()]),
        **_pcts("e2e", [r.e2e_s for r in good if r.e2e_s is not None]),
        "output_tokens": completion,
        # requests whose endpoint sent no usage: their output tokens are the content chunks
        "output_tokens_from_chunks": sum(r.tokens_from_chunks for r in good),
        "prompt_tokens": prompt,
        "output_tokens_per_s": output_tps,
        "output_tokens_per_s_per_request_p50": percentile(per_request_tps, 50),
        "errors": dict(sorted(errors.items())),
        "rate_limited": errors.get("429", 0),
        "goodput": goodput,
        "slo": {f"{key}_s": value for key, value in slo.items()},
        "lateness_p50_s": percentile(lateness, 50),
        "lateness_p99_s": late_p99,
        "lateness_max_s": late_max,
        "client_bound": client_bound,
        "price_per_hour": price_per_hour,
        **cost_figures(price, price_per_hour, output_tps),
    }
