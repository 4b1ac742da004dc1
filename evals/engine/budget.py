"""`--max-cost`: never start a request that could take the run past its cap.

Each request reserves its worst case (prompt estimate at the input rate plus its
output limit at the output rate) before it starts; the reservation is replaced
by the real cost when it ends. So spent + in flight never exceeds the cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.engine import estimate
from evals.pricing import Price


def worst_case_usd(body: dict[str, Any], price: Price | None) -> float:
    if price is None:
        raise ValueError("a budget needs a price for every model")
    input_rate = price.input or 0.0
    output_rate = price.output or 0.0
    return (
        estimate.prompt_tokens(body) * input_rate + estimate.max_output_tokens(body) * output_rate
    ) / 1e6


@dataclass
class Budget:
    cap_usd: float
    spent_usd: float = 0.0  # includes what earlier sessions of a resumed run spent
    reserved_usd: float = 0.0

    def reserve(self, amount_usd: float) -> bool:
        """Hold `amount_usd` for a request; False when it could break the cap."""
        if self.spent_usd + self.reserved_usd + amount_usd > self.cap_usd:
            return False
        self.reserved_usd += amount_usd
        return True

    def settle(self, reserved_usd: float, spent_usd: float | None) -> None:
        self.reserved_usd -= reserved_usd
        self.spent_usd += spent_usd or 0.0
