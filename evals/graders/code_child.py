"""What runs in `code_exec`'s child process: the bootstrap that sets the limits and the
Python-level refusals before the program runs, the child's environment, and reading
back what the bootstrap reported. The grader (evals.graders.code_exec) spawns it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess

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


def child_env(workdir: str) -> dict[str, str]:
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


_DROP: dict[str, bool] = {}

PROBE = (
    "import os, sys; os.setgroups([]); os.setgid(65534); os.setuid(65534); "
    "import typing, math, collections, itertools, json, socket, subprocess, traceback"
)


def can_drop_to_nobody(python: str) -> bool:
    """Run as root, can the child become `nobody` and still import the standard library?

    (Not when Python lives under a private home such as /root/.pyenv.) Probed once."""
    if os.geteuid() != 0:
        return False
    if python not in _DROP:
        try:
            probe = subprocess.run(
                [python, "-I", "-c", PROBE], env=child_env("/"), capture_output=True, timeout=30
            )
            _DROP[python] = probe.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _DROP[python] = False
    return _DROP[python]


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def parse_report(line: str) -> dict[str, object]:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
