"""Prometheus metrics: requests by route template (a pure ASGI middleware) and figures read at scrape time.

Two kinds, and what they mean with several replicas:

- Request counts and latency are kept in memory by each web process (no multiprocess mode): every
  replica exposes its own, and Prometheus sums them across its targets
  (``sum by (route) (rate(govflow_http_requests_total[5m]))``). Labels are the route's template
  (``/api/tasks/{task_id}``), never the raw path, so their number is bounded by the app's routes.
- Everything read from the database (open and overdue tasks, supervision queue, job runs, outbox) is
  global: each replica reports the same numbers at scrape time, so aggregate them with ``max``, not
  ``sum``. The queries are aggregates over indexed columns, bounded by the open work, not by history.
- ``govflow_sandbox_timeouts_total`` counts the scripts this process stopped (per process, like requests).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, false, func, literal_column, select

from app.core.clock import clock
from app.core.logs import route_template
from app.engine import sandbox
from app.engine.models import Task
from app.notifications.models import NOTIFICATION_TOPIC, Outbox
from app.ops.models import JobStatus, StuckInstance
from app.org.models import Department
from app.runtime import Runtime
from app.supervision.models import SupervisionItem
from app.workdays.models import ServiceClock

log = logging.getLogger("govflow")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: most pages answer in milliseconds, a heavy export in seconds.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"
# Undelivered outbox rows are those with a next attempt (a range on its index; IS NOT NULL scans on SQLite).
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class RequestMetrics:
    """Count requests and time them by method, route template and status (pure ASGI, no body buffering)."""

    def __init__(self, app: Any, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("govflow_http_requests", "HTTP requests answered, by route template",
                                ["method", "route", "status"], registry=registry)
        self.duration = Histogram("govflow_http_request_duration_seconds",
                                  "Time to answer an HTTP request, by route template", ["method", "route"],
                                  buckets=_BUCKETS, registry=registry)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = route_template(scope) or UNMATCHED  # the access log's template (app/core/logs.py)
            self.requests.labels(method, route, str(status)).inc()
            self.duration.labels(method, route).observe(time.perf_counter() - start)


class DatabaseCollector(Collector):
    """Figures read from the database at scrape time (global, see the module's docstring)."""

    def __init__(self, rt: Runtime, engine: Engine) -> None:
        self.rt = rt
        self.engine = engine

    def describe(self) -> list[Any]:
        return []  # read at scrape time only: registering must not query the database

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("govflow_metrics_database_up",
                               "1 when the database figures below could be read at this scrape, else 0")
        timeouts = CounterMetricFamily("govflow_sandbox_timeouts",
                                       "Scripts stopped for exceeding their CPU time, in this process")
        timeouts.add_metric([], sandbox.TIMEOUTS.value)
        try:
            families = self._read()
        except Exception:  # noqa: BLE001 - a scrape during an outage still answers, with up = 0
            log.warning("metrics: database figures unavailable", exc_info=True)
            up.add_metric([], 0)
            yield from (up, timeouts)
            return
        up.add_metric([], 1)
        yield from (up, timeouts, *families)

    def _read(self) -> list[Any]:
        t, d = Task.__table__.c, Department.__table__.c
        with self.engine.connect() as conn:
            now = clock.now()
            if self.rt.settings.enable_time_travel:
                # The deployment's demo offset, as the requests and jobs see it.
                offset = conn.execute(select(ServiceClock.__table__.c.offset_us)
                                      .where(ServiceClock.__table__.c.id == 1)).scalar_one_or_none()
                now = clock.base() + timedelta(microseconds=offset or 0)
            # Open real tasks only, read from the inbox's partial index (its predicate, written as literals).
            tasks = conn.execute(
                select(t.process_key, d.code, func.count(),
                       func.count(t.due_at).filter(t.due_at < now), func.min(t.created_at))
                .select_from(Task.__table__.outerjoin(Department.__table__, d.id == t.department_id))
                .where(t.status == literal_column("'open'"), t.trial == false())
                .group_by(t.process_key, d.code)).all()
            items = conn.execute(select(func.count()).select_from(SupervisionItem.__table__)
                                 .where(SupervisionItem.__table__.c.state == literal_column("'open'"))).scalar_one()
            o = Outbox.__table__.c
            backlog = conn.execute(select(func.count()).select_from(Outbox.__table__).where(
                o.next_attempt_at >= _EPOCH, o.topic == NOTIFICATION_TOPIC)).scalar_one()
            jobs = conn.execute(select(JobStatus.__table__)).mappings().all()
            stuck = conn.execute(select(func.count()).select_from(StuckInstance.__table__)).scalar_one()
        open_ = GaugeMetricFamily("govflow_tasks_open", "Open tasks, by process and department code",
                                  labels=["process", "department"])
        overdue = GaugeMetricFamily("govflow_tasks_overdue", "Open tasks past their deadline, by process and "
                                    "department code", labels=["process", "department"])
        oldest_created = None
        for process, department, count, late, created in tasks:
            labels = [process, department or ""]
            open_.add_metric(labels, count)
            overdue.add_metric(labels, late)
            if created is not None and (oldest_created is None or created < oldest_created):
                oldest_created = created
        oldest = GaugeMetricFamily("govflow_oldest_open_task_age_seconds",
                                   "Age of the oldest open task (0 when none is open)")
        oldest.add_metric([], max(0.0, (now - oldest_created).total_seconds()) if oldest_created else 0.0)
        supervision = GaugeMetricFamily("govflow_supervision_items_open", "Supervision items (督办) still open")
        supervision.add_metric([], items)
        outbox = GaugeMetricFamily("govflow_notification_outbox_backlog",
                                   "Notifications not yet delivered to the webhook (pending or being sent)")
        outbox.add_metric([], backlog)
        runs = CounterMetricFamily("govflow_job_runs", "Runs of each scheduled job, all replicas", labels=["job"])
        failures = CounterMetricFamily("govflow_job_failures", "Failed runs of each scheduled job, all replicas",
                                       labels=["job"])
        success = GaugeMetricFamily("govflow_job_last_success_timestamp_seconds",
                                    "Unix time of each job's last successful run (any replica)", labels=["job"])
        duration = GaugeMetricFamily("govflow_job_last_duration_seconds", "Duration of each job's last run",
                                     labels=["job"])
        for job in jobs:
            runs.add_metric([job["job_id"]], job["runs"])
            failures.add_metric([job["job_id"]], job["failures"])
            if job["last_success_at"] is not None:
                success.add_metric([job["job_id"]], job["last_success_at"].timestamp())
            duration.add_metric([job["job_id"]], job["last_duration_ms"] / 1000)
        stuck_instances = GaugeMetricFamily("govflow_instances_stuck", "Running instances nothing can move on, "
                                            "as the report-stuck-instances job last found them (should be 0)")
        stuck_instances.add_metric([], stuck)
        return [open_, overdue, oldest, supervision, outbox, runs, failures, success, duration, stuck_instances]
