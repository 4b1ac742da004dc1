"""Prices: the table and cost arithmetic (table.py), a run's price book (book.py),
endpoints priced per hour (hourly.py).

Prices live in `evals/data/pricing.yaml` (versioned, with source and date) so a
new model or a price cut is a data change, not a code change; a runner profile
may replace any model's entry (`pricing:`). An unknown price is None, never 0: a
report must not show an unpriced model as free.
"""

from evals.pricing.book import PriceBook
from evals.pricing.hourly import (
    IDLE_GAP_S,
    HourlyCost,
    busy_seconds,
    endpoint_busy,
    hourly_costs,
    hourly_endpoints,
)
from evals.pricing.table import (
    CostParts,
    Price,
    PriceTable,
    audio_cost_usd,
    cost_parts,
    cost_usd,
    price_from_record,
)

__all__ = [
    "IDLE_GAP_S",
    "CostParts",
    "HourlyCost",
    "Price",
    "PriceBook",
    "PriceTable",
    "audio_cost_usd",
    "busy_seconds",
    "cost_parts",
    "cost_usd",
    "endpoint_busy",
    "hourly_costs",
    "hourly_endpoints",
    "price_from_record",
]
