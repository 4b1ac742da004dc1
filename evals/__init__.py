"""evals: evaluation and cost-benchmarking harness for OpenAI-compatible LLM APIs.

The library in four names, loaded on first use (so `evals --help` stays fast):

    import evals
    summary = evals.run(["suites/quickstart.yaml"], "runners/sim.yaml")   # a Summary
    suite = evals.load_suite("suites/quickstart.yaml")
    profile = evals.load_runner("runners/sim.yaml")
    past = evals.load_run("20261203-064431-5608")                          # from the store
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load_run", "load_runner", "load_suite", "run"]


def __getattr__(name: str) -> Any:
    if name == "run":  # the orchestration package, which is callable: evals.run(...)
        import evals.run as run_package

        return run_package
    if name == "load_suite":
        from evals.config.suite import load_suite

        return load_suite
    if name == "load_runner":
        from evals.config.runner import load_runner

        return load_runner
    if name == "load_run":
        from evals.run.api import load_run

        return load_run
    raise AttributeError(f"module 'evals' has no attribute {name!r}")
