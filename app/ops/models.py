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
