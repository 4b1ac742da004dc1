"""`code_exec`: run the model's code with the case's tests in a separate Python process.

The program is the model's code (a fenced block, the whole output, or the case's `prompt`
plus the completion, as HumanEval does), then the case's test code, then
`check(<entry point>)` when the case names one. It runs in a child interpreter with:
- a wall-clock time limit (the whole process group is killed) and a CPU-time limit;
- an address-space limit (`RLIMIT_AS`), a file-size limit, no core dumps;
- a fresh temporary working directory, removed afterwards;
- an environment of PATH, LANG and HOME/TMPDIR=that directory only: no API keys;
- stdin from /dev/null, stdout and stderr captured to files and truncated;
- a Python-level block on sockets, DNS, starting processes, signalling other processes
  and writing or deleting files outside its directory; run as root, it drops to `nobody`.

This is a process sandbox, not a container: a determined program can undo a Python-level
block (ctypes, a C extension). `sandbox: [bwrap, ...]` puts a command prefix (bubblewrap,
firejail, nsjail) in front of the interpreter for isolation by the kernel.

A program that fails, raises, times out or is killed is a failed case with its reason;
a grader error means the harness itself could not run it (no test code, the sandbox or
interpreter did not start).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from evals.graders.base import (
    BaseGrader,
    Check,
    CommonOptions,
    GradeContext,
    GraderSpecError,
    error,
    fail,
    ok,
    quote,
)
from evals.graders.registry import register

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.#-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
STRAY_FENCE = re.compile(r"^[ \t]*```[A-Za-z0-9_+.#-]*[ \t]*$\n?", re.M)
PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3"})
NOBODY = 65534
STARTED = "started"
FSIZE_BYTES = 8 * 1024 * 1024  # largest file (stdout included) the program may write
SCRIPT = "program.py"

# Runs in the child: limits and blocks first, then the program; one JSON line of outcome.
BOOTSTRAP = r"""
import builtins, io, json, os, resource, signal, sys, traceback
program_path, result_path = sys.argv[1], sys.argv[2]
memory_mb, cpu_s, fsize = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
drop = sys.argv[6] == "1"
_result = open(result_path, "w", encoding="utf-8")
_dumps, _exit, _flush_out = json.dumps, os._exit, sys.stdout.flush
def _report(**fields):
    try:
        sys.stdout.flush(); sys.stderr.flush()
    except BaseException:
        pass
    _result.write(_dumps(fields) + "\n"); _result.flush()
with open(program_path, encoding="utf-8") as f:
    source = f.read()
home = os.path.realpath(os.getcwd())
if drop and os.geteuid() == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
def _limit(which, soft, hard):
    cur_soft, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(which, (soft, hard))
_limit(resource.RLIMIT_AS, memory_mb << 20, memory_mb << 20)
_limit(resource.RLIMIT_CPU, cpu_s, cpu_s + 1)
_limit(resource.RLIMIT_FSIZE, fsize, fsize)
_limit(resource.RLIMIT_CORE, 0, 0)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
def _denied(what):
    def deny(*args, **kwargs):
        raise PermissionError(f"{what} is disabled in code_exec")
    return deny
