"""Graders: turn a model output into a GradeResult. They know nothing of HTTP.

Build graders from suite specs with `build_grader`; `KNOWN_TYPES` lists the `type:` names.
Grade with `grade_all_async` (model-graded types need it) or `grade_all` (sync only).

A grader module registers its classes (`@register` from `evals.graders.registry`) when it
is imported; this package imports every grader module, so importing `evals.graders` or any
`evals.graders.X` fills the registry.
"""

# isort: off
# The order of these imports is the order of "known types" in error messages: keep it.
from evals.graders import text, numeric, json_graders, tool_calls  # noqa: F401
from evals.graders import edit_distance, model_graded, custom, composite  # noqa: F401
from evals.graders import choice  # noqa: F401
from evals.graders import code_exec  # noqa: F401
from evals.graders import promptfoo_text, structure, sql, overlap  # noqa: F401
from evals.graders import response_facts, tool_checks, promptfoo_model  # noqa: F401

# isort: on
from evals.graders.base import (
    Embedder,
    GradeContext,
    Grader,
    GraderSpecError,
    Judge,
    JudgeReply,
)
from evals.graders.registry import (
    build_grader,
    combine,
    grade_all,
    grade_all_async,
    known_types,
)

KNOWN_TYPES: tuple[str, ...] = known_types()  # every grader module is imported by now

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
