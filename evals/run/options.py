"""The options of one `evals run`, as the CLI (or a library caller) gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunOptions:
    suite_paths: list[Path]
    runner_path: Path
    model_ids: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    repeat: int = 1
    concurrency: int | None = None
    limit: int | None = None
    dry_run: bool = False
    out_dir: Path | None = None
    summary_json: Path | None = None
    fail_under: float | None = None
    score_ci: str = "t"  # interval of partial-credit mean scores: "t" or "bootstrap"
    baseline: str | None = None  # run id, 'latest' or an `evals export` file
    baseline_store: str | None = None  # where `baseline` is looked up (default: the run's)
    junit: Path | None = None
    max_cost: float | None = None
    no_cache: bool = False
    resume: str | None = None
    mode: str = "online"  # "online" | "batch" (the Batch API) | "batch-file" (files to run)
    fallback: str = "batch"  # what a batch left unanswered is sent as: "batch" or "online"
    judge_mode: str = "online"  # model-graded graders' judge calls: "online" or "batch"
    detach: bool = False  # batch: submit, then exit; `--resume` re-attaches later
    poll_max_s: float = 60.0  # batch: the longest wait between two looks at a batch
    distributed: bool = False  # shared by workers through a PostgreSQL store (evals.run.fleet)
    chunk_size: int = 50  # distributed: cases per chunk a worker claims
    lease_s: float = 30.0  # distributed: a chunk whose worker is silent this long is claimed again
    argv: list[str] = field(default_factory=list)
