"""Benchmark 3, rate-limit-bound: a 600 RPM model (60 s sliding window), 1,200 cases.

Two variants of the runner profile, each against a fresh sim:
  declared   the endpoint says `rpm: 600` (the engine can pace itself from the start)
  learned    no `rpm:`; the engine must learn from x-ratelimit-* headers and 429s

What the limit allows (see RESULTS.md for the derivation): the window starts empty, so
the first 600 requests may go at once; request i (0-based) may go no earlier than
t(i-600) + 60 s. A client sending at its unthrottled rate R whenever allowed finishes N
requests at T = 60 k + (N - 600 k) / R with k = ceil(N / 600) - 1. For N = 1,200,
T = 60 s + 600 / R (about 61-62 s here). Target: wall within 10% of T, and at most 2% of
the requests the sim saw answered 429 (counted from the sim's --log).

    .venv/bin/python bench/ratelimit.py                 # 1,200 cases, both variants
    .venv/bin/python bench/ratelimit.py --quick         # 120 cases at 60 RPM, declared only
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH,
    VENV_PY,
    WORK,
    Sim,
    add_evals_src_arg,
    arith_workload,
    evals_env,
    evals_run_cmd,
    log,
    md_table,
    measure,
    read_sim_log,
    save_result,
    summary_passed,
    use_evals_src,
    write_runner,
    write_sim_config,
)

WINDOW_S = 60.0


def allowed_s(n: int, rpm: int, rate: float) -> float:
    """Earliest finish of n requests under an rpm sliding window that starts empty."""
    k = math.ceil(n / rpm) - 1
    return WINDOW_S * k + (n - rpm * k) / rate


def unthrottled_rate(n: int, concurrency: int) -> float:
    """Requests/s of the bare SDK loop against the same sim without a limit."""
    cases, _ = arith_workload(n)
    with Sim(BENCH / "sim.yaml") as sim:
        cmd = [VENV_PY, BENCH / "bare_loop.py", "--base-url", sim.base_url]
        m = measure(
            [*cmd, "--model", "sim-perfect", "--cases", cases, "--concurrency", concurrency],
            cwd=WORK,
            timeout_s=120,
        )
    info = json.loads(m.stdout.strip().splitlines()[-1])
    return n / info["loop_s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1200)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--variants", default="declared,learned")
    parser.add_argument("--timeout", type=float, default=300, help="per run, seconds")
    parser.add_argument(
        "--quick", action="store_true", help="120 cases at 60 RPM, declared variant only"
    )
    add_evals_src_arg(parser)
    args = parser.parse_args()
    use_evals_src(args.evals_src)
    if args.quick:
        args.cases, args.rpm, args.variants = 120, 60, "declared"
    n, rpm, conc = args.cases, args.rpm, args.concurrency
    work = WORK / "ratelimit"
    work.mkdir(parents=True, exist_ok=True)
    model = f"sim-rpm{rpm}"
    sim_cfg = write_sim_config(work / "sim.yaml", {model: {"accuracy": 1.0, "rpm": rpm}})
    cases, suite = arith_workload(n)

    # the first rpm requests of the window go as fast as the client can send them
    rate = unthrottled_rate(min(n, rpm), conc)
    allowed = allowed_s(n, rpm, rate)
    log(f"unthrottled {rate:.0f} req/s; the limit allows {n} requests in {allowed:.1f} s")

    results: dict[str, Any] = {}
    for variant in [v for v in args.variants.split(",") if v]:
        declared = rpm if variant == "declared" else None
        sim_log = work / f"sim-{variant}.jsonl"
        with Sim(sim_cfg, log=sim_log) as sim:
            runner = write_runner(
                work / f"runner-{variant}.yaml", sim.base_url, model, conc, rpm=declared
            )
            out = work / f"report-{variant}"
            shutil.rmtree(out, ignore_errors=True)
            m = measure(
                evals_run_cmd(suite, runner, out, conc),
                env=evals_env(work / f"home-{variant}"),
                cwd=work,
                timeout_s=args.timeout,
            )
        reqs = read_sim_log(sim_log)
        n429 = sum(1 for r in reqs if r["status"] == 429)
        ok = [r for r in reqs if r["status"] == 200]
        span = (max(r["ts"] for r in ok) - min(r["ts"] for r in reqs)) if ok else None
        passed = summary_passed(out / "summary.json") if (out / "summary.json").exists() else None
        results[variant] = {
            "rc": m.rc,
            "timed_out": m.timed_out,
            "wall_s": m.wall_s,
            "cpu_s": m.cpu_s,
            "requests": len(reqs),
            "ok_200": len(ok),
            "status_429": n429,
            "share_429": n429 / len(reqs) if reqs else None,
            "span_s": span,
            "passed_errors": passed,
            "stderr_tail": m.stderr[-1500:],
        }
        log(
            f"{variant}: rc={m.rc} wall={m.wall_s:.1f}s requests={len(reqs)} 429s={n429} "
            f"200s={len(ok)} passed/errors={passed}"
        )

    rows = []
    for variant, r in results.items():
        share = r["share_429"]
        meets = (
            r["rc"] == 0
            and r["wall_s"] <= 1.10 * allowed
            and share is not None
            and share <= 0.02
            and r["ok_200"] >= n
        )
        rows.append(
            [
                f"rpm {'declared' if variant == 'declared' else 'not declared (learned)'}",
                f"{r['wall_s']:.1f} s" + (" (killed)" if r["timed_out"] else ""),
                f"{r['wall_s'] / allowed:.2f}×",
                f"{r['span_s']:.1f} s" if r["span_s"] is not None else "",
                f"{r['requests']} ({r['ok_200']} × 200)",
                f"{r['status_429']} ({(share or 0) * 100:.1f}%)",
                str(r["rc"]),
                "yes" if meets else "**no**",
            ]
        )
    print(
        f"{n} cases, sim {rpm} RPM (60 s sliding window, starts empty), concurrency {conc}; "
        f"allowed ≈ {allowed:.1f} s (unthrottled {rate:.0f} req/s); targets: wall ≤ "
        f"{1.1 * allowed:.1f} s, 429s ≤ 2%\n"
        + md_table(
            [
                "runner profile",
                "wall (process)",
                "÷ allowed",
                "first request → last 200",
                "requests sent",
                "429s",
                "exit",
                "meets targets",
            ],
            rows,
        )
    )
    path = save_result(
        "ratelimit" + ("-quick" if args.quick else ""),
        {
            "cases": n,
            "rpm": rpm,
            "concurrency": conc,
            "unthrottled_rate": rate,
            "allowed_s": allowed,
            "results": results,
        },
    )
    log(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
