"""Benchmark: building and uploading the batch files of `evals run --mode batch --detach`.

For each size N (default 20k, 100k, 200k requests) one whole `evals run SUITE --mode batch
--detach` process against a fresh `evals sim` (Batch API with `delay_s: 86400`, so no line
is ever answered while we measure; `max_requests: 50000`) and a fresh EVALS_HOME. The
suite is one prompt over N generated cases, each request line about 535 bytes.

Measured per run:

- wall time of the whole process, split from the timestamps of its stderr lines (read as
  they come), the batch files' mtimes, the files it holds open (/proc/PID/fd and fdinfo,
  polled every 20 ms) and the sim's request log (`--log`): start-up (process start ->
  `run: ID`), build (-> the last batch file written), gap (-> the first batch file opened
  for reading: files written, no upload started), upload (-> the last `batch N
  submitted` line: every `/v1/files` upload and `/v1/batches` create, the sim's parsing
  of the upload included), finish (-> exit: the report, closing the store);
- peak RSS of the evals process: wait4's ru_maxrss (the kernel's high-water mark) and
  /proc/PID/status polled every 20 ms (VmHWM, and VmRSS split by phase, so a peak can
  be placed);
- files and bytes uploaded and lines per upload (the sim's log), checked: every upload
  and create answered 200, the lines uploaded sum to N, as many batches as files, the
  bytes uploaded equal the files' sizes.

Target: peak RSS flat in N (at most 1.3x from 20k to 200k).

    .venv/bin/python bench/batch_build.py                       # 20k, 100k, 200k
    .venv/bin/python bench/batch_build.py --sizes 20000,400000
    .venv/bin/python bench/batch_build.py --quick               # 2k and 20k
    .venv/bin/python bench/batch_build.py --tracemalloc         # + where the peak is allocated
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    EVALS,
    VENV_PY,
    WORK,
    Sim,
    add_evals_src_arg,
    child_env,
    evals_env,
    log,
    md_table,
    save_result,
    use_evals_src,
)

MODEL = "sim-good"
MAX_REQUESTS = 50_000
SYSTEM = "You are a retail support assistant. Answer using only the order details. One sentence."
USER = (
    "Order {{ order }} ({{ item }}, qty {{ qty }}) was shipped on {{ shipped }} to {{ city }}. "
    "Customer note: {{ note }} Question: {{ question }}"
)
ITEMS = ["desk lamp", "kettle", "running shoes", "backpack", "phone case", "blender", "chair"]
CITIES = ["Lyon", "Osaka", "Denver", "Porto", "Leeds", "Tartu", "Austin", "Cork", "Graz"]
NOTES = [
    "The box arrived dented and one corner was open.",
    "I was not home when the courier came and found no slip.",
    "The colour is different from the picture on the product page.",
    "It works but makes a loud clicking noise when switched on.",
]
QUESTIONS = [
    "Can I return it for a full refund?",
    "When will the replacement be sent?",
    "Where is my parcel now?",
    "Do I need to pay for the return label?",
]


# ---------------------------------------------------------------- the workload


def write_cases(path: Path, n: int) -> Path:
    """``n`` cases with distinct vars (streamed), reused when already there."""
    if path.exists() and sum(1 for _ in path.open("rb")) == n:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for i in range(n):
            v = {
                "order": f"A{100000 + i}",
                "item": ITEMS[i % len(ITEMS)],
                "qty": 1 + i % 5,
                "shipped": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "city": CITIES[(i * 7) % len(CITIES)],
                "note": NOTES[(i * 3) % len(NOTES)],
                "question": QUESTIONS[(i * 5) % len(QUESTIONS)],
            }
            f.write(json.dumps({"id": f"c{i}", "vars": v, "expect": "refund"}) + "\n")
    tmp.replace(path)
    return path


def write_suite(path: Path, cases: Path) -> Path:
    path.write_text(
        "name: bench-batch\n"
        "prompt:\n"
        f"  - {{role: system, content: {json.dumps(SYSTEM)}}}\n"
        f"  - {{role: user, content: {json.dumps(USER)}}}\n"
        "params: {max_tokens: 64, temperature: 0}\n"
        f"cases: {json.dumps(str(cases))}\n"
        "graders:\n"
        "  - {type: contains}\n",
        encoding="utf-8",
    )
    return path


def write_runner(path: Path, base_url: str) -> Path:
    path.write_text(
        "endpoints:\n"
        f"  sim: {{base_url: {json.dumps(base_url)}, api_key_env: null,\n"
        "        max_concurrency: 4, timeout_s: 600}\n"
        f"models:\n  - {{id: {MODEL}, endpoint: sim}}\n"
        "pricing:\n"
        f"  {MODEL}: {{input: 0.40, output: 1.60, batch_input: 0.20, batch_output: 0.80,\n"
        "             source: bench}\n",
        encoding="utf-8",
    )
    return path


def write_sim_config(path: Path) -> Path:
    config = {
        "models": {MODEL: {"accuracy": 0.8}},
        "batch": {"delay_s": 86400, "max_requests": MAX_REQUESTS},
    }
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return path


# ---------------------------------------------------------------- measuring one run


def _status_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line[:5]] = int(line.split()[1])
    return out


def _open_batch_files(pid: int, folder: str) -> list[tuple[str, bool]]:
    """(path, opened for writing) of the files under ``folder`` that ``pid`` has open."""
    found = []
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith(folder) and target.endswith(".jsonl"):
                    info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
                    flags = int(info.split("flags:", 1)[1].split()[0], 8)
                    found.append((target, flags & os.O_ACCMODE != os.O_RDONLY))
    return found


def run_measured(
    cmd: list[str], env: dict[str, str], cwd: Path, timeout_s: float, folder: Path
) -> dict:
    """Run ``cmd``; its stderr lines with their time.time(), RSS samples, wait4 figures,
    and when each batch file under ``folder`` was first seen open for writing / reading."""
    err_lines: list[tuple[float, str]] = []
    opened: dict[tuple[str, bool], float] = {}
    samples: list[tuple[float, int]] = []  # (time.time(), VmRSS kB)
    hwm = [0]
    out = tempfile.TemporaryFile()  # noqa: SIM115
    t0 = time.time()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=child_env(env),
        stdout=out,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    done = threading.Event()
    timed_out = threading.Event()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            err_lines.append((time.time(), raw.decode(errors="replace").rstrip("\n")))

    def poll() -> None:
        deadline = started + timeout_s
        while not done.wait(0.02):
            st = _status_kb(proc.pid)
            now = time.time()
            if st:
                hwm[0] = max(hwm[0], st.get("VmHWM", 0))
                samples.append((now, st.get("VmRSS", 0)))
            for key in _open_batch_files(proc.pid, str(folder)):
                opened.setdefault(key, now)
            if time.perf_counter() > deadline:
                timed_out.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                return

    threads = [threading.Thread(target=f, daemon=True) for f in (read_stderr, poll)]
    for t in threads:
        t.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    t_end = time.time()
    done.set()
    for t in threads:
        t.join(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    out.seek(0)
    return {
        "rc": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out.is_set(),
        "t0": t0,
        "t_end": t_end,
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "maxrss_kb": ru.ru_maxrss,
        "vmhwm_kb": hwm[0],
        "samples": samples,
        "opened": opened,
        "stderr": err_lines,
        "stdout": out.read().decode(errors="replace")[-2000:],
    }


def sim_records(path: Path) -> tuple[list[dict], list[dict]]:
    """(POST /v1/files records, POST /v1/batches records) of the sim's request log."""
    files, creates = [], []
    with path.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("method") != "POST":
                continue
            keep = {
                k: rec.get(k) for k in ("ts", "status", "bytes", "lines", "file_id", "batch_id")
            }
            if rec.get("path") == "/v1/files":
                files.append(keep)
            elif rec.get("path") == "/v1/batches":
                creates.append(keep)
    return files, creates


