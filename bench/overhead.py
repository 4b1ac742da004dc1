"""Benchmark 1, overhead: cases/s and CPU per case against a zero-latency simulated model.

Same 2,000 one-line arithmetic cases, same sim model (`sim-perfect`, accuracy 1.0, no
latency), concurrency 64, whole processes measured with wait4 (user+sys of the child and
the descendants it reaped), each tool `--repeats` times (median reported):

  evals      `evals run SUITE -r RUNNER --concurrency 64` with a fresh EVALS_HOME
  bare       bench/bare_loop.py: AsyncOpenAI + 64 workers (the ceiling on this SDK)
  bare-raw   bench/bare_loop.py --raw: the same, posting plain JSON and reading the JSON
             itself (no typed request transform / response models), as evals does
  promptfoo  `npx promptfoo eval` (installed into bench/.work/promptfoo by this script)
  inspect    `inspect eval` (installed into bench/.work/inspect-venv by this script)

A fresh sim is started for every measured run; its own CPU is reported too (the sim and
the tool share the machine's 2 cores).

    .venv/bin/python bench/overhead.py                   # all tools, 3 repeats
    .venv/bin/python bench/overhead.py --tools evals,bare --repeats 5
    .venv/bin/python bench/overhead.py --quick           # 200 cases, 1 repeat
    .venv/bin/python bench/overhead.py --profile         # + py-spy: where the CPU goes
    .venv/bin/python bench/overhead.py --profile-only    # only that (10k cases per tool)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pstats
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH,
    MAX_TOKENS,
    SYSTEM_PROMPT,
    VENV_PY,
    WORK,
    Measurement,
    Sim,
    add_evals_src_arg,
    arith_workload,
    evals_env,
    evals_run_cmd,
    log,
    md_table,
    measure,
    median,
    save_result,
    summary_passed,
    use_evals_src,
    write_runner,
)

MODEL = "sim-perfect"
SIM_CONFIG = BENCH / "sim.yaml"
PROMPTFOO_VERSION = "0.121.20"
INSPECT_VERSION = "0.3.285"
PROMPTFOO_DIR = WORK / "promptfoo"
INSPECT_VENV = WORK / "inspect-venv"
PROMPTFOO_ENV = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1",
    "PROMPTFOO_DISABLE_UPDATE": "1",
    "PROMPTFOO_DISABLE_SHARING": "1",
    "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1",
    "PROMPTFOO_DISABLE_SHARE_EMAIL_REQUEST": "1",
    "PROMPTFOO_CACHE_ENABLED": "false",
    "NO_COLOR": "1",
}


# ---------------------------------------------------------------- installing the others


def ensure_promptfoo() -> None:
    """npm install promptfoo@PINNED into bench/.work/promptfoo (once)."""
    pkg = PROMPTFOO_DIR / "node_modules" / "promptfoo" / "package.json"
    if pkg.exists() and json.loads(pkg.read_text())["version"] == PROMPTFOO_VERSION:
        return
    PROMPTFOO_DIR.mkdir(parents=True, exist_ok=True)
    (PROMPTFOO_DIR / "package.json").write_text('{"name": "bench-promptfoo", "private": true}\n')
    log(f"npm install promptfoo@{PROMPTFOO_VERSION} (a few minutes, once)")
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", f"promptfoo@{PROMPTFOO_VERSION}"],
        cwd=PROMPTFOO_DIR,
        check=True,
        timeout=1200,
    )


def ensure_inspect() -> None:
    """python3 -m venv bench/.work/inspect-venv; pip install inspect-ai==PINNED openai (once).

    openai is pinned to the evals venv's version when pip can resolve it with inspect-ai;
    otherwise pip picks inspect's own.
    """
    py = INSPECT_VENV / "bin" / "python"
    probe = [str(py), "-c", "import inspect_ai; print(inspect_ai.__version__)"]
    if py.exists():
        out = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
        if out == INSPECT_VERSION:
            return
    log(f"creating {INSPECT_VENV} with inspect-ai=={INSPECT_VERSION} (a few minutes, once)")
    subprocess.run([sys.executable, "-m", "venv", str(INSPECT_VENV)], check=True)
    sdk = subprocess.run(
        [str(VENV_PY), "-c", "import openai; print(openai.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    pip = [str(py), "-m", "pip", "install", "-q", f"inspect-ai=={INSPECT_VERSION}"]
    if subprocess.run([*pip, f"openai=={sdk}"], timeout=1200).returncode != 0:
        subprocess.run([*pip, "openai"], check=True, timeout=1200)


def tool_versions() -> dict[str, str]:
    out: dict[str, str] = {}
    pkg = PROMPTFOO_DIR / "node_modules" / "promptfoo" / "package.json"
    if pkg.exists():
        out["promptfoo"] = json.loads(pkg.read_text())["version"]
        out["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
        out["node"] = out["node"].strip()
    py = INSPECT_VENV / "bin" / "python"
    if py.exists():
        code = "import inspect_ai, openai; print(inspect_ai.__version__, openai.__version__)"
        v = subprocess.run([str(py), "-c", code], capture_output=True, text=True).stdout.split()
        if len(v) == 2:
            out["inspect_ai"], out["inspect_openai_sdk"] = v
    return out


# ---------------------------------------------------------------- one run of each tool


def run_evals(sim: Sim, cases: Path, suite: Path, conc: int, work: Path) -> Measurement:
    runner = write_runner(work / "runner.yaml", sim.base_url, MODEL, conc)
    out = work / "report"
    shutil.rmtree(out, ignore_errors=True)
    cmd = evals_run_cmd(suite, runner, out, conc)
    m = measure(cmd, env=evals_env(work / "home"), cwd=work, timeout_s=900)
    if (out / "summary.json").exists():
        m.extra["correct"], m.extra["errors"] = summary_passed(out / "summary.json")
    return m


def run_bare(
    sim: Sim, cases: Path, suite: Path, conc: int, work: Path, raw: bool = False
) -> Measurement:
    cmd = [VENV_PY, BENCH / "bare_loop.py", "--base-url", sim.base_url, "--model", MODEL]
    cmd += ["--cases", cases, "--concurrency", conc] + (["--raw"] if raw else [])
    m = measure(cmd, cwd=work, timeout_s=900)
    if m.rc == 0:
        m.extra.update(json.loads(m.stdout.strip().splitlines()[-1]))
    return m


def write_promptfoo_config(work: Path, cases: Path, base_url: str) -> Path:
    prompt = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "What is {{a}} + {{b}}?"},
    ]
    (work / "prompt.json").write_text(json.dumps(prompt))
    with cases.open() as src, (work / "tests.csv").open("w", newline="") as dst:
        w = csv.writer(dst)
        w.writerow(["a", "b", "__expected"])
        for line in src:
            c = json.loads(line)
            w.writerow([c["vars"]["a"], c["vars"]["b"], f"equals:{c['expect']}"])
    provider = {
        "id": f"openai:chat:{MODEL}",
        "config": {
            "apiBaseUrl": base_url,
            "apiKey": "x",
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
        },
    }
    config = {
        "description": "bench overhead",
        "prompts": ["file://prompt.json"],
        "providers": [provider],
        "tests": "file://tests.csv",
        "sharing": False,
    }
    path = work / "promptfooconfig.yaml"
    path.write_text(json.dumps(config, indent=1))
    return path


def run_promptfoo(sim: Sim, cases: Path, suite: Path, conc: int, work: Path) -> Measurement:
    config = write_promptfoo_config(work, cases, sim.base_url)
    home = work / "promptfoo-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    out = work / "output.json"
    out.unlink(missing_ok=True)
    cmd = ["npx", "--no-install", "promptfoo", "eval", "-c", config, "--max-concurrency", conc]
    cmd += ["--no-cache", "--no-table", "--no-progress-bar", "--no-share", "-o", out]
    env = {**PROMPTFOO_ENV, "PROMPTFOO_CONFIG_DIR": str(home), "HOME": str(home)}
    env["npm_config_cache"] = str(PROMPTFOO_DIR / ".npm-cache")
    # PATH: npx resolves the locally installed bin from bench/.work/promptfoo
    m = measure(cmd, env=env, cwd=PROMPTFOO_DIR, timeout_s=900)
    if out.exists():
        stats = json.loads(out.read_text())["results"]["stats"]
        m.extra["correct"], m.extra["errors"] = stats["successes"], stats.get("errors", 0)
        m.extra["failures"] = stats.get("failures")
    return m


INSPECT_TASK = '''\
"""2,000 arithmetic samples for the overhead benchmark (generated by bench/overhead.py)."""

import json

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig
from inspect_ai.scorer import match
from inspect_ai.solver import generate


@task
def arith(cases: str):
    samples = []
    with open(cases) as f:
        for line in f:
            c = json.loads(line)
            a, b = c["vars"]["a"], c["vars"]["b"]
            messages = [
                ChatMessageSystem(content=SYSTEM),
                ChatMessageUser(content=f"What is {a} + {b}?"),
            ]
            samples.append(Sample(id=c["id"], input=messages, target=str(c["expect"])))
    return Task(
        dataset=MemoryDataset(samples),
        solver=generate(),
        scorer=match(numeric=True),
        config=GenerateConfig(max_tokens=MAX_TOKENS, temperature=0),
    )
'''

INSPECT_READ_LOG = """
import sys
from inspect_ai.log import list_eval_logs, read_eval_log
log = read_eval_log(list_eval_logs(sys.argv[1])[0], header_only=True)
s = log.results
acc = [m.value for sc in s.scores for k, m in sc.metrics.items() if k == "accuracy"][0]
print(s.completed_samples, acc)
"""


def run_inspect(sim: Sim, cases: Path, suite: Path, conc: int, work: Path) -> Measurement:
    task = work / "arith_task.py"
    task.write_text(
        INSPECT_TASK.replace("SYSTEM", repr(SYSTEM_PROMPT)).replace("MAX_TOKENS", str(MAX_TOKENS))
    )
    logs = work / "inspect-logs"
    shutil.rmtree(logs, ignore_errors=True)
    bin_ = INSPECT_VENV / "bin"
    cmd = [bin_ / "inspect", "eval", task.name, "-T", f"cases={cases}"]  # relative: cwd=work
    cmd += ["--model", f"openai-api/sim/{MODEL}", "--max-connections", conc]
    cmd += ["--log-dir", logs, "--display", "none"]
    env = {
        "SIM_BASE_URL": sim.base_url,
        "SIM_API_KEY": "x",
        "INSPECT_LOG_DIR": str(logs),
        "INSPECT_DISPLAY": "none",
        "HOME": str(work / "inspect-home"),
        "PATH": f"{bin_}:{os.environ['PATH']}",
    }
    m = measure(cmd, env=env, cwd=work, timeout_s=900)
    if m.rc == 0:
        res = subprocess.run(
            [bin_ / "python", "-c", INSPECT_READ_LOG, logs], capture_output=True, text=True
        )
        if res.returncode == 0:
            done, acc = res.stdout.split()
            m.extra["correct"] = round(int(done) * float(acc))
            m.extra["completed"] = int(done)
        else:
            m.extra["log_read_error"] = res.stderr[-500:]
    return m


def run_bare_raw(sim: Sim, cases: Path, suite: Path, conc: int, work: Path) -> Measurement:
    return run_bare(sim, cases, suite, conc, work, raw=True)


TOOLS: dict[str, Callable[..., Measurement]] = {
    "evals": run_evals,
    "bare": run_bare,
    "bare-raw": run_bare_raw,
    "promptfoo": run_promptfoo,
    "inspect": run_inspect,
}
DEFAULT_TOOLS = "evals,bare,bare-raw,promptfoo,inspect"
LABELS = {
    "evals": "evals run",
    "bare": "bare AsyncOpenAI loop",
    "bare-raw": "bare loop, plain-JSON post (--raw)",
    "promptfoo": "promptfoo eval",
    "inspect": "inspect eval",
}


# ---------------------------------------------------------------- profile

PYSPY_VERSION = "0.4.3"
TOOLS_VENV = WORK / "tools-venv"
PYSPY_RATE = 500

# A sample in module loading (an importlib frame anywhere on its stack) is charged to
# imports; any other sample to the concern of its leaf-most frame that belongs to one of
# these owners (path fragments of the frame's file; the first rule that matches wins).
# Libraries an owner calls (pydantic, jinja2, json, sqlite3, typing) are charged to it.
IMPORT_FRAME = "importlib._bootstrap"
CONCERNS: list[tuple[str, tuple[str, ...]]] = [
    ("imports (module loading, any time)", (IMPORT_FRAME,)),
    ("report: summary, stats, HTML, table", ("evals/report/", "evals/stats/")),
    ("store (SQLite writes, cache)", ("evals/store/",)),
    ("graders", ("evals/graders/",)),
    (
        "collect: grading glue, pricing, records",
        ("evals/run/collect.py", "evals/run/grade.py", "evals/pricing.py"),
    ),
    (
        "plan: cases, render, request body + hash",
        ("evals/run/plan.py", "evals/config/"),
    ),
    ("SDK: typed request transform (_utils)", ("openai/_utils/",)),
    (
        "SDK: models (request options, response parse)",
        ("openai/_models.py", "openai/_response.py", "openai/_legacy_response.py"),
    ),
    ("HTTP client (httpx2, httpcore2, h11, anyio)", ("httpx2/", "httpcore2/", "h11/", "anyio/")),
    ("SDK: other (client, auth, request plumbing)", ("openai/",)),
    ("engine: scheduler, limiter, executor, retry", ("evals/engine/",)),
    ("progress", ("evals/run/progress.py", "rich/")),
    ("harness: other (evals cli/run/session; bare_loop.py)", ("evals/", "bare_loop.py")),
    ("asyncio event loop, selectors, sockets", ("asyncio/", "selectors.py", "socket.py")),
]
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py:81)",)


def ensure_pyspy() -> Path:
    """py-spy (a binary wheel on PyPI) in bench/.work/tools-venv (once)."""
    exe = TOOLS_VENV / "bin" / "py-spy"
    if not exe.exists():
        log(f"installing py-spy=={PYSPY_VERSION} into {TOOLS_VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
        subprocess.run(
            [str(TOOLS_VENV / "bin" / "pip"), "install", "-q", f"py-spy=={PYSPY_VERSION}"],
            check=True,
            timeout=600,
        )
    return exe


def classify_stacks(raw: Path) -> tuple[dict[str, int], int]:
    """Samples per concern from py-spy's raw (collapsed) output; idle waits dropped."""
    counts: dict[str, int] = {label: 0 for label, _ in CONCERNS}
    counts["other (stdlib, native)"] = 0
    counts["no Python frame (interpreter start/exit)"] = 0
    idle = 0
    for line in raw.read_text().splitlines():
        stack, _, num = line.rpartition(" ")
        if not num.isdigit():
            continue
        n = int(num)
        frames = [f for f in stack.split(";") if f.strip()]
        if not frames:
            counts["no Python frame (interpreter start/exit)"] += n
            continue
        if frames[-1].startswith(IDLE_LEAVES):
            idle += n
            continue
        if any(IMPORT_FRAME in f for f in frames):
            counts[CONCERNS[0][0]] += n
            continue
        for frame in reversed(frames):
            label = next((lb for lb, parts in CONCERNS if any(p in frame for p in parts)), None)
            if label:
                counts[label] += n
                break
        else:
            counts["other (stdlib, native)"] += n
    return counts, idle


