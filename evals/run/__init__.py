"""One run, orchestrated: plan, engine, grading, store; resume.

`evals.run` is this package and also the library's entry point: calling it
(`evals.run(suites, runner, ...)`) runs a suite and returns its summary (see
evals.run.api.run).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from evals.run.api import run

        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
