"""What every scheduler process records about itself: a heartbeat row, and each job run's outcome.

Both are upserts keyed on their own row (the process, the job), each in its own short transaction, so
any number of scheduler replicas write them at once without locking each other for long: counters are
incremented in the database (``runs = runs + 1``), never read-modify-written. Times are the wall clock
(``clock.base()``: the frozen instant in tests), never the demo offset, so Prometheus can compare them
with its own time.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from app.core.clock import clock
from app.core.counters import ProcessCounter
from app.core.db import Database
from app.ops.models import JobStatus, SchedulerHeartbeat

log = logging.getLogger("govflow")

# Every scheduler beats this often; /readyz calls it stale after settings.scheduler_heartbeat_stale_seconds.
HEARTBEAT_SECONDS = 10
# Rows of processes gone for longer than this are deleted by the survivors' beats.
HEARTBEAT_KEEP = timedelta(days=1)


def _insert(db: Database, model: Any) -> Any:
    return (postgresql.insert if db.is_postgres else sqlite.insert)(model)


# The number of job runs of this process (the heartbeat row carries it).
JOBS_RUN = ProcessCounter()


def record_run(db: Database, job_id: str, started_at: datetime, duration_ms: int, ok: bool) -> None:
    """Add one run of a job, ending now, to its status row (created on its first run); never raises."""
    finished = clock.base()
    t = JobStatus.__table__
    values = dict(job_id=job_id, last_started_at=started_at, runs=1, failures=0 if ok else 1,
                  last_duration_ms=duration_ms,
                  last_success_at=finished if ok else None, last_failure_at=None if ok else finished)
    stmt = _insert(db, t).values(**values)
    changes: dict[str, Any] = dict(runs=t.c.runs + 1, last_started_at=stmt.excluded.last_started_at,
                                   last_duration_ms=stmt.excluded.last_duration_ms)
    if ok:
        changes["last_success_at"] = stmt.excluded.last_success_at
    else:
        changes["failures"] = t.c.failures + 1
        changes["last_failure_at"] = stmt.excluded.last_failure_at
    stmt = stmt.on_conflict_do_update(index_elements=[t.c.job_id], set_=changes)
    try:
        with db.session() as session:
            session.execute(stmt)
            session.commit()
    except Exception:  # noqa: BLE001 - the job's own outcome matters more than its bookkeeping
        log.warning("could not record the run of job %s", job_id, exc_info=True)


class Heartbeat:
    """This scheduler process's heartbeat row: ``hostname:pid:uuid``, started_at, beat_at, jobs_run."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.process_id = f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.started_at = clock.base()

    def beat(self) -> None:
        """Write this process's beat and delete the rows of processes silent for a day; never raises."""
        now = clock.base()
        t = SchedulerHeartbeat.__table__
        stmt = _insert(self.db, t).values(process_id=self.process_id, started_at=self.started_at, beat_at=now,
                                          jobs_run=JOBS_RUN.value)
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.process_id], set_=dict(
            beat_at=stmt.excluded.beat_at, jobs_run=stmt.excluded.jobs_run))
        try:
            with self.db.session() as session:
                session.execute(stmt)
                session.execute(delete(t).where(t.c.beat_at < now - HEARTBEAT_KEEP))
                session.commit()
        except Exception:  # noqa: BLE001 - a missed beat shows as a stale heartbeat on /readyz
            log.warning("scheduler heartbeat not written", exc_info=True)