def one_size(n: int, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    data = WORK / "data"
    cases = write_cases(data / f"batch-cases-{n}.jsonl", n)
    suite = write_suite(data / f"batch-{n}.suite.yaml", cases)
    home = work / f"home-{n}"
    out = work / f"report-{n}"
    shutil.rmtree(out, ignore_errors=True)
    sim_log = work / f"sim-{n}.jsonl"
    env = evals_env(home)
    with Sim(write_sim_config(work / "sim.json"), log=sim_log) as sim:
        runner = write_runner(work / "runner.yaml", sim.base_url)
        cmd = [str(EVALS), "run", str(suite), "-r", str(runner), "--mode", "batch", "--detach"]
        cmd += ["--no-cache", "--out", str(out)]
        if args.tracemalloc:
            cmd = [str(VENV_PY), str(Path(__file__).resolve()), "--_traced", *cmd[1:]]
        log(f"{n:,} requests: evals run --mode batch --detach")
        m = run_measured(cmd, env, work, max(300.0, n * 0.01), home / "batches")
        sim_cpu = sim.cpu_s()
    files, creates = sim_records(sim_log)
    stderr = m["stderr"]
    t0 = m["t0"]

    def first(prefix: str) -> float | None:
        return next((t for t, line in stderr if line.startswith(prefix)), None)

    t_run = first("run: ")
    submitted = [t for t, line in stderr if line.startswith("batch ") and " submitted: " in line]
    batch_files = sorted((home / "batches").rglob("*.jsonl")) if (home / "batches").exists() else []
    t_built = max((p.stat().st_mtime for p in batch_files), default=None)
    t_uploaded = max(submitted) if submitted else None
    reads = [t for (_, writing), t in m["opened"].items() if not writing]
    writes = [t for (_, writing), t in m["opened"].items() if writing]
    # the first batch file opened for reading: the first upload starts (20 ms polling)
    t_upload0 = min(reads) if reads else t_built

    def span(a: float | None, b: float | None) -> float | None:
        return b - a if a is not None and b is not None else None

    phases = {
        "startup_s": span(t0, t_run),
        "build_s": span(t_run, t_built),
        "first_file_open_s": span(t0, min(writes) if writes else None),
        "gap_s": span(t_built, t_upload0),  # files written, no upload started yet
        "upload_s": span(t_upload0, t_uploaded),
        "finish_s": (m["t_end"] - t_uploaded) if t_uploaded else None,
        "first_upload_record_s": (files[0]["ts"] - t0) if files else None,
    }

    def peak_between(a: float | None, b: float | None) -> float | None:
        vals = [kb for t, kb in m["samples"] if a is not None and b is not None and a <= t <= b]
        return max(vals) / 1024 if vals else None

    checks = {
        # a detached batch run is incomplete until resumed: exit 3 (0 before that commit)
        "rc_detached": m["rc"] in (0, 3) and not m["timed_out"],
        "uploads_all_200": bool(files) and all(f["status"] == 200 for f in files),
        "creates_all_200": bool(creates) and all(c["status"] == 200 for c in creates),
        "lines_uploaded_eq_n": sum(f["lines"] or 0 for f in files) == n,
        "one_batch_per_file": len(creates) == len(files) == len(batch_files) == len(submitted),
        "bytes_match_files": sum(f["bytes"] or 0 for f in files)
        == sum(p.stat().st_size for p in batch_files),
    }
    total_bytes = sum(f["bytes"] or 0 for f in files)
    result = {
        "n": n,
        "rc": m["rc"],
        "timed_out": m["timed_out"],
        "wall_s": m["wall_s"],
        "cpu_s": m["cpu_s"],
        "sim_cpu_s": sim_cpu,
        **phases,
        "maxrss_mb": m["maxrss_kb"] / 1024,
        "vmhwm_mb": m["vmhwm_kb"] / 1024,
        "peak_rss_build_mb": peak_between(t_run, t_built),
        "peak_rss_gap_mb": peak_between(t_built, t_upload0),
        "peak_rss_upload_mb": peak_between(t_upload0, t_uploaded),
        "peak_rss_finish_mb": peak_between(t_uploaded, m["t_end"]),
        "peak_rss_startup_mb": peak_between(t0, t_run),
        "files": len(files),
        "upload_bytes": total_bytes,
        "bytes_per_line": total_bytes / n if n else None,
        "uploads": files,
        "creates": creates,
        "checks": checks,
        "ok": all(checks.values()),
        "stderr": [[round(t - t0, 3), line] for t, line in stderr if "tracemalloc:" not in line],
        "tracemalloc": [line for _, line in stderr if line.startswith("tracemalloc:")],
        "rss_samples": [[round(t - t0, 3), kb] for t, kb in m["samples"]],
        "batch_files_opened": sorted(
            [Path(p).name, "write" if w else "read", round(t - t0, 3)]
            for (p, w), t in m["opened"].items()
        ),
    }
    log(
        f"{n:,}: rc={m['rc']} wall={m['wall_s']:.1f}s build={phases['build_s'] or 0:.1f}s "
        f"upload={phases['upload_s'] or 0:.1f}s maxrss={result['maxrss_mb']:.0f} MB "
        f"files={len(files)} {total_bytes / 1e6:.1f} MB checks={'ok' if result['ok'] else checks}"
    )
    if result["tracemalloc"]:
        log("tracemalloc (allocation sites at each new high):\n" + "\n".join(result["tracemalloc"]))
    if not result["ok"]:
        log("stderr tail:\n" + "\n".join(line for _, line in stderr[-20:]))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    return result


# ---------------------------------------------------------------- --tracemalloc helper


def traced_main(argv: list[str]) -> int:
    """Run `evals ARGV` in this process under tracemalloc; print where each high lives.

    One frame per allocation (the line that allocated), to keep the overhead bearable. A
    thread looks at the traced memory every 10 ms; whenever it is 20% above the highest
    seen so far (and past 24 MiB, after the imports), a snapshot's top five allocating
    lines are kept, with the time since start, and printed to stderr at the end: the last
    entry is the peak, and transient peaks are caught while they last.
    """
    import tracemalloc

    from evals.cli import main as evals_main

    tracemalloc.start(1)
    t0 = time.time()
    highs: list[tuple[float, float, list[Any]]] = []
    top = [24 * 2**20]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.01):
            cur, _ = tracemalloc.get_traced_memory()
            if cur > top[0] * 1.2:
                top[0] = cur
                stats = tracemalloc.take_snapshot().statistics("lineno")[:5]
                highs.append((time.time() - t0, cur / 2**20, stats))

    threading.Thread(target=watch, daemon=True).start()
    try:
        rc = evals_main(argv)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    stop.set()
    for when, mib, stats in highs:
        print(f"tracemalloc: +{when:.2f} s traced {mib:.1f} MiB", file=sys.stderr)
        for stat in stats:
            frame = stat.traceback[0]
            print(
                f"tracemalloc:   {stat.size / 2**20:6.1f} MiB {stat.count:>9,} blocks  "
                f"{frame.filename}:{frame.lineno}",
                file=sys.stderr,
            )
    return int(rc or 0)


