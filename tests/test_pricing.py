"""Pricing: bundled table, snapshot lookup, overrides and cost arithmetic."""

from __future__ import annotations

import pytest

from evals.modelnames import resolve_family, strip_snapshot
from evals.pricing import Price, PriceTable, audio_cost_usd, cost_usd
from evals.records import Usage

BUNDLED = PriceTable.bundled()


# --- model names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-20240806", "gpt-4o"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("my-o3-finetune", None),
        ("o3-finetune", None),
        ("gpt-4o-2501", None),  # only -YYYY-MM-DD and -YYYYMMDD count as snapshots
        ("GPT-4O", None),
        ("", None),
    ],
)
def test_resolve_family(model: str, expected: str | None) -> None:
    assert resolve_family(model, {"gpt-4o", "gpt-4o-mini", "o3"}) == expected


def test_gpt_4o_mini_never_resolves_to_gpt_4o() -> None:
    assert resolve_family("gpt-4o-mini", {"gpt-4o"}) is None
    assert resolve_family("gpt-4o-mini-2024-07-18", {"gpt-4o"}) is None


def test_strip_snapshot_needs_a_base() -> None:
    assert strip_snapshot("2024-08-06") is None
    assert strip_snapshot("-2024-08-06") is None
    assert strip_snapshot("o3-mini-2025-01-31") == "o3-mini"


# --- bundled table ----------------------------------------------------------


def test_bundled_has_every_listed_model_with_source_and_date() -> None:
    expected = {
        "gpt-4o", "gpt-4o-2024-05-13", "gpt-4o-mini", "o1", "o1-pro", "o3", "o3-pro", "o3-mini",
        "o4-mini", "gpt-4.1",
        "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5.1",
        "gpt-5.2", "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5.5",
        "text-embedding-3-small", "text-embedding-3-large", "whisper-1",
    }  # fmt: skip
    assert set(BUNDLED.ids()) == expected
    assert BUNDLED.as_of
    for model in expected:
        price = BUNDLED.lookup(model)
        assert price is not None and price.source and price.as_of, model


def test_bundled_values_from_reference_table() -> None:
    assert BUNDLED.lookup("gpt-4o") == Price(
        input=2.50,
        output=10.00,
        cached_input=1.25,
        batch_input=1.25,
        batch_output=5.00,
        as_of=BUNDLED.lookup("gpt-4o").as_of,
        source=BUNDLED.lookup("gpt-4o").source,
    )
    o4 = BUNDLED.lookup("o4-mini")
    assert (o4.input, o4.cached_input, o4.output) == (1.10, 0.275, 4.40)
    emb = BUNDLED.lookup("text-embedding-3-small")
    assert (emb.input, emb.output, emb.cached_input, emb.batch_input) == (0.02, None, None, 0.01)
    assert BUNDLED.lookup("whisper-1").audio_per_minute == 0.006
    # the reference table's o1-pro / o3-pro row: 150 / 20 in, 600 / 80 out, batch half
    pro = BUNDLED.lookup("o1-pro"), BUNDLED.lookup("o3-pro")
    assert [(p.input, p.output, p.batch_input, p.batch_output) for p in pro] == [
        (150.0, 600.0, 75.0, 300.0),
        (20.0, 80.0, 10.0, 40.0),
    ]
    assert pro[0].cached_input is None and pro[1].cached_input is None


def test_bundled_is_cached() -> None:
    assert PriceTable.bundled() is PriceTable.bundled()


def test_lookup_snapshot_and_unknown() -> None:
    assert BUNDLED.lookup("gpt-4o-2024-08-06") is BUNDLED.lookup("gpt-4o")
    assert BUNDLED.lookup("o3-mini-2025-01-31") is BUNDLED.lookup("o3-mini")
    assert BUNDLED.lookup("gpt-4o-mini") is not BUNDLED.lookup("gpt-4o")
    assert BUNDLED.lookup("llama-3.1-8b-instruct") is None
    assert BUNDLED.lookup("my-o3-finetune") is None
    assert "gpt-5-2025-08-07" in BUNDLED
    assert "smollm2" not in BUNDLED


