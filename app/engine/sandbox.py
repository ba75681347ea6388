"""Restricted script engine: BPMN scripts and expressions run in a pool of limited worker processes.

The restricted-Python policy itself lives in app/engine/restricted.py; every evaluation runs in a
script worker (app/engine/script_worker.py) under RLIMIT_AS and a CPU-time limit, so no single
operation a script calls can exhaust this process's memory or hold its thread. A worker that hit a
limit, died or did not answer is replaced; the caller gets ScriptError / ScriptTimeout (422) and the
next evaluation runs on a fresh worker.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NoReturn

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from app.core.counters import ProcessCounter
from app.engine import fastpath, juel, wire
from app.engine.errors import ScriptError, ScriptOutOfMemory, ScriptTimeout
from app.engine.restricted import compile_expression, compile_script

_ROOT = Path(__file__).resolve().parents[2]  # the directory holding the `app` package
# A worker must start (interpreter + RestrictedPython) within this, even on a loaded host.
_START_SECONDS = 30.0
# While waiting for an answer, check the worker's CPU time this often; end it once it used this
# much CPU past its timeout without its own timer having stopped it (it is in one long C call).
_WATCH_SECONDS = 0.1
_CPU_GRACE_SECONDS = 0.5
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _wall_backstop(timeout: float) -> float:
    """Wall-clock seconds to wait for an answer before killing the worker.

    The worker's CPU time is bounded (its timer; this process's watch of its CPU time; RLIMIT_CPU);
    this only catches a worker that is stuck without using CPU, so it is generous: a loaded host
    may give the worker a fraction of a CPU.
    """
    return 5.0 + 4 * timeout


def _worker_environment() -> dict[str, str]:
    """The worker's whole environment: no GOVFLOW_* secrets, no database URL, no proxies."""
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONPATH": str(_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("PYTHONHASHSEED",):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