def profile_tool(tool: str, n: int, conc: int) -> dict[str, Any]:
    """Samples per concern of one whole run of `tool` (evals, bare, bare-raw) under py-spy.

    py-spy samples without pausing the target (--nonblocking: the pausing mode slowed
    runs ~1.8x and skewed the shares). Shares are turned into ms/case with the CPU of an
    unprofiled run of the same size (the profiled child is py-spy, whose CPU would count).
    """
    pyspy = ensure_pyspy()
    cases, suite = arith_workload(n)
    work = WORK / "overhead" / f"profile-{tool}"
    work.mkdir(parents=True, exist_ok=True)
    raw = work / "pyspy.raw.txt"
    raw.unlink(missing_ok=True)
    runner_fn = TOOLS[tool]
    with Sim(SIM_CONFIG) as sim:
        plain = runner_fn(sim, cases, suite, conc, work)
    if plain.rc != 0:
        raise RuntimeError(f"unprofiled run of {tool} failed: {plain.stderr[-2000:]}")
    with Sim(SIM_CONFIG) as sim:
        env: dict[str, str] = {}
        if tool == "evals":
            runner = write_runner(work / "runner.yaml", sim.base_url, MODEL, conc)
            shutil.rmtree(work / "report", ignore_errors=True)
            cmd = evals_run_cmd(suite, runner, work / "report", conc)
            cmd = [str(VENV_PY), "-m", "evals", *cmd[1:]]
            env = evals_env(work / "home")
        else:
            cmd = [str(VENV_PY), str(BENCH / "bare_loop.py"), "--base-url", sim.base_url]
            cmd += ["--model", MODEL, "--cases", str(cases), "--concurrency", str(conc)]
            cmd += ["--raw"] if tool == "bare-raw" else []
        spy = [str(pyspy), "record", "--nonblocking", "-r", str(PYSPY_RATE), "-f", "raw"]
        spy += ["-o", str(raw), "--"]
        m = measure([*spy, *cmd], env=env, cwd=work, timeout_s=900)
    if m.rc != 0 or not raw.exists():
        raise RuntimeError(f"py-spy run of {tool} failed: {m.stderr[-2000:]}")
    counts, idle = classify_stacks(raw)
    return {
        "tool": tool,
        "cases": n,
        "rate_hz": PYSPY_RATE,
        "plain_wall_s": plain.wall_s,
        "plain_cpu_s": plain.cpu_s,
        "profiled_wall_s": m.wall_s,
        "samples": sum(counts.values()),
        "idle_samples": idle,
        "concerns": counts,
        "raw": str(raw),
    }