def test_dated_snapshot_with_its_own_price() -> None:
    # OpenAI pricing: gpt-4o-2024-05-13 $5.00 in / $15.00 out per 1M, no cached rate,
    # Batch API half (2.50 / 7.50); gpt-4o-2024-08-06 is gpt-4o's $2.50 / $10.00,
    # cached $1.25.
    may = BUNDLED.lookup("gpt-4o-2024-05-13")
    assert (may.input, may.output, may.cached_input) == (5.00, 15.00, None)
    assert (may.batch_input, may.batch_output) == (2.50, 7.50)
    assert may.source and may.as_of
    assert BUNDLED.resolve("gpt-4o-2024-05-13")[0] == "gpt-4o-2024-05-13"
    key, aug = BUNDLED.resolve("gpt-4o-2024-08-06")
    assert key == "gpt-4o"
    assert (aug.input, aug.output, aug.cached_input) == (2.50, 10.00, 1.25)
    # 10000 prompt (2000 of them cached, billed at the input rate: no discount) and
    # 1000 completion: 10000 * 5.00 + 1000 * 15.00 = 50000 + 15000 = 65000 -> 0.065
    usage = Usage(prompt_tokens=10_000, cached_tokens=2_000, completion_tokens=1_000)
    assert cost_usd(usage, may) == pytest.approx(0.065)
    # The same usage on 2024-08-06: 8000 * 2.50 + 2000 * 1.25 + 1000 * 10.00
    # = 20000 + 2500 + 10000 = 32500 -> 0.0325
    assert cost_usd(usage, aug) == pytest.approx(0.0325)


# --- overrides ----------------------------------------------------------------


def test_partial_override_replaces_the_entry() -> None:
    table = BUNDLED.with_overrides(
        {"gpt-4o-mini": {"input": 0.2, "output": 0.8}}, "runner profile runners/x.yaml"
    )
    price = table.lookup("gpt-4o-mini")
    # Nothing of the bundled entry (cached 0.075, batch 0.075/0.30, its date) survives.
    assert price == Price(input=0.2, output=0.8, source="runner profile runners/x.yaml")
    assert table.resolve("gpt-4o-mini") == ("gpt-4o-mini", price)
    assert table.overridden == {"gpt-4o-mini"}
    assert table.as_of == BUNDLED.as_of  # the bundled table's date, unchanged
    # Cached tokens bill at the override's input rate: 10000 * 0.2 + 1000 * 0.8
    # = 2000 + 800 = 2800 -> 0.0028 (not 6000 * 0.2 + 4000 * 0.075 + 800 = 2300).
    usage = Usage(prompt_tokens=10_000, cached_tokens=4_000, completion_tokens=1_000)
    assert cost_usd(usage, price) == pytest.approx(0.0028)
    # No batch rate was given, so a batch cost is unknown (not gpt-4o-mini's 0.075).
    assert cost_usd(usage, price, batch=True) is None
    # The bundled table is untouched.
    assert BUNDLED.lookup("gpt-4o-mini").cached_input == 0.075
    assert BUNDLED.overridden == frozenset()


def test_override_keeps_its_own_date_and_source() -> None:
    table = BUNDLED.with_overrides(
        {"o3-mini": {"input": 1.0, "output": 4.0, "as_of": "2026-12-01", "source": "contract"}}
    )
    price = table.lookup("o3-mini")
    assert (price.as_of, price.source, price.cached_input) == ("2026-12-01", "contract", None)
    # A snapshot resolves to the overriding family entry.
    assert table.resolve("o3-mini-2025-01-31") == ("o3-mini", price)
    assert BUNDLED.with_overrides({"o3-mini": {"input": 1.0}}).lookup("o3-mini").source == (
        "runner profile"
    )


def test_override_without_input_is_refused_for_a_bundled_model_too() -> None:
    with pytest.raises(ValueError, match="needs 'input'.*replaces the bundled entry"):
        BUNDLED.with_overrides({"o3-mini": {"output": 5.0}})


