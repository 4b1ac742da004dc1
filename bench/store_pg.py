"""Overhead with the PostgreSQL store beside SQLite's (target: >= 0.9x SQLite's cases/s).

Runs `bench/overhead.py --tools evals` in alternation with the default SQLite store and
with `EVALS_STORE` set to a throwaway PostgreSQL cluster on 127.0.0.1 (tests/pg.py: the
same one the tests start), so drift on the machine hits both alike; then two workers of
one distributed run against one endpoint beside one process alone. Results are saved to
bench/.work/results/store_pg.json.

    .venv/bin/python bench/store_pg.py [--cases 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import WORK, save_result  # noqa: E402
from tests.pg import PgCluster  # noqa: E402

PY = REPO / ".venv" / "bin" / "python"


def overhead(cases: int, env: dict[str, str]) -> dict:
    subprocess.run(
        [str(PY), str(REPO / "bench" / "overhead.py"), "--tools", "evals", "--cases",
         str(cases), "--repeats", "1"],
        env=env, check=True, cwd=REPO, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    data = json.loads((WORK / "results" / "overhead-evals.json").read_text())
    return data["summary"]["evals"]


FLEET_CASES = 400  # of sim-200ms (200 ms a request) at 8 in flight per worker


def fleet(url: str, env: dict[str, str], workers: int) -> float:
    """Wall seconds of one distributed run of FLEET_CASES latency-bound cases worked by
    `workers` processes against one `evals sim` (its own process)."""
    from bench.common import Sim, write_cases_jsonl, write_runner, write_suite

    cases = FLEET_CASES

    work = WORK / "store_pg" / f"fleet-{workers}"
    work.mkdir(parents=True, exist_ok=True)
    suite = write_suite(work / "suite.yaml", write_cases_jsonl(work / "cases.jsonl", cases))
    with Sim(REPO / "bench" / "sim.yaml") as sim:
        runner = write_runner(work / "runner.yaml", sim.base_url, "sim-200ms", 8)
        env = {**env, "EVALS_STORE": url, "EVALS_HOME": str(work / "home")}
        started = time.perf_counter()
        first = subprocess.Popen(
            [str(PY), "-m", "evals", "run", str(suite), "-r", str(runner), "--distributed",
             "--chunk-size", "100", "--no-cache"],
            env=env, cwd=work, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert first.stderr is not None
        run_id = first.stderr.readline().split("run: ", 1)[1].split()[0]
        others = [
            subprocess.Popen(
                [str(PY), "-m", "evals", "worker", run_id],
                env=env,
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for _ in range(workers - 1)
        ]
        for proc in others:
            proc.wait(timeout=900)
        first.communicate(timeout=900)
        if first.returncode != 0:
            raise RuntimeError(f"distributed run failed: {first.returncode}")
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cluster = PgCluster()
    cluster.start()
    try:
        url = cluster.fresh_database("bench")
        base = {k: v for k, v in os.environ.items() if k != "EVALS_STORE"}
        base.update(cluster.env)
        rows: dict[str, list[dict]] = {"sqlite": [], "postgres": []}
        for _ in range(args.rounds):
            rows["sqlite"].append(overhead(args.cases, base))
            rows["postgres"].append(overhead(args.cases, {**base, "EVALS_STORE": url}))
        summary = {
            name: {
                "cases_per_s": median(r["cases_per_s"] for r in runs),
                "cpu_ms_per_case": median(r["cpu_s_per_case"] for r in runs) * 1000,
                "marginal_cpu_ms_per_case": median(r["marginal_cpu_ms_per_case"] for r in runs),
                "all_cases_per_s": [round(r["cases_per_s"], 1) for r in runs],
            }
            for name, runs in rows.items()
        }
        ratio = summary["postgres"]["cases_per_s"] / summary["sqlite"]["cases_per_s"]
        walls = {n: fleet(cluster.fresh_database(f"fleet{n}"), base, n) for n in (1, 2)}
    finally:
        cluster.stop()
    result = {"cases": args.cases, "rounds": args.rounds, "summary": summary,
              "postgres_vs_sqlite": ratio, "fleet_wall_s": walls}  # fmt: skip
    print(json.dumps(result, indent=2))
    save_result("store_pg", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