# ---------------------------------------------------------------- main


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--_traced":
        return traced_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000,200000")
    parser.add_argument("--quick", action="store_true", help="sizes 2000,20000")
    parser.add_argument("--keep", action="store_true", help="keep EVALS_HOME and the report")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="run evals under tracemalloc and print the top allocating lines at each new "
        "memory high (about 3x slower: not for the timings)",
    )
    add_evals_src_arg(parser)
    args = parser.parse_args()
    use_evals_src(args.evals_src)
    sizes = [2000, 20000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    work = WORK / "batch_build"
    work.mkdir(parents=True, exist_ok=True)
    results = [one_size(n, work, args) for n in sizes]

    base = results[0]["maxrss_mb"] if results else 0
    rows = []
    for r in results:

        def s(key: str, r: dict = r) -> str:
            return f"{r[key]:.1f} s" if r.get(key) is not None else "?"

        phases = ("startup", "build", "gap", "upload", "finish")
        by_phase = " / ".join(f"{r.get(f'peak_rss_{p}_mb') or 0:.0f}" for p in phases)
        failed = [k for k, v in r["checks"].items() if not v]
        rows.append(
            [
                f"{r['n']:,}",
                f"{r['wall_s']:.1f} s",
                s("startup_s"),
                s("build_s"),
                s("gap_s"),
                s("upload_s"),
                s("finish_s"),
                f"{r['maxrss_mb']:.0f} MB",
                f"{r['maxrss_mb'] / base:.2f}×" if base else "",
                by_phase,
                r["files"],
                f"{r['upload_bytes'] / 1e6:.1f}",
                f"{r['bytes_per_line']:.0f}" if r["bytes_per_line"] else "?",
                "ok" if not failed else "FAILED: " + ", ".join(failed),
            ]
        )
    print(
        f"`evals run --mode batch --detach`, sim batch delay 86400 s, {MAX_REQUESTS:,} "
        "requests per file; gap = files written, no upload started yet; RSS in MB\n"
        + md_table(
            [
                "requests",
                "wall",
                "start-up",
                "build",
                "gap",
                "upload",
                "finish",
                "peak RSS",
                "vs first",
                "peak RSS start-up / build / gap / upload / finish",
                "files",
                "MB uploaded",
                "B/line",
                "checks",
            ],
            rows,
        )
    )
    name = "batch_build" + ("-quick" if args.quick else "")
    path = save_result(name, {"max_requests": MAX_REQUESTS, "results": results})
    log(f"saved {path}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
