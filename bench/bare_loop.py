"""The practical ceiling on this SDK: a bare AsyncOpenAI loop with N concurrent workers.

Sends the same requests `evals run` sends for the bench suite (system "Reply with the
number only." + "What is A + B?", max_tokens 16, temperature 0) and counts correct
answers. No store, no grading beyond an int comparison, no report.

`--raw` posts the body as plain JSON through the same client and reads the JSON itself
(`client.post(..., cast_to=httpx2.Response)` + `json.loads`), skipping the SDK's typed
request transform and response models: the path `evals run` takes since 771c7d3, so
the ceiling for that path.

    .venv/bin/python bench/bare_loop.py --base-url http://127.0.0.1:PORT/v1 \
        --model sim-perfect --cases bench/.work/data/arith-2000.jsonl --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from openai import AsyncOpenAI

SYSTEM_PROMPT = "Reply with the number only."


async def main(args: argparse.Namespace) -> int:
    with open(args.cases, encoding="utf-8") as f:
        cases = [json.loads(line) for line in f]
    client = AsyncOpenAI(base_url=args.base_url, api_key="x", max_retries=0)
    todo = iter(cases)
    counts = {"correct": 0, "wrong": 0, "errors": 0}
    if args.raw:
        import httpx2

    async def ask(body: dict) -> str:
        if args.raw:
            resp = await client.post("/chat/completions", body=body, cast_to=httpx2.Response)
            return json.loads(resp.content)["choices"][0]["message"]["content"] or ""
        completion = await client.chat.completions.create(**body)
        return completion.choices[0].message.content or ""

    async def worker() -> None:
        for case in todo:
            a, b = case["vars"]["a"], case["vars"]["b"]
            body = {
                "model": args.model,
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": f"What is {a} + {b}?"},
                ],
                "max_tokens": 16,
                "temperature": 0,
            }
            try:
                text = (await ask(body)).strip()
            except Exception as exc:  # counted, never fatal
                counts["errors"] += 1
                if counts["errors"] <= 3:
                    print(f"error: {exc!r}", file=sys.stderr)
                continue
            ok = text.lstrip("-").isdigit() and int(text) == case["expect"]
            counts["correct" if ok else "wrong"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    elapsed = time.perf_counter() - started
    await client.close()
    print(json.dumps({**counts, "cases": len(cases), "loop_s": round(elapsed, 3)}))
    return 0 if counts["errors"] == 0 else 3


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="sim-perfect")
    parser.add_argument("--cases", required=True, help="evals JSONL (vars.a, vars.b, expect)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--raw", action="store_true", help="plain-JSON post, no SDK models")
    sys.exit(asyncio.run(main(parser.parse_args())))
