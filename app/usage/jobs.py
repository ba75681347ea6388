"""Scheduled work of the usage log: make monthly partitions ahead (create-usage-partitions, PostgreSQL) and
archive months older than 24 months to files, then remove them from the database (archive-usage-events)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.audit import service as audit
from app.core.clock import clock
from app.runtime import Runtime
from app.usage import archive, service
from app.usage.models import UsageEvent

log = logging.getLogger("govflow.usage")
E = UsageEvent
# Two schedulers never archive at once (PostgreSQL advisory lock; SQLite has one writer anyway).
ARCHIVE_LOCK = 0x5553_4147  # "USAG"


def partition_name(month: date) -> str:
    return f"usage_event_p{month:%Y%m}"


def create_partition_sql(month: date) -> str:
    """Return the DDL of a month's partition (Asia/Shanghai month boundaries)."""
    end = service.month_start(month, 1)
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF usage_event "
            f"FOR VALUES FROM ('{month} 00:00:00+08') TO ('{end} 00:00:00+08')")


def create_usage_partitions(rt: Runtime) -> dict[str, Any]:
    """Make the partitions of this month and the next GOVFLOW_USAGE_PARTITIONS_AHEAD months (PostgreSQL)."""
    if rt.db.engine.dialect.name != "postgresql":
        return {"created": [], "skipped": "sqlite"}
    this_month = service.month_start(service.shanghai_day(clock.now()))
    created, failed = [], {}
    for delta in range(rt.settings.usage_partitions_ahead + 1):
        month = service.month_start(this_month, delta)
        with rt.db.session() as session:
            exists = session.execute(text("SELECT to_regclass(:name)"), {"name": partition_name(month)}).scalar()
            if exists:
                continue
            try:
                session.execute(text(create_partition_sql(month)))
                session.commit()
                created.append(partition_name(month))
            except DBAPIError as exc:  # e.g. the default partition already holds events of that month
                session.rollback()
                failed[partition_name(month)] = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
                log.error("usage partition %s not created: %s", partition_name(month), failed[partition_name(month)])
    return {"created": created, "failed": failed}


def archive_usage_events(rt: Runtime) -> dict[str, Any]:
    """Archive each whole month older than 24 months to a gzip'd JSON-lines file with its SHA-256 beside it,
    then remove the month from the database (PostgreSQL: detach and drop its partition)."""
    # The database refuses to delete events younger than 24 months by its own (real) time: take the
    # earlier of the two clocks, so a demo clock moved ahead archives nothing the database would refuse.
    now = min(clock.now(), datetime.now(timezone.utc))
    cutoff = service.retention_cutoff(now)
    directory = rt.settings.usage_archive_dir
    done: list[dict[str, Any]] = []
    with rt.db.session() as session:
        pg = session.get_bind().dialect.name == "postgresql"
        if pg and not session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ARCHIVE_LOCK}).scalar():
            return {"archived": [], "skipped": "another scheduler is archiving"}
        oldest = session.execute(select(func.min(E.occurred_at)).where(E.occurred_at < cutoff)).scalar()
        months: list[date] = []
        if oldest is not None:
            month = service.month_start(service.shanghai_day(oldest))
            while service.shanghai_midnight(month) < cutoff:
                months.append(month)
                month = service.month_start(month, 1)
        for month in months:
            archived = _archive_month(session, directory, month, pg)
            if archived is not None:
                done.append(archived)
        if pg:  # partitions left empty by an earlier run, or months that never had events
            for name in session.execute(text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'usage_event'")).scalars():
                if name.startswith("usage_event_p") and len(name) == 19:
                    month = date(int(name[13:17]), int(name[17:19]), 1)
                    if service.shanghai_midnight(service.month_start(month, 1)) <= cutoff and month not in months:
                        _drop_partition(session, month)
        session.commit()
    return {"archived": done, "cutoff": cutoff.isoformat()}


def _archive_month(session: Session, directory: Any, month: date, pg: bool) -> dict[str, Any] | None:
    start, end = service.shanghai_midnight(month), service.shanghai_midnight(service.month_start(month, 1))
    where = [E.occurred_at >= start, E.occurred_at < end]
    count = session.execute(select(func.count()).select_from(E).where(*where)).scalar_one()
    if count == 0:  # a month without events leaves no file (an empty partition is dropped)
        if pg:
            _drop_partition(session, month)
        return None
    path = archive.archive_path(directory, month)
    # A file left by a run whose deletion did not commit holds the same events (the month takes no new
    # ones: ingestion refuses events older than 24 months): keep it if it still verifies and counts them all.
    if path.exists() and archive.verify(path).ok and archive.count_lines(path) == count:
        digest = archive.sha256_of(path)
    else:
        if path.exists():  # never overwrite an archive: keep the old file beside the new one
            path.rename(path.with_name(f"{path.name}.{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.replaced"))
        events = (e for e in service.all_events(session, [], start=start, end=end))
        path, written, digest = archive.write(directory, month, events)
        assert written == count
    if pg:
        _drop_partition(session, month)
    session.execute(E.__table__.delete().where(*where))  # type: ignore[attr-defined]
    audit.append(session, at=clock.now(), actor="system", action="usage.archived", entity_type="usage_archive",
                 entity_id=f"{month:%Y-%m}", detail={"file": path.name, "events": count, "sha256": digest})
    log.info("usage events of %s archived to %s (%s events)", f"{month:%Y-%m}", path, count)
    return {"month": f"{month:%Y-%m}", "events": count, "file": str(path), "sha256": digest}


def _drop_partition(session: Session, month: date) -> None:
    name = partition_name(month)
    if session.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar():
        session.execute(text(f"ALTER TABLE usage_event DETACH PARTITION {name}"))
        session.execute(text(f"DROP TABLE {name}"))
