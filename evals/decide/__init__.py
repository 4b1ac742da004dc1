"""Decisions the numbers support: regression gates, model selection, cost forecasts.

Regression gates (`evals compare`, `evals run --baseline`): sources.py loads each
side (a stored run or an `evals export` JSONL file); compare.py pairs their rows
and samples and gives each row a verdict; outputs.py writes what CI reads (JSON,
JUnit XML, Markdown). selection.py and forecast.py hold model selection and cost
forecasting. Nothing here prints.
"""
