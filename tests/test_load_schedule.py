"""`evals load`'s pure parts: schedules, flag parsing, and the figures of a step, checked
against numbers worked out by hand here."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from evals.errors import InputError
from evals.load.generator import RequestRecord, StepResult
from evals.load.schedule import arrivals, parse_counts, parse_duration, parse_rates, parse_slo
from evals.load.stats import cost_figures, meets_slo, step_row
from evals.pricing import Price

# --- schedules ---------------------------------------------------------------


def test_constant_sends_every_one_over_rate_within_the_duration() -> None:
    offsets = arrivals(5, duration_s=2.0)
    assert offsets == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8])
    assert arrivals(4, requests=3) == pytest.approx([0.0, 0.25, 0.5])
    assert len(arrivals(10, duration_s=2.0)) == 20  # 10 x 2 s, not 21 (2.0 is outside)
    assert len(arrivals(3, duration_s=0.5)) == 2  # 0 and 0.333


def test_poisson_gaps_are_exponential_with_mean_one_over_rate() -> None:
    rate = 10.0
    offsets = arrivals(rate, requests=20_001, arrival="poisson", seed=7)
    gaps = [b - a for a, b in zip(offsets, offsets[1:], strict=False)]
    assert offsets[0] == 0.0 and all(g > 0 for g in gaps)
    # 20,000 exponential gaps: the mean's standard error is 0.1 / sqrt(20000) = 0.0007
    assert statistics.fmean(gaps) == pytest.approx(1 / rate, rel=0.03)
    # an exponential's standard deviation equals its mean (constant gaps would give 0)
    assert statistics.pstdev(gaps) / statistics.fmean(gaps) == pytest.approx(1.0, abs=0.05)
    # the gaps are a seeded random.Random's exponential draws
    rng = random.Random(7)
    assert gaps[:3] == pytest.approx([rng.expovariate(rate) for _ in range(3)])


def test_poisson_is_reproducible_by_seed_and_bounded_by_the_duration() -> None:
    first = arrivals(20, duration_s=30.0, arrival="poisson", seed=3)
    assert first == arrivals(20, duration_s=30.0, arrival="poisson", seed=3)
    assert first != arrivals(20, duration_s=30.0, arrival="poisson", seed=4)
    assert all(0 <= t < 30.0 for t in first)
    # a Poisson count over 30 s at 20/s: mean 600, standard deviation sqrt(600) = 24.5
    assert abs(len(first) - 600) < 5 * math.sqrt(600)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0, "duration_s": 1.0},
        {"rate": -1, "duration_s": 1.0},
        {"rate": 1, "duration_s": 1.0, "requests": 3},
        {"rate": 1},
        {"rate": 1, "requests": 0},
        {"rate": 1, "duration_s": 1.0, "arrival": "bursty"},
    ],
)
def test_a_schedule_that_cannot_be_made_is_bad_input(kwargs: dict) -> None:
    rate = kwargs.pop("rate")
    with pytest.raises(InputError):
        arrivals(rate, **kwargs)


# --- flags -------------------------------------------------------------------


def test_parse_rates_durations_counts_and_slo() -> None:
    assert parse_rates("1,2,5,10") == [1.0, 2.0, 5.0, 10.0]
    assert parse_rates("0.5") == [0.5]
    assert parse_duration("60s") == 60.0
    assert parse_duration("2m") == 120.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("10") == 10.0
    assert parse_counts("1,8,32") == [1, 8, 32]
    assert parse_slo("ttft=0.5s,e2e=5s,itl=50ms") == {"ttft": 0.5, "e2e": 5.0, "itl": 0.05}


@pytest.mark.parametrize("text", ["", "1,x", "0", "-2", "1,,2", "inf", "nan", "fast"])
def test_a_bad_rate_is_one_clear_message(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_rates(text)
    assert caught.value.render().startswith("--rate ")
    assert "requests per second" in caught.value.render()


@pytest.mark.parametrize("text", ["", "1 minute", "0s", "-1s", "5 parsecs", "ms"])
def test_a_bad_duration_is_bad_input(text: str) -> None:
    with pytest.raises(InputError, match="--duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    "text", ["ttft", "ttft=", "tpot=1s", "ttft=1s,ttft=2s", "e2e=fast", "itl=0ms"]
)
def test_a_bad_slo_is_bad_input(text: str) -> None:
    with pytest.raises(InputError, match="--slo"):
        parse_slo(text)


@pytest.mark.parametrize("text", ["0", "1,x", "-1", "2.5", ""])
def test_a_bad_concurrency_sweep_is_bad_input(text: str) -> None:
    with pytest.raises(InputError, match="--concurrency-sweep"):
        parse_counts(text)


# --- figures of a step ---------------------------------------------------------


def _rec(index: int, lateness: float, **fields) -> RequestRecord:
    return RequestRecord(
        index=index,
        suite="s",
        case_id=str(index),
        prompt="p",
        model="m",
        repeat=0,
        scheduled_s=float(index),
        sent_s=index + lateness,
        lateness_s=lateness,
        **fields,
    )


def _step(records: list[RequestRecord], **overrides) -> StepResult:
    values = {
        "model": "m",
        "mode": "open",
        "arrival": "constant",
        "rate": 3.0,
        "concurrency": None,
        "scheduled": 6,
        "records": records,
        "dropped": 1,
        "window_s": 2.0,
        "wall_s": 2.0,
        "max_in_flight": 5,
    }
    return StepResult(**{**values, **overrides})


RECORDS = [
    _rec(0, 0.001, ttft_s=0.1, chunk_s=[0.1, 0.15, 0.25], e2e_s=0.3, completion_tokens=10,
         prompt_tokens=20, output="a", finish_reason="stop"),
    _rec(1, 0.002, ttft_s=0.2, chunk_s=[0.2, 0.3], e2e_s=0.5, completion_tokens=4,
         prompt_tokens=20, output="b", finish_reason="stop"),
    _rec(2, 0.003, ttft_s=0.4, chunk_s=[0.4], e2e_s=0.4, completion_tokens=1,
         prompt_tokens=20, output="c", finish_reason="stop"),
    _rec(3, 0.004, e2e_s=0.01, error="429", status=429),
    _rec(4, 0.005, e2e_s=0.02, error="5xx", status=503),
]  # fmt: skip
SLO = {"ttft": 0.25, "e2e": 0.45, "itl": 0.08}


def test_step_figures_by_hand() -> None:
    row = step_row(_step(RECORDS), SLO, Price(input=0.15, output=0.60))
    assert (row["requests"], row["sent"], row["completed"], row["dropped"]) == (6, 5, 3, 1)
    assert row["achieved_rate"] == pytest.approx(3 / 2.0)
    # TTFT of the 3 successes, sorted 0.1 0.2 0.4; p90 sits at position 2 x 0.9 = 1.8
    assert row["ttft_p50_s"] == pytest.approx(0.2)
    assert row["ttft_p90_s"] == pytest.approx(0.2 + 0.8 * 0.2)
    assert row["ttft_p99_s"] == pytest.approx(0.2 + 0.98 * 0.2)
    # ITL: gaps 0.05, 0.10 (request 0) and 0.10 (request 1); request 2 has one chunk
    assert row["itl_p50_s"] == pytest.approx(0.1)
    assert row["itl_p99_s"] == pytest.approx(0.1)
    # e2e 0.3 0.4 0.5 (errors are left out)
    assert row["e2e_p50_s"] == pytest.approx(0.4)
    assert row["e2e_p90_s"] == pytest.approx(0.48)
    assert row["e2e_p99_s"] == pytest.approx(0.498)
    # 15 completion tokens over 2 s; per request 10/(0.3-0.1) = 50 and 4/(0.5-0.2) = 13.33
    # (request 2 has no time after its first chunk): their median is the midpoint
    assert row["output_tokens_per_s"] == pytest.approx(7.5)
    assert row["output_tokens_per_s_per_request_p50"] == pytest.approx((50 + 40 / 3) / 2)
    assert row["errors"] == {"429": 1, "5xx": 1}
    assert row["rate_limited"] == 1
    # only request 0 meets every bound (1 fails e2e, 2 fails ttft, 3 and 4 errored,
    # one was dropped): 1 of the 6 scheduled
    assert row["goodput"] == pytest.approx(1 / 6)
    assert row["slo"] == {"ttft_s": 0.25, "e2e_s": 0.45, "itl_s": 0.08}
    # lateness of the 5 sent: 1..5 ms; p99 at position 4 x 0.99 = 3.96
    assert row["lateness_p50_s"] == pytest.approx(0.003)
    assert row["lateness_p99_s"] == pytest.approx(0.004 + 0.96 * 0.001)
    assert row["lateness_max_s"] == pytest.approx(0.005)
    assert row["client_bound"] is False
    assert row["cost_per_1m_input"] == 0.15
    assert row["cost_per_1m_output"] == 0.60
    assert row["cost_per_1m_blended"] == pytest.approx((3 * 0.15 + 0.60) / 4)  # 0.2625
    assert row["cost_basis"] == "per_token"


def test_the_itl_bound_is_on_a_requests_mean_gap() -> None:
    # request 0's gaps 0.05 and 0.10 have the mean 0.075: within 0.08, not within 0.07
    assert meets_slo(RECORDS[0], {"itl": 0.08})
    assert not meets_slo(RECORDS[0], {"itl": 0.07})
    assert meets_slo(RECORDS[2], {"itl": 0.001})  # one chunk: no gap
    assert not meets_slo(RECORDS[3], {})  # an error never meets it


def test_no_slo_no_goodput() -> None:
    assert step_row(_step(RECORDS))["goodput"] is None


def test_client_bound_when_lateness_p99_passes_5ms_or_the_sender_fell_behind() -> None:
    late = [_rec(i, 0.006, e2e_s=0.1, finish_reason="stop") for i in range(5)]
    assert step_row(_step(late))["client_bound"] is True
    # p99 of 200 on-time sends and one 2 ms late is 0, but at 1000 req/s (a send every
    # 1 ms) that one send came after the next was due: the sender fell behind
    behind = [_rec(i, 0.0, e2e_s=0.1, finish_reason="stop") for i in range(200)]
    behind.append(_rec(200, 0.002, e2e_s=0.1, finish_reason="stop"))
    row = step_row(_step(behind, rate=1000.0, scheduled=201, dropped=0))
    assert row["lateness_p99_s"] == pytest.approx(0.0)
    assert row["client_bound"] is True
    assert step_row(_step(behind, rate=10.0, scheduled=201))["client_bound"] is False


def test_cost_per_hour_is_at_the_achieved_throughput() -> None:
    # $2.50 an hour at 7.5 output tokens/s: 27,000 tokens an hour, so 1M cost 2.5/27000 x 1e6
    row = step_row(_step(RECORDS), price=Price(input=1, output=2), price_per_hour=2.5)
    assert row["cost_per_1m_output"] == pytest.approx(92.592592, rel=1e-6)
    assert row["cost_per_1m_input"] is None and row["cost_per_1m_blended"] is None
    assert row["cost_basis"] == "per_hour"
    assert cost_figures(None, 2.5, 0.0)["cost_per_1m_output"] is None  # nothing produced
    unknown = cost_figures(None, None, 7.5)
    assert set(unknown.values()) == {None}
    assert cost_figures(Price(input=0.15), None, 7.5)["cost_per_1m_blended"] is None


def test_closed_loop_rows_have_no_lateness() -> None:
    row = step_row(_step(RECORDS, mode="closed", arrival="closed", rate=None, concurrency=4))
    assert row["lateness_p99_s"] is None and row["client_bound"] is False
    assert row["concurrency"] == 4 and row["rate"] is None
