"""Real scheduler processes over the same overdue tasks: each supervision item exactly once,
also when a replica dies between claiming tasks and recording their escalation."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select, text

from app.engine.models import ProcessDefinition, ProcessInstance, Task
from app.ops.models import JobStatus
from app.org.models import Department
from app.runtime import Runtime
from app.supervision.models import SupervisionItem
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]


def _overdue_tasks(rt: Runtime, n: int) -> dict[int, str]:
    """Insert n open tasks, overdue by the wall clock the child processes use; return task id -> dept code."""
    now = datetime.now(timezone.utc)
    with rt.db.session() as session:
        # A county department with its own government office, and one whose county has none.
        session.execute(insert(Department.__table__), [
            dict(code="411002-gaj", name="许昌市公安局魏都分局", kind="department", region_code="411002",
                 is_active=True, created_at=now),
            dict(code="411002-gov", name="魏都区人民政府办公室（督查室）", kind="government_office",
                 region_code="411002", is_active=True, created_at=now),
            dict(code="411082-gaj", name="长葛市公安局", kind="department", region_code="411082",
                 is_active=True, created_at=now),
        ])
        depts = dict(session.execute(select(Department.code, Department.id).where(Department.code.in_(
            ["410000-gat", "410100-gaj", "411002-gaj", "411082-gaj"]))).all())
        definition_id = session.execute(select(ProcessDefinition.id)).scalars().first()
        instance_id = session.execute(insert(ProcessInstance.__table__).values(
            definition_id=definition_id, process_key="sharing_share_request", status="running", state="{}",
            lock_version=1, subject="批量测试", started_at=now, updated_at=now).returning(
            ProcessInstance.__table__.c.id)).scalar_one()
        codes = sorted(depts)
        rows = [dict(instance_id=instance_id, process_key="sharing_share_request", spiff_task_id=f"t{i}",
                     task_spec="review", name="审核共享申请", department_id=depts[codes[i % len(codes)]],
                     role="reviewer", status="open", due_rule="5WD", due_working_days=5, paused_working_days=0,
                     due_at=now - timedelta(days=20 + i % 7), due_provisional=False, form=[], created_at=now)
                for i in range(n)]
        session.execute(insert(Task.__table__), rows)
        session.commit()
        ids = session.execute(select(Task.id, Task.department_id).order_by(Task.id)).all()
    by_id = {v: k for k, v in depts.items()}
    return {tid: by_id[did] for tid, did in ids}


def _scheduler(db_url: str, fault: str | None = None) -> subprocess.Popen[bytes]:
    # The test's own secret: the audit chain key derives from it, and one deployment has one key.
    env = {**os.environ, "GOVFLOW_DATABASE_URL": db_url, "GOVFLOW_ENVIRONMENT": "test",
           "GOVFLOW_SECRET_KEY": SECRET}
    env.pop("GOVFLOW_FAULT", None)
    if fault:
        env["GOVFLOW_FAULT"] = fault
    return subprocess.Popen([sys.executable, "-m", "app.scheduler", "--once", "escalate-overdue"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _items(rt: Runtime) -> list[tuple[int, str]]:
    with rt.db.session() as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(SupervisionItem.task_id, Department.code)
            .join(Department, Department.id == SupervisionItem.office_department_id)).all()]


def test_three_schedulers_escalate_each_task_once(rt: Runtime, db_url: str) -> None:
    tasks = _overdue_tasks(rt, 600)
    procs = [_scheduler(db_url) for _ in range(3)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1].decode()[-2000:] for o in outputs]
    items = _items(rt)
    assert len(items) == len(tasks) == len({task_id for task_id, _ in items})
    offices = dict(items)
    expected_office = {"410000-gat": "410000-gov", "410100-gaj": "410100-gov",
                       "411002-gaj": "411002-gov",
                       "411082-gaj": "410000-gov"}  # 长葛: no county or 许昌 office configured → province
    assert all(offices[t] == expected_office[d] for t, d in tasks.items())
    with rt.db.session() as session:
        audited = session.execute(text("SELECT count(*) FROM audit_event WHERE action = 'task.escalated'")).scalar()
        assert audited == len(tasks)
    # A further sweep finds nothing left to escalate.
    again = _scheduler(db_url)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert b'"result": 0' in out
    assert len(_items(rt)) == len(tasks)
    # Each replica's run was added to the job's one status row, none lost to a concurrent upsert.
    with rt.db.session() as session:
        status = session.execute(select(JobStatus.runs, JobStatus.failures, JobStatus.last_success_at)
                                 .where(JobStatus.job_id == "escalate-overdue")).one()
    assert (status.runs, status.failures) == (4, 0) and status.last_success_at is not None


def test_a_scheduler_killed_between_claim_and_record_loses_and_duplicates_nothing(rt: Runtime, db_url: str) -> None:
    tasks = _overdue_tasks(rt, 50)
    crashed = _scheduler(db_url, fault="escalate-after-claim")
    crashed.communicate(timeout=120)
    assert crashed.returncode == 86  # died right after claiming
    assert _items(rt) == []
    with rt.db.session() as session:
        assert session.execute(select(func.count()).select_from(Task).where(Task.escalated_at.is_not(None))
                               ).scalar_one() == 0
    restarted = _scheduler(db_url)
    out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err.decode()
    assert len(_items(rt)) == len(tasks)
    from app.audit.service import verify

    with rt.db.session() as session:
        assert verify(session).ok