import socket, _socket
class _NoSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        raise PermissionError("network access is disabled in code_exec")
for _mod in (socket, _socket):
    for _name in ("socket", "SocketType"):
        if hasattr(_mod, _name):
            setattr(_mod, _name, _NoSocket)
    for _name in ("create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo",
                  "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
        if hasattr(_mod, _name):
            setattr(_mod, _name, _denied("network access"))
for _name in ("system", "popen", "fork", "forkpty", "execv", "execve", "execl", "execle",
              "execlp", "execlpe", "execvp", "execvpe", "spawnv", "spawnve", "spawnl",
              "spawnle", "spawnlp", "spawnlpe", "spawnvp", "spawnvpe", "posix_spawn",
              "posix_spawnp", "kill", "killpg", "setuid", "setgid", "putenv"):
    if hasattr(os, _name):
        setattr(os, _name, _denied(f"os.{_name}"))
import subprocess, _posixsubprocess
_posixsubprocess.fork_exec = _denied("starting a process")
subprocess.Popen = _denied("starting a process")
def _inside(path):
    try:
        real = os.path.realpath(os.fspath(path) if not isinstance(path, int) else "/")
    except TypeError:
        return False
    return real == home or real.startswith(home + os.sep) or real == os.devnull
def _guard(fn, what, nargs=1):
    def guarded(*args, **kwargs):
        for arg in args[:nargs]:
            if not _inside(arg):
                raise PermissionError(
                    f"{what} outside the working directory is disabled in code_exec")
        return fn(*args, **kwargs)
    return guarded
for _name, _n in (("remove", 1), ("unlink", 1), ("rmdir", 1), ("removedirs", 1),
                  ("rename", 2), ("replace", 2), ("chmod", 1), ("chown", 1), ("truncate", 1),
                  ("link", 2), ("symlink", 2), ("mkdir", 1), ("makedirs", 1), ("utime", 1)):
    if hasattr(os, _name):
        setattr(os, _name, _guard(getattr(os, _name), f"os.{_name}", _n))
import shutil
shutil.rmtree = _guard(shutil.rmtree, "shutil.rmtree")
shutil.move = _guard(shutil.move, "shutil.move", 2)
_open = builtins.open
def _safe_open(file, mode="r", *args, **kwargs):
    if any(c in mode for c in "wax+") and not isinstance(file, int) and not _inside(file):
        raise PermissionError("writing outside the working directory is disabled in code_exec")
    return _open(file, mode, *args, **kwargs)
builtins.open = io.open = _safe_open
_os_open = os.open
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
def _safe_os_open(path, flags, *args, **kwargs):
    if flags & _WRITE and not _inside(path):
        raise PermissionError("writing outside the working directory is disabled in code_exec")
    return _os_open(path, flags, *args, **kwargs)
os.open = _safe_os_open
del _mod, _name, _n
_result.write("started\n"); _result.flush()
try:
    code = compile(source, "program.py", "exec")
except SyntaxError as exc:
    _report(kind="syntax", type=type(exc).__name__, message=str(exc.msg), lineno=exc.lineno,
            line=(exc.text or "").strip())
    _exit(1)
del source
try:
    exec(code, {"__name__": "__code_exec__", "__builtins__": builtins})
except SystemExit as exc:
    _report(kind="exit", code=repr(exc.code)); _exit(1)
except MemoryError:
    _report(kind="memory"); _exit(1)
except RecursionError as exc:
    _report(kind="exception", type="RecursionError", message=str(exc)[:300], lineno=None, line="")
    _exit(1)
except BaseException as exc:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "program.py"]
    last = frames[-1] if frames else None
    _report(kind="exception", type=type(exc).__name__, message=str(exc)[:300],
            lineno=last.lineno if last else None, line=(last.line or "") if last else "")
    _exit(1)
_report(kind="passed"); _exit(0)
"""


class CodeExecOptions(CommonOptions):
    mode: Literal["auto", "fenced", "whole", "prompt_prefix"] = "auto"
    tests_var: str = "test"  # the case var holding the test code
    entry_point_var: str | None = "entry_point"  # case var naming the function: check(it)
    prompt_var: str = "prompt"  # case var holding the code the completion continues
    timeout_s: float = Field(3.0, gt=0, le=600)
    memory_mb: int = Field(512, ge=64, le=1 << 20)
    sandbox: list[str] = []  # command prefix, e.g. [bwrap, --ro-bind, /, /, ..., --]; {dir}
    python: str | None = None  # interpreter; default: the one running evals
    output_chars: int = Field(300, ge=0, le=100_000)  # captured output quoted in a reason

    @field_validator("sandbox")
    @classmethod
    def _sandbox_found(cls, value: list[str]) -> list[str]:
        if value and shutil.which(value[0]) is None:
            raise ValueError(f"sandbox command {value[0]!r} is not on PATH: install it")
        return value


@dataclass(frozen=True)
class Program:
    source: str  # what runs: code, tests, check(entry point)
    code: str  # the model's part (after prefixing the prompt, if done)
    how: str  # how the code was found, for the reason: "fenced block", "whole output", ...


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, body) of each ``` block, an unclosed last block included."""
    return [(m.group(1).lower(), m.group(2)) for m in FENCE.finditer(text)]