def profile_cprofile(n: int, conc: int) -> dict[str, Any]:
    """Fallback when py-spy cannot run: cProfile of one `evals run`, top own-time functions."""
    cases, suite = arith_workload(n)
    work = WORK / "overhead" / "profile-cprofile"
    work.mkdir(parents=True, exist_ok=True)
    prof = work / "evals-run.prof"
    with Sim(SIM_CONFIG) as sim:
        runner = write_runner(work / "runner.yaml", sim.base_url, MODEL, conc)
        cmd = evals_run_cmd(suite, runner, work / "report", conc)
        cmd = [str(VENV_PY), "-m", "cProfile", "-o", str(prof), "-m", "evals", *cmd[1:]]
        m = measure(cmd, env=evals_env(work / "home"), cwd=work, timeout_s=900)
    if m.rc != 0:
        raise RuntimeError(f"profiled run failed: {m.stderr[-2000:]}")
    stats = pstats.Stats(str(prof))
    rows = [
        (tt, ct, nc, f"{file}:{line}({func})")
        for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    rows.sort(reverse=True)
    return {
        "cases": n,
        "wall_s": m.wall_s,
        "cpu_s": m.cpu_s,
        "top_tottime": [
            {"own_s": round(tt, 3), "cum_s": round(ct, 3), "calls": nc, "func": f}
            for tt, ct, nc, f in rows[:30]
        ],
    }


def render_profiles(profiles: dict[str, dict[str, Any]]) -> str:
    """Share of samples per concern, and ms of CPU per case = share x unprofiled CPU/case."""
    tools = list(profiles)
    labels = list(next(iter(profiles.values()))["concerns"])
    header = ["concern (see CONCERNS in overhead.py)"]
    for t in tools:
        header += [f"{t}: share", f"{t}: ms/case"]
    rows = []
    for label in labels:
        row = [label]
        for t in tools:
            p = profiles[t]
            share = p["concerns"][label] / max(p["samples"], 1)
            row += [f"{100 * share:.1f}%", f"{share * p['plain_cpu_s'] / p['cases'] * 1000:.3f}"]
        if any(profiles[t]["concerns"][label] for t in tools):
            rows.append(row)
    total = ["**total (unprofiled CPU/case)**"]
    for t in tools:
        p = profiles[t]
        total += ["100%", f"{p['plain_cpu_s'] / p['cases'] * 1000:.3f}"]
    rows.append(total)
    head = "; ".join(
        f"{t}: {p['cases']} cases, unprofiled wall {p['plain_wall_s']:.2f} s / CPU "
        f"{p['plain_cpu_s']:.2f} s; {p['samples']} samples at {p['rate_hz']} Hz"
        for t, p in profiles.items()
    )
    return head + "\n" + md_table(header, rows)


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tools", default=DEFAULT_TOOLS)
    parser.add_argument("--quick", action="store_true", help="200 cases, 1 repeat")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile evals, bare and bare-raw with py-spy (cProfile if py-spy fails)",
    )
    parser.add_argument("--profile-only", action="store_true", help="only the profile")
    parser.add_argument(
        "--profile-cases", type=int, default=10000, help="cases per profiled run (default 10k)"
    )
    add_evals_src_arg(parser)
    args = parser.parse_args()
    use_evals_src(args.evals_src)
    if args.quick:
        args.cases, args.repeats = 200, 1
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {unknown}; known: {', '.join(TOOLS)}")

    result: dict[str, Any] = {"cases": args.cases, "concurrency": args.concurrency}
    if not args.profile_only:
        if "promptfoo" in tools:
            ensure_promptfoo()
        if "inspect" in tools:
            ensure_inspect()
        result["versions"] = tool_versions()
        cases, suite = arith_workload(args.cases)
        runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
        # 1-case runs: the first warms the bytecode cache (discarded), the second is the
        # tool's fixed cost (start-up, set-up, teardown) that the N-case runs include
        one_cases, one_suite = arith_workload(1)
        fixed: dict[str, dict[str, Any]] = {}
        for tool in tools:
            work = WORK / "overhead" / f"{tool}-1"
            work.mkdir(parents=True, exist_ok=True)
            for _ in range(2):
                with Sim(SIM_CONFIG) as sim:
                    m = TOOLS[tool](sim, one_cases, one_suite, args.concurrency, work)
            fixed[tool] = {"rc": m.rc, "wall_s": m.wall_s, "cpu_s": m.cpu_s}
            log(f"{tool} 1 case: rc={m.rc} wall={m.wall_s:.2f}s cpu={m.cpu_s:.2f}s")
        result["fixed"] = fixed
        # interleave tools across repeats so drift in the machine hits all of them alike
        for rep in range(args.repeats):
            for tool in tools:
                work = WORK / "overhead" / tool
                work.mkdir(parents=True, exist_ok=True)
                with Sim(SIM_CONFIG) as sim:
                    cpu0 = sim.cpu_s()
                    m = TOOLS[tool](sim, cases, suite, args.concurrency, work)
                    m.extra["sim_cpu_s"] = sim.cpu_s() - cpu0
                ok = m.rc == 0 and m.extra.get("correct") == args.cases
                log(
                    f"{tool} #{rep + 1}: rc={m.rc} wall={m.wall_s:.2f}s cpu={m.cpu_s:.2f}s "
                    f"correct={m.extra.get('correct')} sim_cpu={m.extra['sim_cpu_s']:.2f}s"
                    + ("" if ok else f"\n  stderr: {m.stderr[-1500:]}")
                )
                runs[tool].append({**m.brief(), "ok": ok})
        result["runs"] = runs
        result["summary"] = summarise(runs, args.cases, fixed)
        print(render(result))
        name = "overhead" if args.tools == DEFAULT_TOOLS else "overhead-" + "-".join(tools)
        path = save_result(name + ("-quick" if args.quick else ""), result)
        log(f"saved {path}")
    if args.profile or args.profile_only:
        try:
            profiles = {
                t: profile_tool(t, 1000 if args.quick else args.profile_cases, args.concurrency)
                for t in ("evals", "bare", "bare-raw")
            }
            print(render_profiles(profiles))
            save_result("overhead-profile", {"profiles": profiles})
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            log(f"py-spy failed ({exc}); falling back to cProfile")
            prof = profile_cprofile(args.profile_cases, args.concurrency)
            print(json.dumps(prof, indent=1))
            save_result("overhead-cprofile", prof)
    return 0