class _WorkerGone(Exception):
    """The worker died, answered garbage or did not answer in time; it has been killed."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__("script worker gone")
        self.timed_out = timed_out


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, memory_mb: int) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "app.engine.script_worker", str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True, env=_worker_environment(), cwd=_ROOT,
        )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        self._buffer = b""
        self._killed = False
        ready = self._read(time.monotonic() + _START_SECONDS)
        if not ready.get("ready"):
            self.kill()
            raise _WorkerGone(timed_out=False)

    def call(self, request: bytes, timeout: float) -> dict[str, Any]:
        """Send one encoded request and return the reply; raise _WorkerGone (worker killed) on failure."""
        cpu_limit = self.cpu_seconds() + timeout + _CPU_GRACE_SECONDS
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            raise _WorkerGone(timed_out=self._died_of_cpu()) from None
        return self._read(time.monotonic() + _wall_backstop(timeout), cpu_limit)

    def cpu_seconds(self) -> float:
        """Return the CPU time the worker has used so far (Linux /proc), 0 if it cannot be read."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            return 0.0
        # Fields 14 and 15 of proc(5), utime and stime, counted from after the command name.
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    def _read(self, deadline: float, cpu_limit: float | None = None) -> dict[str, Any]:
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        need = 4
        size: int | None = None
        while True:
            if size is None and len(self._buffer) >= 4:
                size = int.from_bytes(self._buffer[:4], "big")
                if size > wire.MAX_MESSAGE_BYTES:
                    self.kill()
                    raise _WorkerGone(timed_out=False)
                need = 4 + size
            if size is not None and len(self._buffer) >= need:
                body, self._buffer = self._buffer[4:need], self._buffer[need:]
                try:
                    reply = wire.decode(body)
                except (ValueError, RecursionError):
                    self.kill()
                    raise _WorkerGone(timed_out=False) from None
                if not isinstance(reply, dict):
                    self.kill()
                    raise _WorkerGone(timed_out=False)
                return reply
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise _WorkerGone(timed_out=True)
            if not self._selector.select(min(left, _WATCH_SECONDS)):
                # One long C-level call cannot be interrupted by the worker's timer: watch its CPU
                # time from here and end it soon after the deadline (RLIMIT_CPU is coarser, in seconds).
                if cpu_limit is not None and self.cpu_seconds() > cpu_limit:
                    self.kill()
                    raise _WorkerGone(timed_out=True)
                continue
            chunk = os.read(fd, max(need - len(self._buffer), 65536))
            if not chunk:
                self.kill()
                raise _WorkerGone(timed_out=self._died_of_cpu())
            self._buffer += chunk

    def _died_of_cpu(self) -> bool:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return code == -signal.SIGXCPU

    def kill(self) -> None:
        """End the process (if it still runs) and release its pipes."""
        if self._killed:
            return
        self._killed = True
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._selector.close()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass

    def close(self) -> None:
        """Let the worker end by closing its input (it exits on EOF)."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


class WorkerPool:
    """A fixed number of script workers for this process, started lazily, one caller per worker."""

    def __init__(self, size: int, memory_mb: int) -> None:
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._taken = 0  # slots in use: idle + checked out + starting; never above size
        self._pid = os.getpid()

    def run(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Run one request on a worker; raise ScriptError / ScriptTimeout for what went wrong."""
        try:
            body = wire.frame(wire.encode(request))
        except (TypeError, ValueError, RecursionError) as exc:
            raise ScriptError(f"任务数据无法交给脚本：{exc}") from None
        worker = self._checkout()
        keep = False
        try:
            try:
                reply = worker.call(body, timeout)
            except _WorkerGone as gone:
                if gone.timed_out:
                    raise _timeout(timeout) from None
                raise ScriptError("脚本执行进程异常退出，已重启") from None
            if reply.get("ok"):
                keep = True
                return reply
            kind = reply.get("kind")
            if kind == "error":
                keep = True
                raise ScriptError(str(reply.get("message", "")))
            if kind == "timeout":
                raise _timeout(timeout)
            if kind == "memory":
                raise ScriptOutOfMemory(f"脚本占用内存超过 {self.memory_mb} MB，已被终止")
            raise ScriptError("脚本执行进程应答无效")
        finally:
            self._checkin(worker, keep)

    def pids(self) -> list[int]:
        """Return the process ids of the idle workers (for tests and diagnostics)."""
        with self._cond:
            return sorted(worker.proc.pid for worker in self._idle)

    def close(self) -> None:
        """Stop the idle workers; the pool starts new ones if it is used again."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._taken -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.close()

    def _checkout(self) -> _Worker:
        with self._cond:
            if self._pid != os.getpid():
                # A forked child must not share its parent's pipes: start afresh.
                self._idle, self._taken, self._pid = [], 0, os.getpid()
            while not self._idle and self._taken >= self.size:
                self._cond.wait()
            worker = self._idle.pop() if self._idle else None
            if worker is None:
                self._taken += 1  # this caller starts one itself
            # Fill the other slots in the background, so that the next caller (or the next script
            # after one that hit a limit) finds a worker ready.
            while self._taken < self.size:
                self._start_in_background()
        if worker is not None:
            return worker
        try:
            return _Worker(self.memory_mb)
        except BaseException:
            with self._cond:
                self._taken -= 1
                self._cond.notify()
            raise

    def _checkin(self, worker: _Worker, keep: bool) -> None:
        if not keep:
            worker.kill()
        with self._cond:
            if keep and self._pid == os.getpid():
                self._idle.append(worker)
                self._cond.notify()
                return
            self._taken -= 1
            if self._pid == os.getpid():
                self._start_in_background()  # the replacement, started now rather than on next use
            self._cond.notify()

    def _start_in_background(self) -> None:
        """Take a slot and start a worker for it on a thread (caller holds the lock)."""
        self._taken += 1
        threading.Thread(target=self._start, name="script-worker-start", daemon=True).start()

    def _start(self) -> None:
        try:
            worker: _Worker | None = _Worker(self.memory_mb)
        except Exception:  # noqa: BLE001 - the slot is freed; a caller starting one reports the failure
            worker = None
        with self._cond:
            if worker is not None and self._pid == os.getpid():
                self._idle.append(worker)
            else:
                self._taken -= 1
                if worker is not None:
                    worker.kill()
            self._cond.notify()


# Scripts this process's workers stopped for running out of CPU time, since the process started.
TIMEOUTS = ProcessCounter()


def _timeout(seconds: float) -> ScriptTimeout:
    TIMEOUTS.add()
    return ScriptTimeout(f"脚本运行超过 {seconds:g} 秒 CPU 时间，已被终止")


_pools: dict[tuple[int, int], WorkerPool] = {}
_pools_lock = threading.Lock()


def worker_pool(size: int, memory_mb: int) -> WorkerPool:
    """Return this process's pool for (size, memory budget), creating it on first use."""
    key = (size, memory_mb)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = WorkerPool(size, memory_mb)
        return pool


