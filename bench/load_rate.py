"""How fast `evals load` can send on this machine: the highest open-loop rate whose sends
keep their schedule (lateness p99 under 5 ms), against a zero-latency `evals sim` in its own
process (so the endpoint is never the limit).

    .venv/bin/python bench/load_rate.py                      # 50 .. 800 requests/s, 3 s each
    .venv/bin/python bench/load_rate.py --rates 100,200 --duration 2s

Prints one line per rate (achieved rate, lateness p50/p99/max, client_bound) and the
highest rate held; the JSON goes to bench/.work/results/load-rate.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import EVALS, RESULTS, Sim, arith_workload, write_runner, write_sim_config

LATENESS_TARGET_S = 0.005


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200,300,400,600,800")
    parser.add_argument("--duration", default="3s")
    args = parser.parse_args()
    _, suite = arith_workload(2000, "load")
    RESULTS.mkdir(parents=True, exist_ok=True)
    config = write_sim_config(RESULTS / "load-sim.yaml", {"fast": {"accuracy": 1.0}})
    out = RESULTS / "load-rate.json"
    with Sim(config) as sim:
        runner = write_runner(RESULTS / "load-runner.yaml", sim.base_url, "fast", 1024)
        cmd = [str(EVALS), "load", str(suite), "-r", str(runner), "--rate", args.rates,
               "--duration", args.duration, "--json", str(out),
               "--out", str(RESULTS / "load")]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    rows = json.loads(out.read_text())["rows"]
    held = None
    for row in rows:
        ok = (row["lateness_p99_s"] or 0) < LATENESS_TARGET_S and not row["client_bound"]
        held = row["rate"] if ok else held
        print(
            f"rate {row['rate']:>6g}/s: achieved {row['achieved_rate']:.1f}/s, completed "
            f"{row['completed']}/{row['requests']}, lateness p50 "
            f"{row['lateness_p50_s'] * 1e3:.2f} ms p99 {row['lateness_p99_s'] * 1e3:.2f} ms "
            f"max {row['lateness_max_s'] * 1e3:.2f} ms, client_bound {row['client_bound']}"
        )
    print(f"highest rate held (lateness p99 < 5 ms): {held}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
