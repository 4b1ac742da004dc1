"""Simulated-model configuration: YAML schema, validation and built-in defaults.

Config file format (every key optional except ``models``; unknown keys are an error, so a
typo never silently changes a simulation)::

    models:
      my-model:
        accuracy: 0.8            # share of checkable prompts answered correctly (0..1)
        latency_ms: 0            # mean delay before the first byte
        latency_jitter_ms: 0     # +/- spread around latency_ms, chosen by hash (deterministic)
        seed: 0                  # changes which prompts are answered correctly
        resample: false          # true: the k-th sending of the same request is answered as
                                 # with seed + k - 1 (sampling anew, as at temperature > 0),
                                 # so repeats of a case can differ; false: always the same
        reasoning: false         # behave like an o-series / GPT-5 model (parameter rules)
        reasoning_tokens: 0      # hidden tokens per answer at reasoning_effort=medium
        cache: false             # report prompt_tokens_details.cached_tokens
        usage_details: true      # false: omit *_tokens_details, like many providers
        usage_style: openai      # where the counts go: openai | deepseek | groq | llama.cpp | none
                                 # (see evals.sim.usage; `cache: true` makes cached counts > 0)
        rpm: null                # requests per minute (sliding 60 s window)
        tpm: null                # tokens per minute (prompt + completion tokens)
        insufficient_quota: false  # every request 429 insufficient_quota
        tokens_per_s: null       # output pace (streaming and non-streaming); not with slots
        slots: null              # load model (evals.sim.loadmodel): requests decoded at once
                                 # (llama.cpp --parallel, a vLLM batch); more wait in a FIFO
                                 # queue. null: unlimited, timing from latency_ms/tokens_per_s
        prefill_ms_per_token: 0  # with slots: time per prompt token before the first token
        decode_ms_per_token: 0   # with slots: time per further output token
        embedding_dimensions: 256  # native vector size for /v1/embeddings (`dimensions` <= it)
        embedding_noise: 0.0     # 0..1: share of a per-text random vector mixed into embeddings
        kind: chat               # chat | transcription (/v1/audio/transcriptions only)
        judge_garbage: false     # as a judge (score+reason schema), answer non-JSON text
        faults:                  # see evals.sim.faults
          - {kind: "500", rate: 0.3, times: 1, retry_after_s: 1, stall_s: 3600}

    batch:                     # the Batch API (evals.sim.batches); every key optional
      delay_s: 0.0             # seconds from create until the batch ends (state is computed
                               # lazily, whenever a client asks)
      validating_s: 0.0        # seconds in "validating" before "in_progress"
      fail_rate: 0.0           # share of lines that fail (by hash of custom_id and seed)
      fail_status: 500         # HTTP status of such a failed line (400..599)
      fail_times: null         # null: a failing line always fails; N: a custom_id fails in
                               # its first N batches only (so a retry batch succeeds)
      expire: false            # true: the batch ends "expired" at delay_s
      expire_completed: 0.5    # share (0..1) of lines answered before expiry (input order)
      expire_times: null       # null: every batch expires; N: only the first N created do
      shuffle: true            # output/error lines in a seeded order, never the input order
      seed: 0
      max_requests: 50000      # more lines: the batch fails validation
      max_bytes: 209715200     # a larger upload: 400 at POST /v1/files

A file's ``models`` replace the built-in ones (``BUILTIN_MODELS``); with no file the
built-ins are served.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FAULT_KINDS = (
    "429",
    "500",
    "502",
    "503",
    "529",
    "498",
    "disconnect",
    "malformed",
    "stall",
    "stream_cut",
)


class ConfigError(ValueError):
    """A user-fixable problem in a sim config file; the message names file, line and key."""


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """One injectable fault; which requests it hits is decided by hash, not by arrival order."""

    kind: str
    rate: float = 1.0
    times: int | None = 1
    retry_after_s: float = 1.0
    stall_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Behaviour of one simulated model."""

    name: str = ""
    accuracy: float = 0.8
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    seed: int = 0
    resample: bool = False
    reasoning: bool = False
    reasoning_tokens: int = 0
    cache: bool = False
    usage_details: bool = True
    usage_style: str = "openai"
    rpm: int | None = None
    tpm: int | None = None
    insufficient_quota: bool = False
    tokens_per_s: float | None = None
    slots: int | None = None
    prefill_ms_per_token: float = 0.0
    decode_ms_per_token: float = 0.0
    embedding_dimensions: int = 256
    embedding_noise: float = 0.0
    kind: str = "chat"
    judge_garbage: bool = False
    faults: tuple[FaultConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchConfig:
    """Timing and outcomes of the simulated Batch API (``evals.sim.batches``)."""

    delay_s: float = 0.0
    validating_s: float = 0.0
    fail_rate: float = 0.0
    fail_status: int = 500
    fail_times: int | None = None
    expire: bool = False
    expire_completed: float = 0.5
    expire_times: int | None = None
    shuffle: bool = True
    seed: int = 0
    max_requests: int = 50000
    max_bytes: int = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SimConfig:
    """All served models, keyed by the name clients send as ``model``, and batch settings."""

    models: dict[str, ModelConfig] = field(default_factory=dict)
    batch: BatchConfig = field(default_factory=BatchConfig)
    source: str = "<built-in>"


BUILTIN_MODELS: dict[str, dict[str, Any]] = {
    "sim-good": {"accuracy": 0.8, "latency_ms": 0},
    "sim-perfect": {"accuracy": 1.0},
    "sim-weak": {"accuracy": 0.4},
    "sim-reasoning": {"accuracy": 0.9, "reasoning": True, "reasoning_tokens": 64},
    "sim-cached": {"accuracy": 0.8, "cache": True},
    "sim-limited": {"accuracy": 1.0, "rpm": 60},
    "sim-flaky": {"accuracy": 1.0, "faults": [{"kind": "500", "rate": 0.3, "times": 1}]},
    "sim-nodetails": {"accuracy": 0.8, "usage_details": False},
    "sim-slow": {"accuracy": 0.8, "latency_ms": 200, "latency_jitter_ms": 100, "tokens_per_s": 50},
    "sim-broke": {"accuracy": 1.0, "insufficient_quota": True},
    "sim-judge-garbage": {"accuracy": 1.0, "judge_garbage": True},
    # like text-embedding-3-small / -large: native 1536 / 3072 dims, the large one less noisy
    "sim-embed-small": {"embedding_dimensions": 1536, "embedding_noise": 0.3},
    "sim-embed-large": {"embedding_dimensions": 3072, "embedding_noise": 0.1},
    "sim-transcribe": {"kind": "transcription", "accuracy": 0.9},
    "sim-transcribe-perfect": {"kind": "transcription", "accuracy": 1.0},
}
MODEL_KINDS = ("chat", "transcription")
USAGE_STYLES = ("openai", "deepseek", "groq", "llama.cpp", "none")


def _type_ok(value: Any, hint: Any) -> bool:
    """Check a YAML scalar against a simple annotation (bool is never accepted as a number)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return True


def _line_of(node: yaml.Node | None, path: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest entry reached by ``path`` in a composed YAML tree."""
    line = None
    for key in path:
        if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
            continue
        if not isinstance(node, yaml.MappingNode):
            return line
        for k, v in node.value:
            if getattr(k, "value", None) == str(key):
                line, node = k.start_mark.line + 1, v
                break
        else:
            return line
    return line


Fail = typing.Callable[[str, tuple], typing.NoReturn]


def _where(path: tuple[str | int, ...]) -> str:
    """Human-readable key path: models.sim-x.faults[0].rate."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "top level"


def _build(cls: type, raw: Any, path: tuple[str | int, ...], fail: Fail) -> Any:
    """Construct dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types."""
    where = _where(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        fail(f"{where}: expected a mapping, got {type(raw).__name__}", path)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "name"]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        kpath = (*path, str(key))
        if key not in names:
            fail(f"{where}: unknown key {key!r} (allowed: {', '.join(names)})", kpath)
        if key == "faults":
            if not isinstance(value, list):
                fail(f"{where}.faults: expected a list", kpath)
            kwargs["faults"] = tuple(
                _build(FaultConfig, f, (*kpath, i), fail) for i, f in enumerate(value)
            )
            continue
        if key == "kind" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # `kind: 500` unquoted is fine
        if not _type_ok(value, hints[key]):
            fail(f"{where}.{key}: expected {_type_name(hints[key])}, got {value!r}", kpath)
        kwargs[key] = float(value) if hints[key] is float else value
    if cls is FaultConfig and "kind" not in kwargs:
        fail(f"{where}: missing required key 'kind'", path)
    obj = cls(**kwargs)
    _check_ranges(obj, path, fail)
    return obj


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("NoneType", "null")


def _check_ranges(obj: Any, path: tuple[str | int, ...], fail: Fail) -> None:
    """Reject values that parse but make no sense (negative latency, accuracy 1.5, ...)."""
    where = _where(path)
    if isinstance(obj, FaultConfig):
        if obj.kind not in FAULT_KINDS:
            kinds = ", ".join(FAULT_KINDS)
            fail(f"{where}.kind: {obj.kind!r} is not one of {kinds}", (*path, "kind"))
        if not 0.0 <= obj.rate <= 1.0:
            fail(f"{where}.rate: must be within 0..1, got {obj.rate}", (*path, "rate"))
        if obj.times is not None and obj.times < 1:
            fail(f"{where}.times: must be >= 1 (or null for every attempt)", (*path, "times"))
        if obj.retry_after_s < 0 or obj.stall_s < 0:
            fail(f"{where}: retry_after_s and stall_s must be >= 0", path)
        return
    if isinstance(obj, BatchConfig):
        _check_batch(obj, path, fail)
        return
    assert isinstance(obj, ModelConfig)
    for name in ("accuracy", "embedding_noise"):
        value = getattr(obj, name)
        if not 0.0 <= value <= 1.0:
            fail(f"{where}.{name}: must be within 0..1, got {value}", (*path, name))
    if obj.kind not in MODEL_KINDS:
        fail(f"{where}.kind: {obj.kind!r} is not one of {', '.join(MODEL_KINDS)}", (*path, "kind"))
    if obj.usage_style not in USAGE_STYLES:
        styles = ", ".join(USAGE_STYLES)
        fail(
            f"{where}.usage_style: {obj.usage_style!r} is not one of {styles}",
            (*path, "usage_style"),
        )
    for name in (
        "latency_ms",
        "latency_jitter_ms",
        "reasoning_tokens",
        "prefill_ms_per_token",
        "decode_ms_per_token",
    ):
        if getattr(obj, name) < 0:
            fail(f"{where}.{name}: must be >= 0", (*path, name))
    for name in ("rpm", "tpm", "tokens_per_s", "embedding_dimensions", "slots"):
        value = getattr(obj, name)
        if value is not None and value <= 0:
            fail(f"{where}.{name}: must be > 0", (*path, name))
    _check_load(obj, where, path, fail)


def _check_batch(obj: BatchConfig, path: tuple[str | int, ...], fail: Fail) -> None:
    where = _where(path)
    for name in ("fail_rate", "expire_completed"):
        if not 0.0 <= getattr(obj, name) <= 1.0:
            fail(f"{where}.{name}: must be within 0..1, got {getattr(obj, name)}", (*path, name))
    for name in ("delay_s", "validating_s"):
        if getattr(obj, name) < 0:
            fail(f"{where}.{name}: must be >= 0", (*path, name))
    if not 400 <= obj.fail_status <= 599:
        fail(
            f"{where}.fail_status: must be an HTTP error status (400..599)", (*path, "fail_status")
        )
    for name in ("fail_times", "expire_times", "max_requests", "max_bytes"):
        value = getattr(obj, name)
        if value is not None and value < 1:
            fail(f"{where}.{name}: must be >= 1", (*path, name))


def _check_load(obj: ModelConfig, where: str, path: tuple[str | int, ...], fail: Fail) -> None:
    """The load model's settings only make sense together (``slots`` turns it on)."""
    if obj.slots is None:
        for name in ("prefill_ms_per_token", "decode_ms_per_token"):
            if getattr(obj, name):
                fail(
                    f"{where}.{name}: only applies with `slots` (set slots: N to queue "
                    "requests for N decoding slots)",
                    (*path, name),
                )
    elif obj.tokens_per_s is not None:
        fail(
            f"{where}.tokens_per_s: not with `slots`; set decode_ms_per_token instead "
            f"(1000 / tokens_per_s = {1000 / obj.tokens_per_s:g})",
            (*path, "tokens_per_s"),
        )


def parse_config(data: Any, source: str = "<built-in>", tree: yaml.Node | None = None) -> SimConfig:
    """Validate parsed YAML into a SimConfig; ``tree`` (composed YAML) adds line numbers."""

    def fail(message: str, path: tuple) -> typing.NoReturn:
        line = _line_of(tree, path) if tree is not None else None
        prefix = f"{source}:{line}: " if line else f"{source}: "
        raise ConfigError(prefix + message)

    if not isinstance(data, dict) or "models" not in data:
        fail("top level: expected a mapping with a 'models' key", ())
    extra = [k for k in data if k not in ("models", "batch")]
    if extra:
        fail(f"top level: unknown key {extra[0]!r} (allowed: models, batch)", (str(extra[0]),))
    if not isinstance(data["models"], dict) or not data["models"]:
        fail("models: expected a non-empty mapping of model name to settings", ("models",))
    models = {}
    for name, raw in data["models"].items():
        cfg = _build(ModelConfig, raw, ("models", str(name)), fail)
        models[str(name)] = dataclasses.replace(cfg, name=str(name))
    batch = _build(BatchConfig, data.get("batch"), ("batch",), fail)
    return SimConfig(models=models, batch=batch, source=source)


def load_config(path: str | Path | None = None) -> SimConfig:
    """Load a sim config file, or the built-in models when ``path`` is None."""
    if path is None:
        return parse_config({"models": BUILTIN_MODELS})
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read sim config ({exc.strerror})") from exc
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML: {exc}") from exc
    return parse_config(data, str(p), tree)
