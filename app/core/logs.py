"""Logging for every process (web, scheduler, CLI) and the request id of each web request.

``configure_logging(settings)`` sends every record to stderr, one line each: JSON lines in production
(``ts`` ISO UTC, ``level``, ``logger``, ``msg``, then the record's extra fields and the request id of
the request it was written in), readable text elsewhere; GOVFLOW_LOG_FORMAT chooses.

``RequestContext`` is a pure ASGI middleware: it takes the client's ``X-Request-ID`` when it is sane
(8-64 letters, digits, ``.``, ``_``, ``-``) or makes one, keeps it in a context variable (so every
line logged during the request carries it) and in ``request.state.request_id`` (error pages and JSON
error bodies show it), returns it in the response header on every response, and writes one access
line per request (logger ``govflow.access``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# The request being served (None outside a request: scheduler, CLI).
request_id_var: ContextVar[str | None] = ContextVar("govflow_request_id", default=None)

access_log = logging.getLogger("govflow.access")

# What every LogRecord has: anything else on a record came from `extra=` and is written as a field.
# (Uvicorn adds color_message, its message with terminal colours.)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}


def current_request_id() -> str | None:
    """Return the id of the request being served, if any."""
    return request_id_var.get()


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the extra fields, and exc (a traceback) if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        for key, value in _extras(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-12-04T07:31:30.123Z INFO govflow.access GET /tasks 200 3.1ms request_id=… user_id=3``."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        fields = " ".join(f"{k}={_printable(v)}" for k, v in _extras(record).items() if v is not None)
        text = f"{ts} {record.levelname} {record.name} {_printable(record.getMessage())}"
        if fields:
            text += " " + fields
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        return text


def _printable(value: Any) -> str:
    """Escape line breaks and other control characters, so a request path cannot forge a log line."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record written during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = request_id_var.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Write to whatever sys.stderr is at the time (test runners replace it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


# Lines nobody needs at INFO: APScheduler's two lines per job run (every 2 s for the timer job; our own
# run_job wrapper logs the runs that did something), Uvicorn's access log (ours has the request id),
# Alembic's plugin and dialect lines at each start-up's schema check, httpx's line per webhook post. (The
# workflow engine's own loggers are quieted by app/engine/core.py, which alone knows the engine.)
_QUIET = {"apscheduler.executors": logging.WARNING, "uvicorn.access": logging.WARNING,
          "alembic": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING}


class _DropJobErrors(logging.Filter):
    """Drop APScheduler's 'Job … raised an exception': run_job logged the failure with its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "raised an exception" not in str(record.msg)


def configure_logging(settings: Any, level: int | None = None) -> None:
    """Send every record to stderr in the configured format (idempotent: a second call replaces the first).

    The level is the setting's (GOVFLOW_LOG_LEVEL, INFO by default) unless the caller gives one."""
    fmt = getattr(settings, "log_format", "text")
    if level is None:
        level = logging.getLevelName(getattr(settings, "log_level", "INFO"))
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    executors = logging.getLogger("apscheduler.executors.default")
    if not any(isinstance(f, _DropJobErrors) for f in executors.filters):
        executors.addFilter(_DropJobErrors())
    # Uvicorn configured its loggers with handlers of its own before building the app: send them through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def route_template(scope: dict[str, Any]) -> str | None:
    """Return the matched route's path template with its routers' prefixes (``/api/tasks/{task_id}``).

    FastAPI (0.16x) keeps included routers as they are; the matched route's full template is on its
    effective route context in the request scope, and ``scope["route"].path`` lacks the prefixes.
    """
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None)
    if template:
        return str(template)
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else None


class RequestContext:
    """Pure ASGI middleware: request id (header, context variable, request.state) and one access line."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope.get("headers", ()):
            if name == _HEADER_KEY:
                candidate = value.decode("latin-1")
                request_id = candidate if _SANE_ID.fullmatch(candidate) else None
                break
        request_id = request_id or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = request_id_var.set(request_id)
        status = 500
        header = (_HEADER_KEY, request_id.encode("latin-1"))

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER_KEY]
                headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # An exception here goes on to the 500 handler (outside this middleware), which adds the header.
            self._log(scope, state, request_id, status, started)
            request_id_var.reset(token)

    @staticmethod
    def _log(scope: dict[str, Any], state: dict[str, Any], request_id: str, status: int, started: float) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        route = route_template(scope)
        path = scope.get("path", "")
        if len(path) > 300:
            path = path[:300] + "…"
        client = scope.get("client")
        method = scope.get("method", "")
        access_log.info("%s %s %s %.1fms", method, route or path, status, duration_ms,
                        extra={"request_id": request_id, "method": method, "route": route, "path": path,
                               "status": status, "duration_ms": duration_ms, "user_id": state.get("user_id"),
                               "client": client[0] if client else None})


job_log = logging.getLogger("govflow.scheduler")


class JobRun:
    """What a job run returned (set inside ``logged_job``)."""

    result: Any = None


def did_something(result: Any) -> bool:
    """Tell whether a job's result says it did anything: a non-zero count, or a dict with one (or True)."""
    if isinstance(result, dict):
        return any(did_something(v) for v in result.values() if isinstance(v, (bool, int, float)))
    if isinstance(result, (bool, int, float)):
        return bool(result)
    return result is not None


@contextmanager
def logged_job(job_id: str) -> Iterator[JobRun]:
    """Log one job run: INFO when it did something, ERROR (with the traceback) when it failed, else DEBUG.

    A run that failed because the database cannot be reached is one WARNING line without a traceback.

    An idle tick (the timer job runs every 2 seconds) writes nothing at INFO.
    """
    run = JobRun()
    started = time.perf_counter()
    try:
        yield run
    except Exception as exc:
        from app.core.db import database_unavailable

        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        if database_unavailable(exc):
            # The database is down or restarting: one line per run, no traceback (the timer job runs every 2 s).
            reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0][:300]
            job_log.warning("job %s: database unavailable: %s", job_id, reason,
                            extra={"job": job_id, "duration_ms": duration_ms, "outcome": "database_unavailable"})
            raise
        job_log.error("job %s failed after %.1fms: %s", job_id, duration_ms, type(exc).__name__, exc_info=True,
                      extra={"job": job_id, "duration_ms": duration_ms, "outcome": "failed"})
        raise
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    busy = did_something(run.result)
    job_log.log(logging.INFO if busy else logging.DEBUG, "job %s %s in %.1fms", job_id, "done" if busy else "idle",
                duration_ms, extra={"job": job_id, "duration_ms": duration_ms, "outcome": "done" if busy else "idle",
                       "result": run.result})
