"""Benchmark 7, report: a 100,000-result run report's size, build time and first paint.

A run of `evals sim` answers (25,000 arithmetic cases x 2 models x 2 repeats, one at
accuracy 0.7 so there are failures and disagreements to show) is stored once; then
`evals report RUN_ID` rebuilds the report (timed: wall clock of the whole process,
importing and charting included), and headless Chromium (Debian's chromium and
chromedriver, as the browser tests) opens it from disk: first contentful paint from
the Paint Timing API, and the time until the case explorer has rendered its first page.
Targets (issue 8): file under 30 MB, FCP under 3 s, build under 20 s.

    .venv/bin/python bench/report.py                  # 100,000 results
    .venv/bin/python bench/report.py --cases 2500     # 10,000 results, quick
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (  # noqa: E402
    EVALS,
    WORK,
    Sim,
    arith_workload,
    evals_env,
    evals_pythonpath,
    log,
    machine_info,
    md_table,
    measure,
    median,
    save_result,
    write_sim_config,
)

MODELS = {"sim-perfect": {"accuracy": 1.0}, "sim-70": {"accuracy": 0.7}}


def write_runner(path: Path, base_url: str) -> Path:
    lines = [
        "endpoints:",
        f"  sim: {{base_url: {json.dumps(base_url)}, api_key_env: null, max_concurrency: 64}}",
        "models:",
        *(f"  - {{id: {m}, endpoint: sim}}" for m in MODELS),
        "pricing:",
        "  sim-perfect: {input: 2.50, output: 10.0, source: bench}",
        "  sim-70: {input: 0.15, output: 0.60, source: bench}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored_run(work: Path, cases: int) -> tuple[Path, str, int]:
    """The EVALS_HOME holding one run of `cases` x 2 models x 2 repeats (made once)."""
    home = work / f"home-{cases}"
    db = home / "evals.sqlite"
    if db.exists():
        with sqlite3.connect(db) as con:
            row = con.execute("SELECT run_id FROM runs WHERE complete = 1 LIMIT 1").fetchone()
            if row:
                n = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                return home, row[0], n
    shutil.rmtree(home, ignore_errors=True)
    _cases, suite = arith_workload(cases, tag="report")
    sim_config = write_sim_config(work / "sim-report.json", MODELS)
    with Sim(sim_config) as sim:
        runner = write_runner(work / "runner-report.yaml", sim.base_url)
        cmd = [str(EVALS), "run", str(suite), "-r", str(runner), "--repeat", "2"]
        cmd += ["--out", str(work / "run-report")]
        log(f"evals run: {cases:,} cases x {len(MODELS)} models x 2 repeats")
        m = measure(cmd, env=evals_env(home), cwd=work, timeout_s=3600)
    if m.rc not in (0, 1):  # 1: a gate failed (accuracy 0.7 is not "passing")
        raise SystemExit(f"evals run failed ({m.rc}): {m.stderr[-2000:]}")
    with sqlite3.connect(db) as con:
        run_id = con.execute("SELECT run_id FROM runs").fetchone()[0]
        n = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    log(f"stored {n:,} results in {m.wall_s:.0f} s")
    return home, run_id, n


_PAINT = """
const fcp = performance.getEntriesByName('first-contentful-paint')[0];
const nav = performance.getEntriesByType('navigation')[0];
return {fcp: fcp ? fcp.startTime : null, load: nav ? nav.loadEventEnd : null,
        count: (document.getElementById('x-count') || {}).textContent || ''};
"""


def paint_times(path: Path, repeats: int) -> list[dict[str, Any]]:
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import chromium

    runs = []
    for _ in range(repeats):
        with chromium() as driver:
            started = time.perf_counter()
            driver.get(path.as_uri())
            WebDriverWait(driver, 60).until(
                lambda d: "samples" in d.find_element("id", "x-count").text
            )
            ready = (time.perf_counter() - started) * 1000
            times = driver.execute_script(_PAINT)
            severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
            runs.append({**times, "explorer_ready_ms": ready, "console_errors": len(severe)})
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=25_000, help="cases (x 2 models x 2)")
    parser.add_argument("--repeats", type=int, default=3, help="builds and page loads")
    args = parser.parse_args()
    work = WORK / "report"
    work.mkdir(parents=True, exist_ok=True)
    home, run_id, results = stored_run(work, args.cases)

    builds = []
    out = work / "out"
    for _ in range(args.repeats):
        shutil.rmtree(out, ignore_errors=True)
        cmd = [str(EVALS), "report", run_id, "--out", str(out)]
        env = {"EVALS_HOME": str(home), **evals_pythonpath()}  # evals_env() would empty it
        m = measure(cmd, env=env, cwd=work, timeout_s=600, poll_rss=True)
        if m.rc != 0:
            raise SystemExit(f"evals report failed ({m.rc}): {m.stderr[-2000:]}")
        builds.append(m)
        log(f"build {m.wall_s:.1f} s, peak RSS {m.maxrss_kb / 1024:.0f} MB")
    page = out / "index.html"
    size_mb = page.stat().st_size / 1e6
    loads = paint_times(page, args.repeats)
    for load in loads:
        log(f"FCP {load['fcp']:.0f} ms, explorer ready {load['explorer_ready_ms']:.0f} ms")

    build_s = median([b.wall_s for b in builds])
    fcp_ms = median([x["fcp"] for x in loads])
    ready_ms = median([x["explorer_ready_ms"] for x in loads])
    rss_mb = median([b.maxrss_kb / 1024 for b in builds])
    print(
        f"`evals report` of {results:,} results ({args.cases:,} cases x 2 models x 2 repeats), "
        f"median of {args.repeats}\n"
        + md_table(
            [
                "results",
                "file",
                "build (wall)",
                "build peak RSS",
                "FCP",
                "explorer ready",
                "console errors",
            ],
            [
                [
                    f"{results:,}",
                    f"{size_mb:.1f} MB",
                    f"{build_s:.1f} s",
                    f"{rss_mb:.0f} MB",
                    f"{fcp_ms:.0f} ms",
                    f"{ready_ms:.0f} ms",
                    str(max(x["console_errors"] for x in loads)),
                ]
            ],
        )  # fmt: skip
    )
    path = save_result(
        "report",
        {
            "machine": machine_info(),
            "results": results,
            "file_mb": size_mb,
            "build_s": [b.wall_s for b in builds],
            "build_rss_mb": [b.maxrss_kb / 1024 for b in builds],
            "loads": loads,
        },
    )
    log(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
