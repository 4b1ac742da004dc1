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
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
from evals.graders.code_child import (
    BOOTSTRAP,
    FSIZE_BYTES,
    NOBODY,
    SCRIPT,
    STARTED,
    can_drop_to_nobody,
    child_env,
    kill_group,
    parse_report,
    signal_name,
)
from evals.graders.code_extract import extract_code, pick_block
from evals.graders.registry import register

__all__ = ["CodeExecGrader", "CodeExecOptions", "Program", "extract_code", "pick_block"]


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


def _spawn(workdir: str, out: Any, err: Any) -> dict[str, Any]:
    """How the child is started, by either path: its folder and environment only, no
    stdin, output to files, its own process group (so a timeout kills all of it)."""
    return {
        "cwd": workdir,
        "env": child_env(workdir),
        "stdin": subprocess.DEVNULL,
        "stdout": out,
        "stderr": err,
        "start_new_session": True,
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
            "1" if can_drop_to_nobody(self.python) else "0",
        ]
        prefix = [part.replace("{dir}", workdir) for part in opts.sandbox]
        return prefix + argv

    def _workdir(self, program: Program) -> tempfile.TemporaryDirectory[str]:
        tmp = tempfile.TemporaryDirectory(prefix="evals-code-", ignore_cleanup_errors=True)
        root = Path(tmp.name)
        (root / SCRIPT).write_text(program.source, encoding="utf-8")
        if can_drop_to_nobody(self.python):  # the child drops to nobody: let it write here
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
        report = parse_report(lines[1] if len(lines) > 1 else "")
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
            sig = signal_name(-returncode)
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
                proc = subprocess.Popen(self._command(workdir), **_spawn(workdir, out, err))
            try:
                returncode: int | None = proc.wait(timeout=self.options.timeout_s)
            except subprocess.TimeoutExpired:
                kill_group(proc.pid)
                proc.wait()
                returncode = None
            except BaseException:  # interrupted (Ctrl-C): never leave the program running
                kill_group(proc.pid)
                raise
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
                        *self._command(workdir), **_spawn(workdir, out, err)
                    )
                returncode: int | None
                try:
                    returncode = await asyncio.wait_for(proc.wait(), self.options.timeout_s)
                except TimeoutError:
                    kill_group(proc.pid)
                    await proc.wait()
                    returncode = None
                except BaseException:  # cancelled (Ctrl-C): never leave the program running
                    kill_group(proc.pid)
                    raise
                return self.verdict(workdir, returncode, time.monotonic() - start, program)
