"""`evals sim`: a deterministic OpenAI-compatible HTTP server for demos, tests and benchmarks.

Modules: ``config`` (model settings, YAML), ``behaviour`` (plain answers), ``usage`` (token
rules and the usage object), ``chat`` (which surface answers a chat request), ``tools``
(function calling), ``structured`` (``response_format`` and the judge), ``schemafill`` (JSON
Schema filling shared by both), ``textutil`` (hashing, words, entities), ``vision`` (images),
``audio`` + ``multipart`` (transcription), ``embed`` (bag-of-words embeddings), ``media``
(embeddings and transcription endpoints), ``validate`` (OpenAI's 400s), ``faults``
(injected failures), ``ratelimit`` (rpm/tpm and headers), ``admission`` (quota, faults and
rate limits before an answer), ``payloads`` (wire formats), ``loadmodel`` (decoding slots,
a FIFO queue and token timing for ``slots`` models), ``reqlog`` (the request log), ``api``
(routing) and ``server`` (HTTP/1.1 on asyncio; ``serve`` and ``start_in_thread``).
"""
