"""evals: evaluation and cost-benchmarking harness for OpenAI-compatible LLM APIs."""

__version__ = "0.1.0"
