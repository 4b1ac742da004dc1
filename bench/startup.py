"""Benchmark 5, start-up: wall time of `evals --help` (median of 20 runs); target < 0.3 s.

Also measured, for context: `evals run --help`, the bare interpreter (`python -c pass`),
and `python -c "import openai"`; and `python -X importtime` of `evals --help` and of
`evals run --help`, summarised as the slowest top-level imports. hyperfine is used as a
cross-check when it is on PATH (it is not installed by this script).

    .venv/bin/python bench/startup.py
    .venv/bin/python bench/startup.py --quick      # 5 runs
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH,
    EVALS,
    VENV_PY,
    WORK,
    Sim,
    add_evals_src_arg,
    arith_workload,
    child_env,
    evals_env,
    evals_pythonpath,
    evals_run_cmd,
    log,
    md_table,
    median,
    save_result,
    use_evals_src,
    write_runner,
)

TARGET_S = 0.3


def time_runs(cmd: list[str], runs: int, env: dict[str, str]) -> list[float]:
    out = []
    subprocess.run(cmd, env=env, capture_output=True, timeout=60)  # warm the page cache
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, timeout=60, check=True)
        out.append(time.perf_counter() - t)
    return out


def import_times(cmd: list[str], env: dict[str, str], top: int = 12) -> list[tuple[str, float]]:
    """Import time (self, summed) per top-level package from `python -X importtime`."""
    res = subprocess.run(
        [str(VENV_PY), "-X", "importtime", *cmd],
        env=env,
        cwd=WORK,
        capture_output=True,
        text=True,
        timeout=120,
    )
    per_pkg: dict[str, float] = {}
    for line in res.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            pkg = m.group(3).split(".")[0]
            per_pkg[pkg] = per_pkg.get(pkg, 0.0) + int(m.group(1)) / 1e6
    total = sum(per_pkg.values())
    rows = sorted(per_pkg.items(), key=lambda r: -r[1])[:top]
    return [("(all imports)", total), *rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5 runs")
    add_evals_src_arg(parser)
    args = parser.parse_args()
    use_evals_src(args.evals_src)
    runs = 5 if args.quick else args.runs
    WORK.mkdir(parents=True, exist_ok=True)
    env = child_env(evals_pythonpath())
    cases = {
        "evals --help": [str(EVALS), "--help"],
        "evals run --help": [str(EVALS), "run", "--help"],
        "python -c pass": [str(VENV_PY), "-c", "pass"],
        "python -c 'import openai'": [str(VENV_PY), "-c", "import openai"],
    }
    results: dict[str, Any] = {}
    for name, cmd in cases.items():
        times = time_runs(cmd, runs, env)
        results[name] = {"median_s": median(times), "min_s": min(times), "max_s": max(times)}
        log(f"{name}: median {median(times) * 1000:.0f} ms")
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        res = subprocess.run(
            [hyperfine, "-N", "--warmup", "2", "--runs", str(runs), f"{EVALS} --help"],
            env=env,
            capture_output=True,
            text=True,
        )
        results["hyperfine"] = res.stdout
    _cases, suite = arith_workload(1)
    work = WORK / "startup"
    imports = {
        "evals --help": import_times(["-m", "evals", "--help"], env),
        "evals run --help": import_times(["-m", "evals", "run", "--help"], env),
    }
    with Sim(BENCH / "sim.yaml") as sim:
        runner = write_runner(work / "runner.yaml", sim.base_url, "sim-perfect", 8)
        cmd = [*evals_run_cmd(suite, runner, work / "report", 8)]
        cmd = ["-m", "evals", *cmd[1:]]
        run_env = {**env, **evals_env(work / "home")}
        one = time_runs([str(VENV_PY), *cmd], runs, run_env)
        results["evals run (1 case, whole process)"] = {
            "median_s": median(one),
            "min_s": min(one),
            "max_s": max(one),
        }
        log(f"evals run, 1 case: median {median(one) * 1000:.0f} ms")
        imports["evals run (1 case)"] = import_times(cmd, run_env)
    results["imports"] = imports

    rows = [
        [
            name,
            f"{r['median_s'] * 1000:.0f} ms",
            f"{r['min_s'] * 1000:.0f}–{r['max_s'] * 1000:.0f} ms",
            ("yes" if r["median_s"] < TARGET_S else "**no**") if name == "evals --help" else "",
        ]
        for name, r in results.items()
        if isinstance(r, dict) and "median_s" in r
    ]
    print(
        f"median of {runs} runs (time.perf_counter around subprocess.run); target "
        f"`evals --help` < {TARGET_S * 1000:.0f} ms\n"
        + md_table(["command", "median", "range", "meets target"], rows)
    )
    for name, rows_ in imports.items():
        print(f"\nimport time by top-level package, `{name}` (python -X importtime, self):")
        print(md_table(["module", "ms"], [[m, f"{s * 1000:.1f}"] for m, s in rows_]))
    if hyperfine:
        print("\nhyperfine:\n" + results["hyperfine"])
    path = save_result("startup" + ("-quick" if args.quick else ""), {"runs": runs, **results})
    log(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
