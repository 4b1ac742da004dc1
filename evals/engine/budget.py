"""`--max-cost`: never start a request that could take the run past its cap.

Each request reserves its worst case before it starts (chat: prompt estimate at
the input rate plus its output limit at the output rate, times the tool steps it
may take; embeddings: the input estimate; transcription: the audio's minutes);
the reservation is replaced by the real cost when it ends. So spent + in flight
never exceeds the cap, judge and embeddings calls included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evals.engine import estimate
from evals.engine.conversation import MAX_TOOL_STEPS
from evals.engine.embeddings import estimated_tokens
from evals.engine.request import Request
from evals.engine.transcription import audio_seconds
from evals.pricing import audio_cost_usd


def worst_case_usd(request: Request) -> float:
    price = request.price
    if price is None:
        raise ValueError("a budget needs a price for every model")
    body = request.body
    if request.kind == "transcription":
        return audio_cost_usd(audio_seconds(Path(body["file"])), price) or 0.0
    input_rate = price.input or 0.0
    if request.kind == "embeddings":
        return estimated_tokens(body) * input_rate / 1e6
    output_rate = price.output or 0.0
    steps = MAX_TOOL_STEPS if request.tool_results is not None else 1
    one = estimate.prompt_tokens(body) * input_rate + estimate.max_output_tokens(body) * output_rate
    return one * steps / 1e6


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
