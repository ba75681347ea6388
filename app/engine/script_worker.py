"""A script worker process: runs BPMN scripts and expressions under hard memory and CPU limits.

Started by app/engine/sandbox.py as `python -m app.engine.script_worker <memory MB>`, with a scrubbed
environment; it reads requests from stdin and writes replies to stdout, one length-prefixed JSON
message each (see app/engine/wire.py). Why a process: only the kernel bounds *every* allocation
and every C-level loop, whatever single operation sandboxed code calls (str.ljust taken from the
type, an f-string width, int.to_bytes, list.extend doubling…), and only a separate process can be
thrown away when one of those limits is hit without harming the web or scheduler process.

- Memory: RLIMIT_AS = the address space after start-up + the budget. An allocation past it fails,
  which Python reports as MemoryError; the worker answers and is replaced.
- CPU: an ITIMER_PROF timer (process CPU time, as the README promises, not wall time) whose
  SIGPROF handler raises DeadlineExceeded between two bytecodes; it fires again every
  `_REPEAT_SECONDS` of CPU, and the policy re-checks the deadline first thing in every except and
  finally block, so sandboxed code cannot swallow it. One long C-level call cannot be interrupted
  by a Python handler: the parent watches this process's CPU time and kills it 0.5 s of CPU past
  the timeout, and RLIMIT_CPU (soft, re-armed per request, whole seconds) is the last backstop
  (SIGXCPU ends the worker). Either way the parent reports a timeout and starts a new worker.
"""

from __future__ import annotations

import gc
import math
import os
import resource
import signal
import sys
import time
from typing import Any

from app.engine import wire
from app.engine.errors import ScriptError
from app.engine.restricted import (
    DEADLINE_CHECK,
    DeadlineExceeded,
    compile_expression,
    compile_script,
    harvest,
    namespace_for,
    normalize_data,
    normalize_value,
)

_REPEAT_SECONDS = 0.05


class _Run:
    """The state of the request being served, read by the signal handler and the injected check."""

    active = False
    deadline = 0.0


def _on_sigprof(signum: int, frame: Any) -> None:
    if _Run.active:
        raise DeadlineExceeded


def _check() -> None:
    # Also refuse once the run is over: a generator left behind runs its finally/except blocks
    # when it is garbage-collected, after the script.
    if not _Run.active or time.process_time() > _Run.deadline:
        raise DeadlineExceeded


def _address_space() -> int:
    """Return this process's current virtual memory size in bytes (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmSize not found")


def _limit_memory(budget_mb: int) -> None:
    limit = _address_space() + budget_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A worker killed by SIGXCPU must not leave a core file behind.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _arm_cpu_backstop(timeout: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used + timeout) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _serve(request: dict[str, Any]) -> dict[str, Any]:
    mode, source, timeout = request["mode"], request["source"], float(request["timeout"])
    context, external = request["context"], request.get("external") or {}
    code = compile_expression(source) if mode == "eval" else compile_script(source)
    namespace = namespace_for(context, external)
    namespace[DEADLINE_CHECK] = _check
    _arm_cpu_backstop(timeout)
    _Run.deadline = time.process_time() + timeout
    _Run.active = True
    signal.setitimer(signal.ITIMER_PROF, timeout, _REPEAT_SECONDS)
    try:
        if mode == "eval":
            value = eval(code, namespace)  # noqa: S307 - restricted bytecode, guarded namespace
        else:
            exec(code, namespace)  # noqa: S102 - restricted bytecode, guarded namespace
    finally:
        _Run.active = False
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
    if mode == "eval":
        return {"ok": True, "value": normalize_value(value, ScriptError)}
    return {"ok": True, "data": normalize_data(harvest(namespace, context, external), ScriptError)}


def _answer(request: dict[str, Any]) -> tuple[bytes, bool]:
    """Serve one request; return the encoded reply and whether this worker must be replaced."""
    try:
        # Encoded inside the try: a value the wire cannot carry is the script's error.
        return wire.encode(_serve(request)), False
    except DeadlineExceeded:
        return wire.encode({"ok": False, "kind": "timeout"}), True
    except MemoryError:
        return wire.encode({"ok": False, "kind": "memory"}), True
    except ScriptError as exc:
        reply: dict[str, Any] = {"ok": False, "kind": "error", "message": exc.detail_zh}
    except RecursionError:
        reply = {"ok": False, "kind": "error", "message": "递归过深"}
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - anything the script raised is its error
        reply = {"ok": False, "kind": "error", "message": f"{type(exc).__name__}: {_text(exc)}"}
    return wire.encode(reply), False


def _text(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a hostile exception may not even print
        return ""
    return text if len(text) <= 500 else text[:500] + "…"


def main() -> None:
    """Set the limits, say ready, then serve requests until the parent closes stdin."""
    budget_mb = int(sys.argv[1])
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Nothing else may write into the reply pipe.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    signal.signal(signal.SIGPROF, _on_sigprof)
    gc.collect()
    gc.freeze()  # start-up objects are never garbage: keep the per-request collection cheap
    _limit_memory(budget_mb)
    wire.write(replies, wire.encode({"ok": True, "ready": os.getpid()}))
    while True:
        try:
            request = wire.read(requests)
        except EOFError:
            return
        try:
            reply, retire = _answer(request)
            del request
            gc.collect()  # finalizers of what the script left behind run now, refused by the check
        except MemoryError:
            reply, retire = wire.encode({"ok": False, "kind": "memory"}), True
        # A worker that hit a limit may be left in any state: it answers, then the parent replaces it.
        wire.write(replies, reply)
        if retire:
            return


if __name__ == "__main__":
    main()