def test_override_for_snapshot_id_does_not_inherit_from_its_family() -> None:
    table = BUNDLED.with_overrides({"gpt-4o-2024-11-20": {"input": 3.0, "output": 12.0}})
    snap = table.lookup("gpt-4o-2024-11-20")
    assert (snap.input, snap.output, snap.cached_input, snap.batch_input) == (
        3.0, 12.0, None, None
    )  # fmt: skip
    assert table.lookup("gpt-4o").input == 2.50


def test_override_adds_new_model() -> None:
    table = BUNDLED.with_overrides(
        {"llama-3.1-8b": {"input": 0.05, "output": 0.08, "source": "Groq price list"}}
    )
    price = table.lookup("llama-3.1-8b")
    assert price == Price(input=0.05, output=0.08, source="Groq price list")


def test_override_for_new_model_needs_input() -> None:
    with pytest.raises(ValueError, match="needs 'input'"):
        BUNDLED.with_overrides({"local-model": {"output": 1.0}})


def test_override_unknown_key_is_named() -> None:
    with pytest.raises(ValueError, match="unknown key 'outptu'"):
        BUNDLED.with_overrides({"o3-mini": {"outptu": 4.4}})


@pytest.mark.parametrize("bad", [-1.0, "1.10", True, float("nan")])
def test_override_bad_value(bad: object) -> None:
    with pytest.raises(ValueError, match="'input'"):
        BUNDLED.with_overrides({"o3-mini": {"input": bad}})


def test_from_mapping_rejects_unknown_key() -> None:
    with pytest.raises(ValueError, match="unknown key 'price'"):
        PriceTable.from_mapping({"models": {"m": {"price": 1}}})


# --- cost arithmetic ------------------------------------------------------------

GPT4O = Price(input=2.50, output=10.00, cached_input=1.25, batch_input=1.25, batch_output=5.00)


def test_cost_with_cached_tokens() -> None:
    usage = Usage(prompt_tokens=12_000, cached_tokens=2_000, completion_tokens=800)
    # (12000 - 2000) * 2.50 + 2000 * 1.25 + 800 * 10.00 = 25000 + 2500 + 8000 = 35500
    # 35500 / 1e6 = 0.0355
    assert cost_usd(usage, GPT4O) == pytest.approx(0.0355)


def test_cost_reasoning_tokens_not_added_twice() -> None:
    o3_mini = BUNDLED.lookup("o3-mini")
    usage = Usage(
        prompt_tokens=1_000, cached_tokens=0, completion_tokens=5_000, reasoning_tokens=4_500
    )
    # 1000 * 1.10 + 5000 * 4.40 = 1100 + 22000 = 23100 -> 0.0231 (reasoning inside completion)
    assert cost_usd(usage, o3_mini) == pytest.approx(0.0231)


def test_cost_unknown_cached_bills_all_input_at_full_rate() -> None:
    usage = Usage(prompt_tokens=10_000, cached_tokens=None, completion_tokens=100)
    # 10000 * 2.50 + 100 * 10.00 = 25000 + 1000 = 26000 -> 0.026
    assert cost_usd(usage, GPT4O) == pytest.approx(0.026)


def test_cost_unknown_cached_price_bills_cached_at_input_rate() -> None:
    price = Price(input=1.0, output=2.0)
    usage = Usage(prompt_tokens=1_000, cached_tokens=600, completion_tokens=500)
    # 400 * 1.0 + 600 * 1.0 + 500 * 2.0 = 400 + 600 + 1000 = 2000 -> 0.002
    assert cost_usd(usage, price) == pytest.approx(0.002)


def test_cost_batch_rates() -> None:
    usage = Usage(prompt_tokens=12_000, cached_tokens=0, completion_tokens=800)
    # 12000 * 1.25 + 800 * 5.00 = 15000 + 4000 = 19000 -> 0.019
    assert cost_usd(usage, GPT4O, batch=True) == pytest.approx(0.019)