# --------------------------------------------------------------------------------------------
# Running


# Seconds the scripts of the current engine step have used (one list per step; None outside a step).
_step_spent: ContextVar[list[float] | None] = ContextVar("govflow_script_step_spent", default=None)


@contextmanager
def script_step() -> Iterator[None]:
    """Count the time the scripts run inside this block against one step budget (nested blocks share it).

    Every engine call that runs elements (start, complete, a timer, a message, an external task) is one step:
    a multi-instance script task runs once per item, so its instances share the budget, not one timeout each.
    """
    if _step_spent.get() is not None:
        yield
        return
    token = _step_spent.set([0.0])
    try:
        yield
    finally:
        _step_spent.reset(token)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Run restricted code against task data in a script worker, bounded in memory and CPU time."""

    def __init__(self, *, timeout_seconds: float = 1.0, memory_mb: int = 256, workers: int = 2,
                 step_budget_seconds: float = 10.0) -> None:
        super().__init__({})
        self.timeout_seconds = timeout_seconds
        self.step_budget_seconds = step_budget_seconds
        self.pool = worker_pool(workers, memory_mb)

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        """Evaluate an expression against the task data."""
        compile_expression(expression)  # refused here, without a round trip (and cached)
        value = fastpath.evaluate(expression, context, external_context, ScriptError)
        if value is not fastpath.NOT_TRIVIAL:
            return value
        reply = self._run("eval", expression, context, external_context)
        return reply.get("value")

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        """Run a script; on success replace the task data with what the script left behind."""
        compile_script(script)
        data = fastpath.execute(script, context, external_context, ScriptError)
        if data is fastpath.NOT_TRIVIAL:
            data = self._run("exec", script, context, external_context).get("data")
        if not isinstance(data, dict):
            raise ScriptError("脚本执行进程应答无效")
        context.clear()
        context.update(data)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        """Refuse service calls: no service task is deployable."""
        raise ScriptError("不支持服务调用")

    def _run(self, mode: str, source: str, context: dict[str, Any],
             external_context: dict[str, Any] | None) -> dict[str, Any]:
        spent = _step_spent.get()
        timeout = self.timeout_seconds
        if spent is not None:
            left = self.step_budget_seconds - spent[0]
            if left <= 0:
                raise ScriptTimeout(f"本次办理中脚本累计运行已超过 {self.step_budget_seconds:g} 秒，已停止"
                                    "（如多实例脚本任务的项目过多）；流程未作任何改变")
            timeout = min(timeout, left)
        request = {"mode": mode, "source": source, "timeout": timeout,
                   "context": context, "external": external_context or {}}
        started = time.monotonic()
        try:
            return self.pool.run(request, timeout)
        finally:
            if spent is not None:
                spent[0] += time.monotonic() - started


def _element_id(task: Any) -> str | None:
    spec = getattr(task, "task_spec", None)
    if spec is None:
        return None
    return getattr(spec, "bpmn_id", None) or spec.name


def _raise_at(exc: ScriptError, task: Any) -> NoReturn:
    located = exc.at(_element_id(task))
    if located is exc:
        raise exc
    raise located from exc


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine that runs everything in the restricted environment."""

    environment: RestrictedEnvironment

    def __init__(self, *, timeout_seconds: float = 1.0, memory_mb: int = 256, workers: int = 2,
                 step_budget_seconds: float = 10.0) -> None:
        super().__init__(environment=RestrictedEnvironment(
            timeout_seconds=timeout_seconds, memory_mb=memory_mb, workers=workers,
            step_budget_seconds=step_budget_seconds))

    def validate(self, expression: str) -> None:
        """Compile an expression under the restricted policy (raise ScriptError if refused)."""
        compile_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        """Evaluate an expression for a task; errors name the task's BPMN element."""
        # Not delegated to super(): it would wrap our errors in WorkflowTaskException.
        try:
            # An expression translated from JUEL reads its unset variables as null (app/engine/juel.py).
            external_context = juel.unset_as_null(expression, task.data, external_context)
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptError as exc:
            _raise_at(exc, task)

    def execute(self, task: Any, script: str, external_context: dict[str, Any] | None = None) -> bool:
        """Run a script task's script; errors name the task's BPMN element."""
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ScriptError as exc:
            _raise_at(exc, task)

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        """Refuse service calls: no service task is deployable."""
        raise ScriptError("不支持服务调用", element_id=_element_id(task))
