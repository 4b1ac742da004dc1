"""`evals validate`: tell a suite from a runner profile and check it fully."""

from __future__ import annotations

from pathlib import Path

from evals.config.yamlload import load_yaml


def validate_file(path: Path) -> str:
    """Check one file; return a one-line description, or raise InputError."""
    tree = load_yaml(path)
    if isinstance(tree, dict) and "endpoints" in tree:
        from evals.config.runner import load_runner
        from evals.endpoints.client import missing_key

        profile = load_runner(path)
        unset = [
            spec.api_key_env
            for name, spec in sorted(profile.endpoints.items())
            if missing_key(name, spec)
        ]
        note = f"; not set here: {', '.join(unset)} (a run needs them)" if unset else ""
        return f"runner profile, {len(profile.models)} models{note}"
    from evals.config.suite import check_cases, load_suite

    suite = load_suite(path)
    count = check_cases(suite)
    return f"suite '{suite.name}', {count} cases, prompts {', '.join(suite.prompts)}"
