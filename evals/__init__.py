"""evals: evaluation and cost-benchmarking harness for OpenAI-compatible LLM APIs.

The library in four names, loaded on first use (so `evals --help` stays fast):

    import evals
    summary = evals.run(["suites/quickstart.yaml"], "runners/sim.yaml")   # a Summary
    suite = evals.load_suite("suites/quickstart.yaml")
    profile = evals.load_runner("runners/sim.yaml")
    past = evals.load_summary("latest")                # a stored run's summary
    frame = evals.load_run("latest")                   # its results, a pandas DataFrame
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load_run", "load_runner", "load_suite", "load_summary", "run"]


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
    if name in ("load_run", "load_summary"):
        from evals.run import api

        return getattr(api, name)
    raise AttributeError(f"module 'evals' has no attribute {name!r}")
