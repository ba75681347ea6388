"""GOVFLOW_JOB_INTERVALS replaces a scheduler job's default interval; a wrong one is refused at start."""

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.scheduler.setup import JOBS, build_scheduler, job_interval
from tests.conftest import SECRET


def _settings(**over: object) -> Settings:
    return Settings(environment="test", secret_key=SECRET, database_url="sqlite://", **over)  # type: ignore[arg-type]


def test_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert job_interval(_settings(), "escalate-overdue") == 60
    assert job_interval(_settings(audit_head_export_minutes=7), "export-audit-head") == 420
    monkeypatch.setenv("GOVFLOW_JOB_INTERVALS", '{"escalate-overdue": 5, "fire-due-timers": 1}')
    settings = Settings(environment="test", secret_key=SECRET, database_url="sqlite://")
    assert job_interval(settings, "escalate-overdue") == 5
    assert job_interval(settings, "fire-due-timers") == 1
    assert job_interval(settings, "deliver-notifications") == JOBS["deliver-notifications"][1]


def test_the_scheduler_runs_each_job_on_its_interval() -> None:
    # Building the scheduler reads the settings (jobs get the runtime when they run); the heartbeat keeps the
    # database handle without touching it until it beats.
    rt = SimpleNamespace(settings=_settings(job_intervals={"escalate-overdue": 3}), db=None)
    scheduler = build_scheduler(rt, background=True)  # type: ignore[arg-type]
    seconds = {job.id: job.trigger.interval.total_seconds() for job in scheduler.get_jobs()}
    assert seconds["escalate-overdue"] == 3 and seconds["fire-due-timers"] == 2


def test_unknown_jobs_and_intervals_under_a_second_are_refused() -> None:
    with pytest.raises(ValueError, match="escalate-overdue"):
        job_interval(_settings(job_intervals={"escalate_overdue": 5}), "fire-due-timers")
    with pytest.raises(ValidationError):
        _settings(job_intervals={"escalate-overdue": 0})