def summarise(
    runs: dict[str, list[dict[str, Any]]], n: int, fixed: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for tool, rs in runs.items():
        good = [r for r in rs if r["ok"]]
        if not good:
            out[tool] = {"ok_runs": 0, "runs": len(rs)}
            continue
        wall = median([r["wall_s"] for r in good])
        cpu = median([r["user_s"] + r["sys_s"] for r in good])
        out[tool] = {
            "ok_runs": len(good),
            "runs": len(rs),
            "wall_s": wall,
            "cases_per_s": n / wall,
            "cpu_s_per_case": cpu / n,
            "sim_cpu_s_per_case": median([r["extra"]["sim_cpu_s"] for r in good]) / n,
            "maxrss_mb": median([r["maxrss_kb"] for r in good]) / 1024,
            "walls": [round(r["wall_s"], 3) for r in rs],
            "fixed_wall_s": fixed[tool]["wall_s"],
            "fixed_cpu_s": fixed[tool]["cpu_s"],
            # per-case cost once start-up and teardown are taken out
            "marginal_ms_per_case": (wall - fixed[tool]["wall_s"]) / (n - 1) * 1000,
            "marginal_cpu_ms_per_case": (cpu - fixed[tool]["cpu_s"]) / (n - 1) * 1000,
        }
    return out


def render(result: dict[str, Any]) -> str:
    s = result["summary"]
    bare = s.get("bare", {})
    ev = s.get("evals", {})
    rows = []
    for tool, v in s.items():
        if not v.get("ok_runs"):
            rows.append([LABELS[tool], "failed", "", "", "", "", "", "", "", ""])
            continue
        vs_evals = f"{ev['cases_per_s'] / v['cases_per_s']:.2f}×" if ev.get("ok_runs") else ""
        ratio_rate = f"{v['cases_per_s'] / bare['cases_per_s']:.2f}×" if bare.get("ok_runs") else ""
        ratio_cpu = (
            f"{v['cpu_s_per_case'] / bare['cpu_s_per_case']:.2f}×" if bare.get("ok_runs") else ""
        )
        rows.append(
            [
                LABELS[tool],
                f"{v['cases_per_s']:.0f}",
                f"{v['cpu_s_per_case'] * 1000:.2f} ms",
                ratio_rate,
                ratio_cpu,
                vs_evals,
                f"{v['sim_cpu_s_per_case'] * 1000:.2f} ms",
                f"{v['fixed_wall_s']:.2f} s / {v['fixed_cpu_s']:.2f} s",
                f"{v['marginal_ms_per_case']:.2f} ms / {v['marginal_cpu_ms_per_case']:.2f} ms",
                f"{v['wall_s']:.2f} s ({', '.join(map(str, v['walls']))})",
            ]
        )
    header = [
        "tool",
        "cases/s",
        "CPU/case",
        "cases/s ÷ bare",
        "CPU/case ÷ bare",
        "evals ÷ tool (cases/s)",
        "sim CPU/case",
        "1-case run: wall / CPU",
        "marginal per case: wall / CPU",
        "median wall (runs)",
    ]
    return f"{result['cases']} cases, concurrency {result['concurrency']}\n" + md_table(
        header, rows
    )


if __name__ == "__main__":
    sys.exit(main())
