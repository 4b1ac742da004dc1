"""Benchmark 2, latency-bound: 2,000 cases against a 200 ms model at concurrency 100.

The ideal is 2000 x 0.2 s / 100 = 4.0 s; the target is the whole `evals run` process
(start-up, plan, requests, grading, store, report) within 1.05 x that = 4.2 s. The bare
AsyncOpenAI loop is measured alongside as the SDK's ceiling.

    .venv/bin/python bench/latency.py              # 3 repeats each
    .venv/bin/python bench/latency.py --quick      # 500 cases, 1 repeat
"""

from __future__ import annotations

import argparse
import json
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
    median,
    read_sim_log,
    save_result,
    summary_passed,
    use_evals_src,
    write_runner,
)

MODEL = "sim-200ms"


def request_span(sim_log: Path) -> float:
    """First chat request received → last response sent (sim log ts + the model latency)."""
    ts = [r["ts"] for r in read_sim_log(sim_log)]
    return max(ts) + LATENCY_S - min(ts) if ts else float("nan")


LATENCY_S = 0.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="500 cases, 1 repeat")
    add_evals_src_arg(parser)
    args = parser.parse_args()
    use_evals_src(args.evals_src)
    if args.quick:
        args.cases, args.repeats = 500, 1
    n, conc = args.cases, args.concurrency
    ideal = n * LATENCY_S / conc
    target = 1.05 * ideal
    cases, suite = arith_workload(n)
    work = WORK / "latency"
    work.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {"evals": [], "bare": []}
    sim_log = work / "sim-log.jsonl"
    for rep in range(args.repeats):
        with Sim(BENCH / "sim.yaml", log=sim_log) as sim:
            runner = write_runner(work / "runner.yaml", sim.base_url, MODEL, conc)
            out = work / "report"
            shutil.rmtree(out, ignore_errors=True)
            m = measure(
                evals_run_cmd(suite, runner, out, conc),
                env=evals_env(work / "home"),
                cwd=work,
                timeout_s=300,
            )
            correct = summary_passed(out / "summary.json")[0] if m.rc == 0 else None
        span = request_span(sim_log)
        runs["evals"].append({**m.brief(), "correct": correct, "span_s": span})
        log(f"evals #{rep + 1}: rc={m.rc} wall={m.wall_s:.2f}s span={span:.2f}s correct={correct}")
        if m.rc != 0:
            log(m.stderr[-1500:])
        with Sim(BENCH / "sim.yaml", log=sim_log) as sim:
            cmd = [VENV_PY, BENCH / "bare_loop.py", "--base-url", sim.base_url, "--model", MODEL]
            m = measure([*cmd, "--cases", cases, "--concurrency", conc], cwd=work, timeout_s=300)
            info = json.loads(m.stdout.strip().splitlines()[-1]) if m.rc == 0 else {}
        span = request_span(sim_log)
        runs["bare"].append({**m.brief(), "correct": info.get("correct"), "span_s": span})
        log(f"bare #{rep + 1}: rc={m.rc} wall={m.wall_s:.2f}s span={span:.2f}s")

    rows = []
    summary: dict[str, Any] = {}
    for tool, rs in runs.items():
        good = [r for r in rs if r["rc"] == 0 and r["correct"] == n]
        wall = median([r["wall_s"] for r in good])
        span = median([r["span_s"] for r in good])
        summary[tool] = {
            "wall_s": wall,
            "span_s": span,
            "ok_runs": len(good),
            "walls": [r["wall_s"] for r in rs],
        }
        rows.append(
            [
                "evals run" if tool == "evals" else "bare AsyncOpenAI loop",
                f"{wall:.2f} s",
                f"{wall / ideal:.3f}×",
                f"{span:.2f} s ({span / ideal:.3f}×)",
                ("yes" if wall <= target else "**no**") if tool == "evals" else "",
                ", ".join(f"{r['wall_s']:.2f}" for r in rs),
                f"{len(good)}/{len(rs)}",
            ]
        )
    print(
        f"{n} cases, latency {LATENCY_S * 1000:.0f} ms, concurrency {conc}: ideal {ideal:.2f} s, "
        f"target ≤ {target:.2f} s (whole process)\n"
        + md_table(
            [
                "tool",
                "median wall (process)",
                "÷ ideal",
                "first request → last response (÷ ideal)",
                "meets target",
                "process walls (s)",
                "ok runs",
            ],
            rows,
        )
    )
    path = save_result(
        "latency" + ("-quick" if args.quick else ""),
        {
            "cases": n,
            "concurrency": conc,
            "ideal_s": ideal,
            "target_s": target,
            "summary": summary,
            "runs": runs,
        },
    )
    log(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
