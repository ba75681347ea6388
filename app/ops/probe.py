"""The readiness checks behind /readyz, on a connection that gives up fast.

The probe has its own small pool on PostgreSQL (connect timeout 2 s, statement timeout 2 s, read only),
so that neither an exhausted request pool nor a database that stopped answering can hold it longer than
a few seconds; on SQLite it uses the read-only engine (a WAL reader never waits). Nothing is cached but
the migration heads of the code on disk, which cannot change under a running process. Messages are
for an operator and say nothing of addresses, versions or exception text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.core.clock import SHANGHAI, clock
from app.ops.models import SchedulerHeartbeat
from app.runtime import Runtime
from app.workdays.calendar import WorkdayCalendar
from app.workdays.models import CalendarYear

log = logging.getLogger("govflow")

CONNECT_TIMEOUT_SECONDS = 2
STATEMENT_TIMEOUT_MS = 2000


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """Return the newest revisions of the migrations shipped with this code (as app/startup.py reads them).

    Read once per process: the code on disk does not change under it.
    """
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.core.config import ROOT

    return frozenset(ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_heads())


def probe_engine(rt: Runtime) -> Engine:
    """Return the engine the probes and the metrics scrape read through (see the module's docstring)."""
    if not rt.db.is_postgres:
        return rt.db.read_engine
    options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS}" \
              " -c default_transaction_read_only=on"
    return create_engine(rt.db.engine.url, pool_size=1, max_overflow=2, pool_timeout=CONNECT_TIMEOUT_SECONDS,
                         pool_pre_ping=True, pool_recycle=600,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "options": options,
                                       "application_name": "govflow-probe"})


@dataclass
class Probe:
    rt: Runtime
    engine: Engine
    heads: frozenset[str]

    def dispose(self) -> None:
        if self.engine is not self.rt.db.read_engine:
            self.engine.dispose()


def _check(ok: bool, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": ok, "message": message, **extra}


def _unchecked() -> dict[str, Any]:
    return _check(False, "数据库不可用，无法检查")


def run_checks(probe: Probe) -> dict[str, dict[str, Any]]:
    """Run the four checks; each answers {"ok", "message"} (the scheduler's also "age_seconds")."""
    try:
        conn = probe.engine.connect()
    except SQLAlchemyError:
        log.warning("readiness: database unreachable", exc_info=True)
        return {"database": _check(False, "无法连接数据库"), "migrations": _unchecked(),
                "calendar": _unchecked(), "scheduler": _unchecked()}
    with conn:
        try:
            conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            log.warning("readiness: database does not answer", exc_info=True)
            return {"database": _check(False, "数据库无响应"), "migrations": _unchecked(),
                    "calendar": _unchecked(), "scheduler": _unchecked()}
        return {"database": _check(True, "数据库连接正常"),
                "migrations": _guarded(conn, _migrations, probe.heads, "无法读取数据库结构版本"),
                "calendar": _guarded(conn, _calendar, None, "无法读取节假日安排"),
                "scheduler": _guarded(conn, _scheduler, probe.rt.settings.scheduler_heartbeat_stale_seconds,
                                      "无法读取定时任务心跳")}


def _guarded(conn: Connection, check: Any, arg: Any, failed: str) -> dict[str, Any]:
    try:
        return check(conn, arg)  # type: ignore[no-any-return]
    except SQLAlchemyError:
        # E.g. a table an older schema lacks; the next check starts a new transaction.
        log.warning("readiness check failed", exc_info=True)
        conn.rollback()
        return _check(False, failed)


def _migrations(conn: Connection, heads: frozenset[str]) -> dict[str, Any]:
    current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if current == heads:
        return _check(True, "数据库结构为最新版本")
    return _check(False, "数据库结构版本与程序不一致，请先运行数据库迁移")


def _calendar(conn: Connection, _: None) -> dict[str, Any]:
    year = clock.now().astimezone(SHANGHAI).year
    loaded = conn.execute(select(func.count()).select_from(CalendarYear.__table__)
                          .where(CalendarYear.__table__.c.year == year)).scalar_one()
    if loaded:
        return _check(True, f"{year} 年节假日安排已导入")
    if WorkdayCalendar().knows(year):
        return _check(True, f"{year} 年节假日安排已内置")
    return _check(False, f"{year} 年节假日安排尚未导入，办理期限无法准确计算")


def _scheduler(conn: Connection, stale_seconds: int) -> dict[str, Any]:
    newest: datetime | None = conn.execute(select(func.max(SchedulerHeartbeat.__table__.c.beat_at))).scalar_one()
    if newest is None:
        # Neither an embedded (GOVFLOW_RUN_SCHEDULER) nor a standalone scheduler ever beat on this database.
        return _check(False, "未检测到定时任务进程", age_seconds=None)
    newest = SchedulerHeartbeat.__table__.c.beat_at.type.process_result_value(newest, conn.dialect) \
        if newest.tzinfo is None else newest
    age = max(0.0, (clock.base() - newest).total_seconds())
    if age > stale_seconds:
        return _check(False, f"定时任务心跳已中断 {age:.0f} 秒", age_seconds=round(age, 1))
    return _check(True, "定时任务运行正常", age_seconds=round(age, 1))
