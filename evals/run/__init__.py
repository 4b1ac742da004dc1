"""One run, orchestrated: plan, engine, grading, store; resume."""
