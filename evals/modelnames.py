"""Map a model id to a known family name, shared by pricing and capabilities.

Only two steps, on purpose: an exact match, then an exact match after removing
a dated snapshot suffix. No prefix or substring matching, because a guessed
family silently applies the wrong price or the wrong request rules
(`gpt-4o-mini` is not `gpt-4o`; `my-o3-finetune` is not `o3`).
"""

from __future__ import annotations

import re
from collections.abc import Collection

# `-2024-08-06` or `-20240806` at the very end of the id.
_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8})$")


def strip_snapshot(model: str) -> str | None:
    """Return `model` without its dated snapshot suffix, or None if it has none."""
    match = _SNAPSHOT_SUFFIX.search(model)
    if match is None or match.start() == 0:
        return None
    return model[: match.start()]


def resolve_family(model: str, known: Collection[str]) -> str | None:
    """Return the entry of `known` that `model` names, or None.

    Exact id first; else the id without a `-YYYY-MM-DD` / `-YYYYMMDD` suffix,
    matched exactly. Anything else is unknown rather than guessed.
    """
    if model in known:
        return model
    base = strip_snapshot(model)
    if base is not None and base in known:
        return base
    return None