def defines(code: str, name: str | None) -> bool:
    pattern = rf"^\s*(?:async\s+)?def\s+{re.escape(name or '')}\s*\("
    return bool(name) and re.search(pattern, code, re.M) is not None


def pick_block(text: str, entry_point: str | None) -> str | None:
    """The fenced block to run: the one defining the entry point, else the first Python one."""
    blocks = [
        (tag, body) for tag, body in fenced_blocks(text) if tag in PYTHON_TAGS and body.strip()
    ]
    if not blocks:
        return None
    for _, body in blocks:
        if defines(body, entry_point):
            return body
    tagged = [body for tag, body in blocks if tag]
    return tagged[0] if tagged else blocks[0][1]


def _compiles(source: str) -> bool:
    try:
        compile(source, SCRIPT, "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def extract_code(
    output: str, mode: str, entry_point: str | None, prompt: str | None
) -> tuple[str, str] | None:
    """(code, how it was found) from the model's output, or None when `fenced` finds none.

    A fenced block that restates the whole function is that program in every mode; the
    prompt (HumanEval's imports, helpers, signature) is put before it when that still
    compiles, so what the prompt imports or defines stays available (`auto` does the same
    for an unfenced restated function). Otherwise, `prompt_prefix` (and `auto`, when the
    code does not define the entry point and the case has a prompt) runs the prompt
    followed by the completion. Without a block, stray fence lines (a lone closing
    ```) are dropped from the whole output: they are never Python.
    """
    block = pick_block(output, entry_point) if mode != "whole" else None
    if mode == "fenced" and block is None:
        return None
    if block is not None and defines(block, entry_point):
        if prompt and _compiles(prompt + "\n" + block):
            return prompt + "\n" + block, "prompt + fenced block restating the function"
        return block, "fenced block"
    if block is None:
        output = STRAY_FENCE.sub("", output)
    code, how = (block, "fenced block") if block is not None else (output, "whole output")
    if mode == "auto" and prompt and defines(code, entry_point):
        if _compiles(prompt + "\n" + code):
            return prompt + "\n" + code, f"prompt + {how} restating the function"
        return code, how
    prefix = mode == "prompt_prefix" or (
        mode == "auto" and prompt and entry_point and not defines(code, entry_point)
    )
    if prefix and prompt:
        return prompt + code, f"prompt + {how}"
    return code, how


def _slot_size() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _slots() -> asyncio.Semaphore:
    """One semaphore per event loop: at most one program per CPU runs at a time."""
    loop = asyncio.get_running_loop()
    slots = _SLOTS.get(loop)
    if slots is None:
        slots = _SLOTS[loop] = asyncio.Semaphore(_slot_size())
    return slots


