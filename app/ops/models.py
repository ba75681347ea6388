"""What the schedulers record about themselves: a heartbeat per process and a status row per job."""

from datetime import datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from app.core.types import UTCDateTime


class SchedulerHeartbeat(SQLModel, table=True):
    """One row per running scheduler process, beaten every few seconds; /readyz reads the newest beat."""

    __tablename__ = "scheduler_heartbeat"

    # hostname:pid:uuid4 - unique per process start, so a restarted replica gets a new row.
    process_id: str = Field(primary_key=True, max_length=200)
    started_at: datetime = Field(sa_type=UTCDateTime)
    beat_at: datetime = Field(sa_type=UTCDateTime, index=True)
    jobs_run: int = Field(default=0, sa_type=BigInteger)


class JobStatus(SQLModel, table=True):
    """Per scheduled job, summed over every replica: runs, failures, the last outcome and its duration."""

    __tablename__ = "job_status"

    job_id: str = Field(primary_key=True, max_length=64)
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    runs: int = Field(default=0, sa_type=BigInteger)
    failures: int = Field(default=0, sa_type=BigInteger)
    last_duration_ms: int = Field(default=0, sa_type=BigInteger)


class StuckInstance(SQLModel, table=True):
    """A running instance nothing can move on (no open task, timer, awaited message...), as the last sweep of
    the stuck-instance report found it (app/ops/stuck.py); the row goes when the instance moves or ends."""

    __tablename__ = "stuck_instance"

    instance_id: int = Field(primary_key=True, foreign_key="process_instance.id")
    process_key: str = Field(max_length=128)
    # The BPMN elements the instance sits at (names, else ids), or why its state could not be read.
    elements: str = Field(max_length=1000)
    # Since when: the instance's last change (updated_at) when it was found; nothing has moved it since.
    since: datetime = Field(sa_type=UTCDateTime)
    found_at: datetime = Field(sa_type=UTCDateTime)
    checked_at: datetime = Field(sa_type=UTCDateTime)


class StuckScan(SQLModel, table=True):
    """Where the stuck-instance sweep goes on from (one row): it reads a bounded batch of running instances per
    run, by id, and starts over after the last."""

    __tablename__ = "stuck_scan"

    id: int = Field(default=1, primary_key=True)
    after_id: int = Field(default=0, sa_type=BigInteger)
    # When the sweep last reached the last running instance (a whole pass done).
    pass_completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