def test_cost_batch_cached_uses_lower_rate() -> None:
    gpt41 = BUNDLED.lookup("gpt-4.1")  # cached 0.50, batch in 1.00, batch out 4.00
    usage = Usage(prompt_tokens=10_000, cached_tokens=4_000, completion_tokens=1_000)
    # 6000 * 1.00 + 4000 * 0.50 + 1000 * 4.00 = 6000 + 2000 + 4000 = 12000 -> 0.012
    assert cost_usd(usage, gpt41, batch=True) == pytest.approx(0.012)


def test_cost_batch_without_batch_rates_is_unknown() -> None:
    usage = Usage(prompt_tokens=10, cached_tokens=0, completion_tokens=10)
    assert cost_usd(usage, Price(input=1.0, output=2.0), batch=True) is None


def test_cost_unknown_is_none_never_zero() -> None:
    usage = Usage(prompt_tokens=10, cached_tokens=0, completion_tokens=10)
    assert cost_usd(usage, None) is None
    assert cost_usd(usage, BUNDLED.lookup("no-such-model")) is None
    assert cost_usd(Usage(prompt_tokens=None, completion_tokens=10), GPT4O) is None
    assert cost_usd(Usage(prompt_tokens=10, completion_tokens=None), GPT4O) is None
    assert cost_usd(Usage(), GPT4O) is None


def test_cost_zero_tokens_is_zero() -> None:
    assert cost_usd(Usage(prompt_tokens=0, cached_tokens=0, completion_tokens=0), GPT4O) == 0.0


def test_cost_embeddings_need_no_completion_count() -> None:
    emb = BUNDLED.lookup("text-embedding-3-large")
    # 1_000_000 * 0.13 / 1e6 = 0.13; batch: 1_000_000 * 0.065 / 1e6 = 0.065
    assert cost_usd(Usage(prompt_tokens=1_000_000), emb) == pytest.approx(0.13)
    assert cost_usd(Usage(prompt_tokens=1_000_000), emb, batch=True) == pytest.approx(0.065)
    # Output tokens against a price with no output rate cannot be costed.
    assert cost_usd(Usage(prompt_tokens=10, completion_tokens=5), emb) is None


def test_cost_cached_more_than_prompt_is_capped() -> None:
    usage = Usage(prompt_tokens=100, cached_tokens=150, completion_tokens=0)
    # All 100 prompt tokens cached: 100 * 1.25 = 125 -> 0.000125
    assert cost_usd(usage, GPT4O) == pytest.approx(0.000125)


def test_audio_cost() -> None:
    whisper = BUNDLED.lookup("whisper-1")
    # 90 s = 1.5 min * 0.006 = 0.009
    assert audio_cost_usd(90.0, whisper) == pytest.approx(0.009)
    assert audio_cost_usd(90.0, GPT4O) is None
    assert audio_cost_usd(None, whisper) is None
    # A per-minute price has no token rates: token cost is unknown, not 0.
    assert cost_usd(Usage(prompt_tokens=10, completion_tokens=10), whisper) is None


# --- the prices a run used, recorded at its start ---------------------------------

SUITE = """\
name: tiny
prompt:
  - {role: user, content: "Say {{ word }}."}
cases: [{vars: {word: hi}, expect: hi}]
graders: [{type: exact}]
"""

RUNNER = """\
endpoints:
  openai: {base_url: "https://api.openai.com/v1", api_key_env: OPENAI_API_KEY}
models:
  - {id: mini-negotiated, endpoint: openai, model: gpt-4o-mini}
  - {id: gpt-4o-2024-08-06, endpoint: openai}
  - {id: old-4o, endpoint: openai, model: gpt-4o-2024-05-13}
  - {id: local, endpoint: openai, model: smollm2-135m}
judge: {id: judge, endpoint: openai, model: gpt-4o-mini}
pricing:
  gpt-4o-mini: {input: 0.2, output: 0.8}
"""


def _summary_of(tmp_path, config: dict) -> dict:
    from evals.report.summary import build_summary
    from evals.store import Store

    store = Store(tmp_path / "evals.sqlite")
    try:
        store.start_run("r1", ["tiny"], "2026-12-01T00:00:00+00:00", config)
        store.finish_run("r1", "2026-12-01T00:01:00+00:00", True)
        return build_summary(store, "r1").to_json()
    finally:
        store.close()


