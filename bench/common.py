"""Shared helpers for the benchmarks: paths, the simulator, case files, measuring a child.

Everything a benchmark writes or installs goes under ``bench/.work/`` (git-ignored).
Only 127.0.0.1 is ever contacted. Every child process runs with a timeout and is killed
(whole process group) when it overruns, so a benchmark always stops by itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / ".work"
RESULTS = WORK / "results"
VENV_PY = ROOT / ".venv" / "bin" / "python"
EVALS = ROOT / ".venv" / "bin" / "evals"

SYSTEM_PROMPT = "Reply with the number only."
USER_TEMPLATE = "What is {a} + {b}?"
MAX_TOKENS = 16
CLK_TCK = os.sysconf("SC_CLK_TCK")
PYCACHE = WORK / "pycache"


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for every measured child: bytecode caching on, as on a user's machine.

    This sandbox exports PYTHONDONTWRITEBYTECODE=1, which would make every Python child
    recompile the modules that have no .pyc yet (evals itself) on each start. Bytecode
    goes to bench/.work/pycache (PYTHONPYCACHEPREFIX), so nothing is written elsewhere;
    the first run of each program warms it up.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return {**env, **(extra or {})}


# ---------------------------------------------------------------- cases and suites


def case_ab(i: int) -> tuple[int, int]:
    """Deterministic operands of case ``i`` (varied so bodies differ)."""
    return (i * 7919) % 1000, (i * 104729 + 13) % 1000


def write_cases_jsonl(path: Path, n: int) -> Path:
    """Write ``n`` arithmetic cases as evals JSONL (streamed: fine for 1M lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            a, b = case_ab(i)
            f.write(f'{{"id":"c{i}","vars":{{"a":{a},"b":{b}}},"expect":{a + b}}}\n')
    return path


def write_suite(path: Path, cases: Path, name: str = "bench-arith") -> Path:
    """The evals suite: system + user message, max_tokens 16, temperature 0, numeric grader."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"name: {name}\n"
        "prompt:\n"
        f'  - {{role: system, content: "{SYSTEM_PROMPT}"}}\n'
        '  - {role: user, content: "What is {{ a }} + {{ b }}?"}\n'
        f"params: {{max_tokens: {MAX_TOKENS}, temperature: 0}}\n"
        f"cases: {json.dumps(str(cases))}\n"
        "graders:\n"
        "  - {type: numeric, tolerance: 0}\n",
        encoding="utf-8",
    )
    return path


def write_runner(
    path: Path,
    base_url: str,
    model: str,
    max_concurrency: int,
    rpm: int | None = None,
    timeout_s: float = 60.0,
) -> Path:
    """A runner profile with one endpoint (the sim) and one model, priced at zero."""
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = f", rpm: {rpm}" if rpm else ""
    path.write_text(
        "endpoints:\n"
        f"  sim: {{base_url: {json.dumps(base_url)}, api_key_env: null,\n"
        f"        max_concurrency: {max_concurrency}, timeout_s: {timeout_s}{extra}}}\n"
        "models:\n"
        f"  - {{id: {model}, endpoint: sim}}\n"
        "pricing:\n"
        f"  {model}: {{input: 0.15, output: 0.60, source: bench}}\n",
        encoding="utf-8",
    )
    return path


def write_sim_config(path: Path, models: dict[str, dict[str, Any]]) -> Path:
    """Sim config YAML (JSON is valid YAML)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": models}, indent=1), encoding="utf-8")
    return path


def arith_workload(n: int, tag: str = "arith") -> tuple[Path, Path]:
    """Cases file + suite for ``n`` cases under bench/.work/data (reused when present)."""
    data = WORK / "data"
    cases = data / f"{tag}-{n}.jsonl"
    if not cases.exists() or sum(1 for _ in cases.open("rb")) != n:
        tmp = cases.with_suffix(".tmp")
        write_cases_jsonl(tmp, n)
        tmp.replace(cases)
    suite = write_suite(data / f"{tag}-{n}.suite.yaml", cases)
    return cases, suite


# ---------------------------------------------------------------- the simulator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid: int) -> float:
    """user+sys CPU seconds of a live process (from /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kb(pid: int) -> int:
    """Resident set size of a live process, kB (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sim:
    """`evals sim` in a subprocess on a free 127.0.0.1 port; a context manager."""

    def __init__(self, config: Path | None = None, log: Path | None = None) -> None:
        self.config, self.log = config, log
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    def __enter__(self) -> Sim:
        cmd = [str(VENV_PY), "-m", "evals", "sim", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.config:
            cmd += ["--config", str(self.config)]
        if self.log:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.log.unlink()
            cmd += ["--log", str(self.log)]
        WORK.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            cmd,
            cwd=WORK,
            env=child_env(evals_pythonpath()),
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._stderr.seek(0)
                raise RuntimeError(f"sim exited: {self._stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base_url + "/models", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("sim did not answer GET /v1/models within 30 s")

    def cpu_s(self) -> float:
        assert self.proc is not None
        return proc_cpu_s(self.proc.pid)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._stderr.close()


def read_sim_log(path: Path) -> list[dict[str, Any]]:
    """The sim's request log, chat completions only."""
    out = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("path") == "/v1/chat/completions":
                out.append({k: rec.get(k) for k in ("ts", "status", "attempt", "correct")})
    return out


# ---------------------------------------------------------------- measuring a child


@dataclass
class Measurement:
    """One whole child process: wall time, CPU (it and its reaped descendants), peak RSS."""

    cmd: list[str]
    rc: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_kb: int
    peak_rss_tree_kb: int = 0
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def brief(self) -> dict[str, Any]:
        d = asdict(self)
        d["stdout"], d["stderr"] = self.stdout[-2000:], self.stderr[-2000:]
        return d


def _tree_rss_kb(pid: int) -> int:
    """RSS of ``pid`` plus its descendants (for tools that fork workers)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += proc_rss_kb(p)
        with contextlib.suppress(OSError):
            for t in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError):
                    kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
                    todo += [int(k) for k in kids]
    return total


def measure(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    timeout_s: float = 600.0,
    poll_rss: bool = False,
) -> Measurement:
    """Run ``cmd`` to completion (killed after ``timeout_s``) and measure it with wait4.

    CPU is the child's user+sys plus that of every descendant it waited for (how
    ``npx`` and inspect's helpers are counted too). With ``poll_rss`` the RSS of the
    whole process tree is also sampled every 50 ms (``peak_rss_tree_kb``).
    """
    args = [str(c) for c in cmd]
    full_env = child_env(env)
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=cwd, env=full_env, stdout=out, stderr=err, start_new_session=True
    )
    timed_out = threading.Event()
    peak = [0]
    done = threading.Event()

    def watchdog() -> None:
        deadline = started + timeout_s
        while not done.wait(0.05 if poll_rss else 0.5):
            if poll_rss:
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            if time.perf_counter() > deadline:
                timed_out.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                return

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    thread.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stray grandchildren, if any
    out.seek(0)
    err.seek(0)
    return Measurement(
        cmd=args,
        rc=proc.returncode,
        wall_s=wall,
        user_s=ru.ru_utime,
        sys_s=ru.ru_stime,
        maxrss_kb=ru.ru_maxrss,
        peak_rss_tree_kb=peak[0],
        timed_out=timed_out.is_set(),
        stdout=out.read().decode(errors="replace"),
        stderr=err.read().decode(errors="replace"),
    )


# ---------------------------------------------------------------- which evals is measured

_SRC: dict[str, Any] = {"ref": None, "path": None, "commit": None}


def add_evals_src_arg(parser: Any) -> None:
    parser.add_argument(
        "--evals-src",
        metavar="GIT_REF",
        default=os.environ.get("EVALS_BENCH_SRC"),
        help="measure the evals package as committed at GIT_REF (extracted with git archive "
        "into bench/.work/src/) instead of the working tree; env EVALS_BENCH_SRC",
    )


def use_evals_src(ref: str | None) -> None:
    """Measure `evals` from a git ref (PYTHONPATH wins over the venv's editable install)."""
    if not ref:
        return
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dest = WORK / "src" / commit[:12]
    if not (dest / "evals" / "__init__.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "evals"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    _SRC.update(ref=ref, path=dest, commit=commit[:12])


def evals_src_info() -> str:
    if _SRC["path"] is None:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "evals"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return f"working tree (HEAD {head}{', modified' if dirty else ''})"
    return f"git {_SRC['ref']} = {_SRC['commit']}"


def evals_pythonpath() -> dict[str, str]:
    return {"PYTHONPATH": str(_SRC["path"])} if _SRC["path"] else {}


def evals_env(home: Path) -> dict[str, str]:
    """Environment for `evals run` with its own, empty state folder (so nothing is cached)."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    return {"EVALS_HOME": str(home), "PYTHONHASHSEED": "0", **evals_pythonpath()}


def evals_run_cmd(
    suite: Path, runner: Path, out_dir: Path, concurrency: int, extra: Sequence[str] = ()
) -> list[str]:
    """`evals run` with `--no-cache` when this version has it (a fresh EVALS_HOME always)."""
    cmd = [str(EVALS), "run", str(suite), "-r", str(runner), "--concurrency", str(concurrency)]
    if has_flag("run", "--no-cache"):
        cmd.append("--no-cache")
    return [*cmd, "--out", str(out_dir), "--summary-json", str(out_dir / "summary.json"), *extra]


_HELP: dict[str, str] = {}


def has_flag(command: str, flag: str) -> bool:
    if command not in _HELP:
        _HELP[command] = subprocess.run(
            [str(EVALS), command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env=child_env(evals_pythonpath()),
        ).stdout
    return flag in _HELP[command]


def summary_passed(path: Path) -> tuple[int, int]:
    """(passed, errors) summed over the rows of an evals summary JSON."""
    rows = json.loads(path.read_text())["rows"]
    return sum(r["passed"] for r in rows), sum(r["errors"] for r in rows)


# ---------------------------------------------------------------- reporting


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine_info() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    sdk = subprocess.run(
        [
            str(VENV_PY),
            "-c",
            "import openai, httpx2; print(openai.__version__, httpx2.__version__)",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "openai_sdk": sdk[0] if sdk else "?",
        "httpx2": sdk[1] if len(sdk) > 1 else "?",
        "evals_measured": evals_src_info(),
        "loadavg_at_save": os.getloadavg(),
    }


def save_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``bench/.work/results/NAME.json`` (latest run of that benchmark)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine_info(), **payload}, indent=1, default=str))
    return path


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def timer() -> Iterator[list[float]]:
    box: list[float] = []
    t = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - t)