def _child_env(workdir: str) -> dict[str, str]:
    """The child's whole environment: nothing the harness was given (API keys) passes."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }


def _tail(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(64 * 1024)
    except OSError:
        return ""
    return data.decode("utf-8", "replace").strip()[-limit:] if limit else ""


def _seconds(value: float) -> str:
    return f"{value:g} s"


@register
class CodeExecGrader(BaseGrader):
    """Passes when the program (model code + case tests) runs to the end without error."""

    base_type = "code_exec"
    Options = CodeExecOptions
    options: CodeExecOptions
    needs_await = True  # the async path runs programs in parallel, off the event loop

    def __init__(self, options: CodeExecOptions, *, negated: bool = False) -> None:
        super().__init__(options, negated=negated)
        self.python = options.python or sys.executable
        if options.python is not None and shutil.which(options.python) is None:
            raise GraderSpecError(
                f"`python`: interpreter {options.python!r} not found", key="python"
            )

    # --- preparing ---------------------------------------------------------------------

    def program(self, text: str, ctx: GradeContext) -> Program | Check:
        """The program to run, or the Check saying why there is none."""
        opts = self.options
        tests = ctx.vars.get(opts.tests_var)
        if not isinstance(tests, str):
            return error(
                f"the case has no test code: put it in the case var `{opts.tests_var}` "
                "(or name another with `tests_var:`)"
            )
        entry = ctx.vars.get(opts.entry_point_var) if opts.entry_point_var else None
        entry = entry if isinstance(entry, str) and entry.isidentifier() else None
        prompt = ctx.vars.get(opts.prompt_var)
        prompt = prompt if isinstance(prompt, str) else None
        if opts.mode == "prompt_prefix" and prompt is None:
            return error(f"mode prompt_prefix needs the case var `{opts.prompt_var}`")
        found = extract_code(text, opts.mode, entry, prompt)
        if found is None:
            return fail(f"no ```python code block in the output {quote(text)}")
        code, how = found
        parts = [code.rstrip(), "", tests.rstrip(), ""]
        if entry and re.search(r"^def\s+check\s*\(", tests, re.M):
            parts += [f"check({entry})", ""]
        return Program("\n".join(parts), code, how)

    def _command(self, workdir: str) -> list[str]:
        opts = self.options
        cpu_s = max(1, math.ceil(opts.timeout_s)) + 1
        argv = [
            self.python,
            "-I",
            "-c",
            BOOTSTRAP,
            SCRIPT,
            "result.txt",
            str(opts.memory_mb),
            str(cpu_s),
            str(FSIZE_BYTES),
            "1" if _can_drop(self.python) else "0",
        ]
        prefix = [part.replace("{dir}", workdir) for part in opts.sandbox]
        return prefix + argv

    def _workdir(self, program: Program) -> tempfile.TemporaryDirectory[str]:
        tmp = tempfile.TemporaryDirectory(prefix="evals-code-", ignore_cleanup_errors=True)
        root = Path(tmp.name)
        (root / SCRIPT).write_text(program.source, encoding="utf-8")
        if _can_drop(self.python):  # the child drops to nobody: let it write here
            os.chown(root, NOBODY, NOBODY)
        return tmp

    # --- judging what happened ---------------------------------------------------------

    def verdict(
        self, workdir: str, returncode: int | None, elapsed: float, program: Program
    ) -> Check:
        """Pass/fail with its reason, from the exit status and the child's report."""
        opts = self.options
        root = Path(workdir)
        output = _tail(root / "stderr.txt", opts.output_chars) or _tail(
            root / "stdout.txt", opts.output_chars
        )
        shown = f"; output: {quote(output, opts.output_chars)}" if output else ""
        if returncode is None:
            return fail(f"timed out after {_seconds(opts.timeout_s)}")
        lines = (
            (root / "result.txt").read_text("utf-8", "replace").splitlines()
            if (root / "result.txt").is_file()
            else []
        )
        if not lines or lines[0] != STARTED:
            return error(
                f"the interpreter{' or sandbox' if opts.sandbox else ''} did not start "
                f"(exit status {returncode}){shown}"
            )
        report = _parse(lines[1] if len(lines) > 1 else "")
        kind = report.get("kind")
        if kind == "passed" and returncode == 0:
            ran = f"check({self._entry_of(program)})" if "check(" in program.source else "tests"
            return ok(f"{ran} passed in {elapsed:.2f} s ({program.how})")
        if kind == "memory":
            return fail(f"killed: memory (over the {opts.memory_mb} MB limit)")
        if kind == "syntax":
            return fail(
                f"SyntaxError: {report.get('message')} at line {report.get('lineno')}: "
                f"{quote(str(report.get('line') or ''))} ({program.how})"
            )
        if kind == "exit":
            return fail(f"the program called exit({report.get('code')}) before the tests ended")
        if kind == "exception":
            name, message = report.get("type"), report.get("message") or ""
            line = report.get("line") or ""
            where = f" at line {report['lineno']}: {line}" if report.get("lineno") else ""
            if name == "AssertionError":
                said = f" ({message})" if message else ""
                return fail(f"assertion failed{where}{said}{shown}")
            return fail(f"{name}: {message}{where}{shown}")
        if returncode < 0:
            sig = _signal_name(-returncode)
            if sig in ("SIGXCPU",) or (sig == "SIGKILL" and elapsed >= opts.timeout_s):
                return fail(f"killed: CPU time limit ({_seconds(opts.timeout_s)}){shown}")
            if sig == "SIGKILL":
                return fail(f"killed: SIGKILL (out of memory?){shown}")
            return fail(f"killed: {sig}{shown}")
        return fail(f"the program exited (status {returncode}) before the tests ended{shown}")

    @staticmethod
    def _entry_of(program: Program) -> str:
        m = re.search(r"^check\((\w+)\)$", program.source, re.M)
        return m.group(1) if m else ""

    # --- running -----------------------------------------------------------------------

    def check(self, text: str, ctx: GradeContext) -> Check:
        program = self.program(text, ctx)
        if isinstance(program, Check):
            return program
        with self._workdir(program) as workdir:
            root = Path(workdir)
            with open(root / "stdout.txt", "wb") as out, open(root / "stderr.txt", "wb") as err:
                start = time.monotonic()
                proc = subprocess.Popen(
                    self._command(workdir),
                    cwd=workdir,
                    env=_child_env(workdir),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            try:
                returncode: int | None = proc.wait(timeout=self.options.timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
                proc.wait()
                returncode = None
            return self.verdict(workdir, returncode, time.monotonic() - start, program)

    async def acheck(self, text: str, ctx: GradeContext) -> Check:
        program = self.program(text, ctx)
        if isinstance(program, Check):
            return program
        async with _slots():
            with self._workdir(program) as workdir:
                root = Path(workdir)
                with (
                    open(root / "stdout.txt", "wb") as out,
                    open(root / "stderr.txt", "wb") as err,
                ):
                    start = time.monotonic()
                    proc = await asyncio.create_subprocess_exec(
                        *self._command(workdir),
                        cwd=workdir,
                        env=_child_env(workdir),
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=err,
                        start_new_session=True,
                    )
                returncode: int | None
                try:
                    returncode = await asyncio.wait_for(proc.wait(), self.options.timeout_s)
                except TimeoutError:
                    _kill_group(proc.pid)
                    await proc.wait()
                    returncode = None
                except BaseException:  # cancelled (Ctrl-C): never leave the program running
                    _kill_group(proc.pid)
                    raise
                return self.verdict(workdir, returncode, time.monotonic() - start, program)


_DROP: dict[str, bool] = {}

PROBE = (
    "import os, sys; os.setgroups([]); os.setgid(65534); os.setuid(65534); "
    "import typing, math, collections, itertools, json, socket, subprocess, traceback"
)


def _can_drop(python: str) -> bool:
    """Run as root, can the child become `nobody` and still import the standard library?

    (Not when Python lives under a private home such as /root/.pyenv.) Probed once."""
    if os.geteuid() != 0:
        return False
    if python not in _DROP:
        try:
            probe = subprocess.run(
                [python, "-I", "-c", PROBE], env=_child_env("/"), capture_output=True, timeout=30
            )
            _DROP[python] = probe.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _DROP[python] = False
    return _DROP[python]


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _parse(line: str) -> dict[str, object]:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