def test_summary_says_where_each_price_came_from(tmp_path, monkeypatch) -> None:
    from evals.run.options import RunOptions
    from evals.run.prepare import prepare, run_config

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")  # nothing is sent

    (tmp_path / "tiny.yaml").write_text(SUITE)
    (tmp_path / "runner.yaml").write_text(RUNNER)
    options = RunOptions(suite_paths=[tmp_path / "tiny.yaml"], runner_path=tmp_path / "runner.yaml")
    config = run_config(options, prepare(options))
    summary = _summary_of(tmp_path, config)

    assert summary["prices_as_of"] == "2026-11-25"  # still the bundled table's date
    runner = {"model": "mini-negotiated", "priced_as": "gpt-4o-mini", "source": "runner",
              "as_of": None, "input": 0.2, "output": 0.8, "cached_input": None}  # fmt: skip
    assert summary["prices"] == [
        runner,
        {"model": "gpt-4o-2024-08-06", "priced_as": "gpt-4o", "source": "bundled",
         "as_of": "2026-11-25", "input": 2.50, "output": 10.00, "cached_input": 1.25},
        {"model": "old-4o", "priced_as": "gpt-4o-2024-05-13", "source": "bundled",
         "as_of": "2026-11-25", "input": 5.00, "output": 15.00, "cached_input": None},
        {"model": "local", "priced_as": None, "source": None,
         "as_of": None, "input": None, "output": None, "cached_input": None},
        {**runner, "model": "judge"},
    ]  # fmt: skip


def test_summary_of_a_run_recorded_before_prices_were_kept(tmp_path) -> None:
    summary = _summary_of(tmp_path, {"suite_kinds": {"tiny": "chat"}, "prices_as_of": "2025-01-01"})
    assert summary["prices_as_of"] == "2025-01-01"
    assert "prices" not in summary
    assert summary["rows"] == []


def _book(endpoint_extra: dict, pricing: dict):
    from evals.config.runner import RunnerProfile
    from evals.pricing import PriceBook

    profile = RunnerProfile.model_validate(
        {
            "endpoints": {"e": {"base_url": "http://127.0.0.1:1/v1", **endpoint_extra}},
            "models": [{"id": "m", "endpoint": "e"}, {"id": "gpt-4o-mini", "endpoint": "e"}],
            "pricing": pricing,
        }
    )
    return PriceBook(profile), {m.id: m for m in profile.models}


def test_an_endpoints_batch_discount_fills_missing_batch_rates() -> None:
    book, models = _book(
        {"batch_discount": 0.25}, {"m": {"input": 2.0, "cached_input": 1.0, "output": 8.0}}
    )
    batch = book.batch_for_model(models["m"])
    assert batch is not None
    assert (batch.input, batch.output, batch.cached_input) == (1.5, 6.0, 1.0)  # 2 x .75, 8 x .75
    usage = Usage(prompt_tokens=1_000_000, cached_tokens=400_000, completion_tokens=500_000)
    # by hand: 600k fresh x 1.5 + 400k cached x min(1.0, 1.5) + 500k x 6.0, per 1M
    assert cost_usd(usage, batch) == pytest.approx(0.9 + 0.4 + 3.0)
    assert cost_usd(usage, batch) == pytest.approx(
        cost_usd(usage, book.for_model(models["m"]), True)
    )
    # the table's own batch rates win over the discount (gpt-4o-mini: 0.075 / 0.30)
    mini = book.batch_for_model(models["gpt-4o-mini"])
    assert (mini.input, mini.output) == (0.075, 0.30)
    # recorded for `evals forecast --batch`: the same discounted rates
    rates = book.rates([models["m"]])["m"]
    assert (rates["batch_input"], rates["batch_output"]) == (1.5, 6.0)


def test_no_batch_rate_without_a_discount() -> None:
    book, models = _book({}, {"m": {"input": 2.0, "output": 8.0}})
    assert book.batch_for_model(models["m"]) is None


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1])
def test_a_batch_discount_is_a_share_between_0_and_1(bad: float) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        _book({"batch_discount": bad}, {})
