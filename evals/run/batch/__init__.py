"""Runs sent as batches: the provider's Batch API (`--mode batch`) or offline files
(`--mode batch-file`, read back by `evals ingest`).

The flow: the plan is streamed once into JSONL files on disk, chunked to the endpoint's
limits (`files`), each line's `custom_id` naming its sample (`lines`); each file is
uploaded and a batch created (`provider`), their ids stored as soon as they exist
(the store's batch state), so a process that dies at any point re-attaches on resume
without uploading again; batches are polled with backoff, and each one that ends has its
output matched back to its samples by `custom_id` (`ingest`) and handed to the same
Collector an online run uses, so stored rows and grading are the same. Requests a batch
did not answer are sent again as a new batch, or online with `--fallback online`
(`session`).
"""
