"""Benchmark 4, memory: peak RSS of `evals run` at 10k, 100k (and 1M) cases.

Zero-latency sim model, concurrency 64, no --limit, a fresh child process per size.
Peak RSS is wait4's ru_maxrss of the `evals run` process (the kernel's high-water mark),
cross-checked by polling /proc every 50 ms. Target: at most 1.2x growth from 100k to 1M
(memory must not grow with the number of cases).

    .venv/bin/python bench/memory.py                              # 10k and 100k
    .venv/bin/python bench/memory.py --sizes 10000,100000,1000000 # 1M: about an hour or more
    .venv/bin/python bench/memory.py --quick                      # 2k and 20k

Each size's run is bounded by --timeout-per-case x cases (default 20 ms per case, at
least 120 s); a run that overruns is killed and reported as such.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH,
    WORK,
    Sim,
    add_evals_src_arg,
    arith_workload,
    evals_env,
    evals_run_cmd,
    log,
    md_table,
    measure,
    save_result,
    summary_passed,
    use_evals_src,
    write_runner,
)

MODEL = "sim-perfect"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout-per-case", type=float, default=0.02, metavar="S")
    parser.add_argument("--quick", action="store_true", help="sizes 2000,20000")
    parser.add_argument("--keep", action="store_true", help="keep the store and report")
    add_evals_src_arg(parser)
    args = parser.parse_args()
    use_evals_src(args.evals_src)
    sizes = [2000, 20000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    conc = args.concurrency
    work = WORK / "memory"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, Any]] = {}
    for n in sizes:
        log(f"{n} cases: generating the cases file")
        _cases, suite = arith_workload(n)
        out = work / f"report-{n}"
        shutil.rmtree(out, ignore_errors=True)
        home = work / f"home-{n}"
        with Sim(BENCH / "sim.yaml") as sim:
            runner = write_runner(work / "runner.yaml", sim.base_url, MODEL, conc)
            log(f"{n} cases: evals run")
            m = measure(
                evals_run_cmd(suite, runner, out, conc),
                env=evals_env(home),
                cwd=work,
                timeout_s=max(120.0, n * args.timeout_per_case),
                poll_rss=True,
            )
        passed = summary_passed(out / "summary.json") if (out / "summary.json").exists() else None
        db = sum(f.stat().st_size for f in home.rglob("*") if f.is_file())
        report = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) if out.exists() else 0
        results[n] = {
            "rc": m.rc,
            "timed_out": m.timed_out,
            "wall_s": m.wall_s,
            "cpu_s": m.cpu_s,
            "maxrss_mb": m.maxrss_kb / 1024,
            "polled_peak_mb": m.peak_rss_tree_kb / 1024,
            "passed_errors": passed,
            "store_mb": db / 2**20,
            "report_mb": report / 2**20,
            "stderr_tail": m.stderr[-1500:],
        }
        log(
            f"{n}: rc={m.rc} wall={m.wall_s:.1f}s maxrss={m.maxrss_kb / 1024:.0f} MB "
            f"polled={m.peak_rss_tree_kb / 1024:.0f} MB passed/errors={passed}"
        )
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(home, ignore_errors=True)

    rows = []
    prev = None
    for n, r in results.items():
        growth = f"{r['maxrss_mb'] / prev:.2f}×" if prev else ""
        prev = r["maxrss_mb"]
        status = "killed (timeout)" if r["timed_out"] else f"exit {r['rc']}"
        rows.append(
            [
                f"{n:,}",
                f"{r['maxrss_mb']:.0f} MB",
                f"{r['polled_peak_mb']:.0f} MB",
                growth,
                f"{r['wall_s']:.1f} s",
                f"{n / r['wall_s']:.0f}",
                f"{r['store_mb']:.0f} MB",
                f"{r['report_mb']:.1f} MB",
                status,
            ]
        )
    print(
        f"`evals run`, zero-latency sim, concurrency {conc}\n"
        + md_table(
            [
                "cases",
                "peak RSS (wait4)",
                "peak RSS (polled)",
                "growth vs previous",
                "wall",
                "cases/s",
                "store size",
                "report size",
                "status",
            ],
            rows,
        )
    )
    path = save_result(
        "memory" + ("-quick" if args.quick else ""),
        {"concurrency": conc, "results": results},
    )
    log(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
