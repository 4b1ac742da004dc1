"""Before a run: how many tokens and dollars each (suite, prompt, model) row will take.

Chat suites only. Each row's estimate has a basis:
- `history`: the newest earlier run in the store with answered samples of the same
  suite, prompt and model id (sent as the same API model): its mean prompt, cached
  and completion tokens per request, times the requests planned now;
- `characters`: otherwise, from the requests that would be sent (the first
  SAMPLE_CASES cases of each suite, scaled to the cases planned;
  evals.engine.estimate): prompt = characters / 3 + 4 per message + 3, completion =
  the request's `max_tokens` (or `max_completion_tokens`), 4096 when it sets none.
  Both err high: a model usually stops before its limit.
Dollars: the model's price (runner profile, else the bundled table) on those tokens.
A model on an endpoint priced per hour costs `price_per_hour` x the history run's
busy seconds per request on its endpoint x the requests planned (unknown, None,
without history). `evals run` records the estimates in the run config at its start,
so the summary shows each row's estimate beside its actual figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.run.options import RunOptions
    from evals.run.prepare import Prepared
    from evals.store import ResultStore

Key = tuple[str, str, str]  # suite, prompt, model id
HISTORY_RUNS = 10  # earlier runs of a suite looked at, newest first, before giving up
SAMPLE_CASES = 1000  # cases of each suite rendered for a characters estimate


@dataclass
class RowEstimate:
    suite: str
    prompt: str
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    basis: str  # "history" | "characters"
    cost_basis: str  # "tokens" | "hourly"
    history_run: str | None = None  # the run a history estimate comes from

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "prompt": self.prompt,
            "model": self.model,
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "basis": self.basis,
            "cost_basis": self.cost_basis,
            "history_run": self.history_run,
        }


@dataclass
class _Past:
    """Token sums of one row in an earlier run, and its endpoint's busy time per request."""

    run_id: str
    requests: int = 0
    prompt: int = 0
    cached: int = 0
    completion: int = 0
    busy_s_per_request: float | None = None


def _answered(result: Any) -> bool:
    return result.error is None or result.error_class == "grader"


def _history(
    store: ResultStore, sent_as: dict[str, str], hourly: set[str], wanted: set[Key]
) -> dict[Key, _Past]:
    """The newest earlier run's token sums per wanted row (see the module docstring);
    for the models in `hourly`, its endpoint's busy seconds per request too."""
    from evals.pricing import endpoint_busy

    found: dict[Key, _Past] = {}
    suites = {key[0] for key in wanted}
    looked = 0
    for run in store.runs():
        missing = wanted - set(found)
        if not missing or looked >= HISTORY_RUNS:
            break
        if not suites & set(run["suites"]):
            continue
        looked += 1
        config = run["config"]
        then = {m["id"]: m.get("model") or m["id"] for m in config.get("models") or []}
        here: dict[Key, _Past] = {}
        for result in store.results(run["run_id"]):  # streamed: an old run may be large
            key = (result.suite, result.prompt, result.model)
            usable = result.prompt_tokens is not None and result.completion_tokens is not None
            if key not in missing or then.get(result.model) != sent_as[result.model]:
                continue
            if usable and _answered(result):
                past = here.setdefault(key, _Past(run["run_id"]))
                past.requests += 1
                past.prompt += result.prompt_tokens
                past.cached += min(result.cached_tokens or 0, result.prompt_tokens)
                past.completion += result.completion_tokens
        if not here:
            continue
        if not hourly & {key[2] for key in here}:
            found.update(here)
            continue
        busy = endpoint_busy(config, store.results(run["run_id"]))
        then_endpoint = {m["id"]: m["endpoint"] for m in config.get("models") or []}
        for key, past in here.items():
            seconds, sent = busy.get(then_endpoint.get(key[2], ""), (None, 0))
            if seconds is not None and sent and key[2] in hourly:
                past.busy_s_per_request = seconds / sent
        found.update(here)
    return found


def estimate_plan(
    prepared: Prepared, options: RunOptions, store: ResultStore | None
) -> list[RowEstimate]:
    """One estimate per planned chat row, in plan order (see the module docstring)."""
    from evals.endpoints.client import cache_identity
    from evals.engine import estimate as chars
    from evals.pricing import PriceBook, cost_usd
    from evals.records import Usage
    from evals.run.plan import plan_model

    # Rendering every planned body would do the plan's work twice: the first
    # SAMPLE_CASES cases of each suite are rendered, and their mean per request is
    # scaled to the cases planned.
    sums: dict[Key, list[float]] = {}  # requests, prompt tokens, completion (characters)
    limit = SAMPLE_CASES if options.limit is None else min(options.limit, SAMPLE_CASES)
    for model in prepared.models:
        if model.kind != "chat":
            continue
        spec = prepared.profile.endpoints[model.endpoint]
        key = cache_identity(model.endpoint, spec)
        seen: dict[Key, list[int]] = {}
        for job in plan_model(prepared.suites, model, key, options.prompts, 1, limit):
            row = seen.setdefault((job.suite.name, job.prompt, model.id), [0, 0, 0])
            row[0] += 1
            row[1] += chars.prompt_tokens(job.body)
            row[2] += chars.max_output_tokens(job.body)
        for row_key, (sampled, prompt, completion) in seen.items():
            cases = prepared.case_counts[row_key[0]]
            planned = min(cases, options.limit) if options.limit else cases
            requests = planned * options.repeat  # the repeats of a case send the same body
            scale = requests / sampled
            sums[row_key] = [requests, round(prompt * scale), round(completion * scale)]
    models = {model.id: model for model in prepared.models}
    rates = {
        model.id: prepared.profile.endpoints[model.endpoint].price_per_hour
        for model in prepared.models
    }
    history = {}
    if store is not None and sums:
        sent_as = {model_id: model.api_model for model_id, model in models.items()}
        hourly = {model_id for model_id in models if rates[model_id] is not None}
        history = _history(store, sent_as, hourly, set(sums))
    prices = PriceBook(prepared.profile)
    estimates = []
    for (suite, prompt, model_id), (requests, prompt_tokens, completion) in sums.items():
        past = history.get((suite, prompt, model_id))
        cached = 0
        if past is not None:
            prompt_tokens = round(past.prompt / past.requests * requests)
            cached = round(past.cached / past.requests * requests)
            completion = round(past.completion / past.requests * requests)
        rate = rates[model_id]
        if rate is None:
            usage = Usage(prompt_tokens, cached, completion)
            cost = cost_usd(usage, prices.for_model(models[model_id]))
        elif past is not None and past.busy_s_per_request is not None:
            cost = rate * past.busy_s_per_request * requests / 3600.0
        else:
            cost = None
        estimates.append(
            RowEstimate(
                suite=suite,
                prompt=prompt,
                model=model_id,
                requests=requests,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion,
                cost_usd=cost,
                basis="characters" if past is None else "history",
                cost_basis="tokens" if rate is None else "hourly",
                history_run=None if past is None else past.run_id,
            )
        )
    return estimates
