"""`evals load`: an open-loop load generator for the models of a runner profile.

schedule.py (when to send, and the flags), generator.py (send and time), stats.py
(the figures of one step), run.py (suites, runner, served endpoints, every step).
"""

from evals.load.run import LoadOptions, LoadRun, run_load

__all__ = ["LoadOptions", "LoadRun", "run_load"]
