"""APScheduler set-up and the job registry."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.audit.jobs import export_audit_head
from app.auth.jobs import prune_logins
from app.core.clock import SHANGHAI, clock
from app.core.config import Settings
from app.core.logs import logged_job
from app.engine.jobs import fire_due_timers
from app.notifications.jobs import deliver_notifications
from app.ops.jobs import HEARTBEAT_SECONDS, JOBS_RUN, Heartbeat, record_run
from app.ops.stuck import report_stuck_instances
from app.runtime import Runtime
from app.supervision.jobs import escalate_overdue
from app.tasks.jobs import remind_before_due
from app.usage.jobs import archive_usage_events, create_usage_partitions
from app.workdays.service import sync_clock

# job id (kebab-case) -> (function of the runtime, interval in seconds or a function of the settings)
JOBS: dict[str, tuple[Callable[[Runtime], Any], int | Callable[[Settings], int]]] = {
    "fire-due-timers": (fire_due_timers, 2),
    "remind-before-due": (remind_before_due, 300),
    "escalate-overdue": (escalate_overdue, 60),
    "deliver-notifications": (deliver_notifications, 10),
    "prune-logins": (prune_logins, 3600),
    "export-audit-head": (export_audit_head, lambda settings: settings.audit_head_export_minutes * 60),
    "create-usage-partitions": (create_usage_partitions, 6 * 3600),
    "archive-usage-events": (archive_usage_events, 24 * 3600),
    "report-stuck-instances": (report_stuck_instances, 600),
}

# What an administrator reads on the button that runs a job now (the id stays in the URL only).
JOB_ZH: dict[str, str] = {
    "fire-due-timers": "触发到期定时器",
    "remind-before-due": "发送到期前提醒",
    "escalate-overdue": "超期任务移送督办",
    "deliver-notifications": "投递待发消息",
    "prune-logins": "清理过期登录记录",
    "export-audit-head": "导出审计链头",
    "create-usage-partitions": "预建数据使用日志月分区",
    "archive-usage-events": "归档超过 24 个月的数据使用日志",
    "report-stuck-instances": "检查停滞的流程实例",
}


def run_job(rt: Runtime, job_id: str) -> Any:
    """Run one registered job now, on the deployment's clock (demo offset read from the database first).

    Each run, whatever its outcome, is added to the job's row in `job_status` (runs, failures, last
    success, duration), which /metrics reads.
    """
    func, _ = JOBS[job_id]
    started_at, t0 = clock.base(), time.perf_counter()
    ok = False
    try:
        with logged_job(job_id) as run:  # one log line per run that did something or failed (app/core/logs.py)
            sync_clock(rt.db, rt.settings)
            run.result = func(rt)
        ok = True
        return run.result
    finally:
        JOBS_RUN.add()
        record_run(rt.db, job_id, started_at, round((time.perf_counter() - t0) * 1000), ok)


def job_interval(settings: Settings, job_id: str) -> int:
    """Seconds between two runs of a job: GOVFLOW_JOB_INTERVALS, else the registry's default."""
    unknown = sorted(set(settings.job_intervals) - set(JOBS))
    if unknown:
        raise ValueError(f"GOVFLOW_JOB_INTERVALS 含未知任务 {', '.join(unknown)}（可用：{', '.join(sorted(JOBS))}）"
                         f" / unknown job ids in GOVFLOW_JOB_INTERVALS: {', '.join(unknown)}")
    if job_id in settings.job_intervals:
        return settings.job_intervals[job_id]  # 1 s to a day (Settings)
    interval = JOBS[job_id][1]
    return interval(settings) if callable(interval) else interval


def build_scheduler(rt: Runtime, *, background: bool) -> BackgroundScheduler | BlockingScheduler:
    """Build a scheduler with every registered job on its interval."""
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai") if background \
        else BlockingScheduler(timezone="Asia/Shanghai")
    for job_id in JOBS:
        seconds = job_interval(rt.settings, job_id)
        scheduler.add_job(run_job, "interval", seconds=seconds, args=[rt, job_id], id=job_id, max_instances=1,
                          coalesce=True, misfire_grace_time=seconds * 4)
    # Not a registered job (no button, no job_status row): the beat /readyz looks for, first one at once.
    heartbeat = Heartbeat(rt.db)
    scheduler.add_job(heartbeat.beat, "interval", seconds=HEARTBEAT_SECONDS, id="scheduler-heartbeat",
                      max_instances=1, coalesce=True, misfire_grace_time=HEARTBEAT_SECONDS * 4,
                      next_run_time=datetime.now(SHANGHAI))
    return scheduler
