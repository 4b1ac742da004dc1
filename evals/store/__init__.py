"""The store: runs, results and the response cache."""

from evals.store.sqlite import ResultRecord, Store, default_home

__all__ = ["ResultRecord", "Store", "default_home"]
