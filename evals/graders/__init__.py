"""Graders: turn a model output into a GradeResult. They know nothing of HTTP.

Build graders from suite specs with `build_grader`; see `registry.KNOWN_TYPES`.
"""

from evals.graders.base import GradeContext, Grader, GraderSpecError
from evals.graders.registry import KNOWN_TYPES, build_grader, combine, grade_all

__all__ = [
    "KNOWN_TYPES",
    "GradeContext",
    "Grader",
    "GraderSpecError",
    "build_grader",
    "combine",
    "grade_all",
]
