"""Graders: turn a model output into a GradeResult. They know nothing of HTTP.

Build graders from suite specs with `build_grader`; see `registry.KNOWN_TYPES`.
Grade with `grade_all_async` (model-graded types need it) or `grade_all` (sync only).
"""

from evals.graders.base import (
    Embedder,
    GradeContext,
    Grader,
    GraderSpecError,
    Judge,
    JudgeReply,
)
from evals.graders.registry import (
    KNOWN_TYPES,
    build_grader,
    combine,
    grade_all,
    grade_all_async,
)

__all__ = [
    "KNOWN_TYPES",
    "Embedder",
    "GradeContext",
    "Grader",
    "GraderSpecError",
    "Judge",
    "JudgeReply",
    "build_grader",
    "combine",
    "grade_all",
    "grade_all_async",
]
