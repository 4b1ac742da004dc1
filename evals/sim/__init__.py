"""`evals sim`: a deterministic OpenAI-compatible HTTP server for demos, tests and benchmarks.

Modules: ``config`` (model settings, YAML), ``behaviour`` (answers and token counts),
``validate`` (OpenAI's 400s), ``faults`` (injected failures), ``ratelimit`` (rpm/tpm and
headers), ``payloads`` (wire formats), ``api`` (endpoints and the request log) and
``server`` (HTTP/1.1 on asyncio; ``serve`` and ``start_in_thread``).
"""
