"""Benchmark: 100,000 overdue tasks across the Henan levels, swept by 3 concurrent scheduler processes.

On a fresh PostgreSQL database (migrated, Henan regions and BPMN loaded), departments are created for
the province, every city and every county in data/regions-410000.json, with a government office
(督查室) and supervisors in most regions; a few regions have none, so the nearest-office-above rule is
used. N open tasks overdue by the wall clock (the scheduler processes use the real clock) are spread
over the departments, one process instance each, with a few decoys that must not be escalated (not
yet due, or paused). Then P real `python -m app.scheduler --once escalate-overdue` processes start at
the same moment; the figure is the wall time from their start to the last exit.

Checked afterwards: duplicates (items - distinct task ids), missed (open, overdue, unpaused tasks not
escalated), decoys escalated, one audit event per item, and the audit chain verified; the exit status
is non-zero unless all hold. Also printed: the CPU seconds of the scheduler processes and of the
PostgreSQL backends serving the database, and the load average before the sweep, since wall seconds
on a shared machine say little alone. Goal: under 30 s for 100,000 tasks and 3 processes.

    .venv/bin/python bench/escalation.py                      # 100,000 tasks, 3 processes
    .venv/bin/python bench/escalation.py --tasks 10000 --procs 2 --keep
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROVINCE = "410000"
GOAL_SECONDS = 30.0
SECRET = "x" * 40
# Regions left without a government office: 许昌市 itself, so 长葛市 (411082) climbs two levels to the
# province while 魏都区 (411002) keeps its own; 新郑市 falls back to 郑州市, 邓州市 to 南阳市.
NO_OFFICE = {"411000", "411082", "410184", "411381"}
# Line departments of every region: (code suffix, name suffix at province level, at city/county level).
LINE_DEPARTMENTS = [("gaj", "公安厅", "公安局"), ("rsj", "人力资源和社会保障厅", "人力资源和社会保障局"),
                    ("scjg", "市场监督管理局", "市场监督管理局"), ("mzj", "民政厅", "民政局")]
ROLES = ("reviewer", "clerk")


def create_database(admin_url: str) -> tuple[str, str]:
    """Create an empty database with a random name; return (name, its URL)."""
    name = f"govflow_bench_esc_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def prepare(url: str):  # type: ignore[no-untyped-def]
    """Migrate, load the regions and the BPMN; return the runtime."""
    from app.cli import migrate
    from app.core.config import Settings
    from app.runtime import build_runtime
    from app.startup import prepare as prepare_runtime

    migrate(url)
    rt = build_runtime(Settings(environment="test", database_url=url, secret_key=SECRET))
    prepare_runtime(rt)
    return rt


@dataclass
class Organisation:
    departments: list[int]  # line departments (tasks are theirs)
    offices: int
    supervisors: int


def organisation(rt) -> Organisation:  # type: ignore[no-untyped-def]
    """Create line departments for every region, offices for most, and the people notifications reach."""
    from sqlalchemy import insert

    from app.org.models import Department, Region, User, UserRole

    now = datetime.now(timezone.utc)
    with rt.db.session() as session:
        regions = session.execute(select(Region.code, Region.name, Region.level).order_by(Region.code)).all()
        existing = set(session.execute(select(Department.code)).scalars().all())
        rows = []
        for code, name, level in regions:
            for suffix, province_name, local_name in LINE_DEPARTMENTS:
                rows.append(dict(code=f"{code}-{suffix}",
                                 name=name + (province_name if level == "province" else local_name),
                                 kind="department", region_code=code, is_active=True, created_at=now))
            if code not in NO_OFFICE:
                rows.append(dict(code=f"{code}-gov", name=f"{name}人民政府办公室（督查室）",
                                 kind="government_office", region_code=code, is_active=True, created_at=now))
        rows = [r for r in rows if r["code"] not in existing]
        session.execute(insert(Department.__table__), rows)
        depts = session.execute(select(Department.id, Department.code, Department.kind)
                                .where(Department.code.in_([r["code"] for r in rows]))).all()
        # A supervisor in every office (two at the province), a reviewer and a clerk in every department.
        users, roles = [], []
        for dept_id, code, kind in depts:
            if kind == "government_office":
                holders = ["supervisor"] * (2 if code.startswith(PROVINCE) else 1)
            else:
                holders = list(ROLES)
            for n, role in enumerate(holders):
                users.append(dict(username=f"{code}-{role}-{n}", password_hash="!",
                                  display_name=f"{code} {role}", department_id=dept_id, is_active=True,
                                  created_at=now))
                roles.append(role)
        ids = session.execute(insert(User.__table__).returning(User.__table__.c.id, sort_by_parameter_order=True),
                              users).scalars().all()
        session.execute(insert(UserRole.__table__), [dict(user_id=i, role=r) for i, r in zip(ids, roles)])
        session.commit()
    return Organisation(departments=sorted(d for d, _, kind in depts if kind == "department"),
                        offices=sum(1 for *_, kind in depts if kind == "government_office"),
                        supervisors=roles.count("supervisor"))


def overdue_tasks(rt, n: int, decoys: int, departments: list[int]) -> None:  # type: ignore[no-untyped-def]
    """COPY n open tasks overdue by 1 to 60 days, plus decoys (half not yet due, half paused), spread
    over the departments, each in its own process instance.

    Department, holder role and deadline are drawn independently (fixed seed), so each sweep batch
    touches many departments and offices, as a real backlog would.
    """
    from app.engine.models import ProcessDefinition

    now = datetime.now(timezone.utc)
    rng = random.Random(410000)
    # Deadlines at a random second of the day (some tasks share an instant); decoys come last.
    tasks = [(rng.choice(departments), rng.choice(ROLES),
              now - timedelta(days=rng.randint(1, 60), seconds=rng.randrange(0, 86400, 3)), None)
             for _ in range(n)]
    tasks += [(rng.choice(departments), rng.choice(ROLES),
               now + timedelta(days=rng.randint(1, 10)) if k % 2 else now - timedelta(days=rng.randint(1, 60)),
               None if k % 2 else now - timedelta(hours=1))
              for k in range(decoys)]
    with rt.db.session() as session:
        definition_id, process_key = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.process_key).order_by(ProcessDefinition.id)).first()
        first = session.execute(text("SELECT coalesce(max(id), 0) + 1 FROM process_instance")).scalar_one()
    raw = rt.db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            with cur.copy("COPY process_instance (id, definition_id, process_key, status, state, lock_version, "
                          "subject, department_id, started_at, updated_at) FROM STDIN") as copy:
                started = now - timedelta(days=70)
                for i, (dept, _, _, _) in enumerate(tasks):
                    copy.write_row((first + i, definition_id, process_key, "running", "{}", 1,
                                    f"共享申请 第{i + 1}号", dept, started, started))
            cur.execute("SELECT setval(pg_get_serial_sequence('process_instance', 'id'), %s)",
                        (first + len(tasks) - 1,))
            with cur.copy("COPY task (instance_id, process_key, spiff_task_id, task_spec, name, department_id, "
                          "role, status, due_rule, due_working_days, paused_working_days, due_at, "
                          "due_provisional, paused_at, form, created_at) FROM STDIN") as copy:
                for i, (dept, role, due, paused) in enumerate(tasks):
                    copy.write_row((first + i, process_key, f"t{i}", "review", "审核共享申请", dept, role,
                                    "open", "5WD", 5, 0, due, False, paused, "[]", due - timedelta(days=7)))
        conn.commit()
        with conn.cursor() as cur:
            cur.execute("ANALYZE process_instance; ANALYZE task; ANALYZE department; ANALYZE app_user")
        conn.commit()
    finally:
        raw.close()


class BackendCpu(threading.Thread):
    """Sum the CPU seconds of the PostgreSQL backends serving one database (server on this machine).

    Informative only: the machine may be shared, so wall seconds alone can mislead. Backends are
    found in pg_stat_activity and read from /proc while they live; zero when /proc is not the server's.
    """

    def __init__(self, admin_url: str, database: str) -> None:
        super().__init__(daemon=True)
        self.admin_url, self.database = admin_url, database
        self.seen: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        tick = os.sysconf("SC_CLK_TCK")
        try:
            with engine.connect() as conn:
                while not self.done.is_set():
                    for pid in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                            {"d": self.database}).scalars():
                        self.seen.setdefault(pid, 0.0)
                    for pid in list(self.seen):
                        try:
                            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                            self.seen[pid] = (int(fields[11]) + int(fields[12])) / tick
                        except (FileNotFoundError, ProcessLookupError, IndexError):
                            pass
                    self.done.wait(0.1)
        finally:
            engine.dispose()

    def stop(self) -> float:
        self.done.set()
        self.join()
        return sum(self.seen.values())


def sweep(url: str, procs: int, admin_url: str, database: str) -> dict[str, Any]:
    """Start the scheduler processes together, wait for all; return wall seconds, CPU seconds, outcomes."""
    env = {**os.environ, "GOVFLOW_DATABASE_URL": url, "GOVFLOW_ENVIRONMENT": "test",
           "GOVFLOW_SECRET_KEY": SECRET}
    env.pop("GOVFLOW_FAULT", None)
    command = [sys.executable, "-m", "app.scheduler", "--once", "escalate-overdue"]
    backends = BackendCpu(admin_url, database)
    backends.start()
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    running = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(procs)]
    outcomes = []
    for p in running:
        out, err = p.communicate()
        result = None
        for line in out.decode().splitlines():
            if line.startswith("{"):
                result = json.loads(line).get("result")
        outcomes.append({"returncode": p.returncode, "escalated": result,
                         "stderr_tail": err.decode()[-1500:] if p.returncode else ""})
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "outcomes": outcomes, "load_before": load,
            "scheduler_cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
            "postgres_cpu": backends.stop()}


def check(rt) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Count items, duplicates, missed tasks, escalated decoys and audit events; verify the chain."""
    from app.audit.service import verify
    from app.engine.models import Task
    from app.supervision.models import SupervisionItem

    now = datetime.now(timezone.utc)
    with rt.db.session() as session:
        items, distinct = session.execute(
            select(func.count(SupervisionItem.id), func.count(func.distinct(SupervisionItem.task_id)))).one()
        missed = session.execute(select(func.count()).select_from(Task).where(
            Task.status == "open", Task.due_at < now, Task.escalated_at.is_(None), Task.paused_at.is_(None),
            Task.department_id.is_not(None))).scalar_one()
        decoys = session.execute(select(func.count()).select_from(SupervisionItem).join(
            Task, Task.id == SupervisionItem.task_id).where(
            (Task.due_at > now) | Task.paused_at.is_not(None))).scalar_one()
        audited = session.execute(text("SELECT count(*) FROM audit_event WHERE action = 'task.escalated'")
                                  ).scalar_one()
        notifications = session.execute(text("SELECT count(*) FROM notification WHERE kind = 'escalated'")
                                        ).scalar_one()
        levels = dict(session.execute(select(SupervisionItem.level, func.count())
                                      .group_by(SupervisionItem.level)).all())
        t0 = time.perf_counter()
        verification = verify(session)
        verify_seconds = time.perf_counter() - t0
    return {"items": items, "duplicates": items - distinct, "missed": missed, "decoys_escalated": decoys,
            "audit_events": audited,
            "notifications": notifications, "items_by_level": levels, "audit_ok": verification.ok,
            "audit_chain_events": verification.events, "audit_reason": verification.reason,
            "verify_seconds": round(verify_seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="overdue tasks (default 100000)")
    parser.add_argument("--procs", type=int, default=3, help="scheduler processes (default 3)")
    parser.add_argument("--decoys", type=int, default=1000,
                        help="further open tasks not to escalate: half not yet due, half paused")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="any database on the server; the benchmark creates and drops its own")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    name, url = create_database(args.pg_url)
    rt = None
    try:
        t0 = time.perf_counter()
        rt = prepare(url)
        org = organisation(rt)
        setup_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        overdue_tasks(rt, args.tasks, args.decoys, org.departments)
        generation_seconds = time.perf_counter() - t0
        rt.db.dispose()  # nothing of ours holds a connection while the schedulers run
        swept = sweep(url, args.procs, args.pg_url, name)
        seconds, outcomes = swept["seconds"], swept["outcomes"]
        result = check(rt)
        failed = [o for o in outcomes if o["returncode"] != 0]
        report = {
            "benchmark": "escalation", "tasks": args.tasks, "procs": args.procs, "seconds": round(seconds, 2),
            "goal_seconds": GOAL_SECONDS, "tasks_per_second": round(args.tasks / seconds), **result,
            "per_process": [o["escalated"] for o in outcomes], "failed_processes": len(failed),
            "scheduler_cpu_seconds": round(swept["scheduler_cpu"], 1),
            "postgres_cpu_seconds": round(swept["postgres_cpu"], 1),
            "load_average_before": round(swept["load_before"], 2), "cpus": os.cpu_count(),
            "decoys": args.decoys, "line_departments": len(org.departments), "offices": org.offices,
            "supervisors": org.supervisors, "setup_seconds": round(setup_seconds, 2),
            "generation_seconds": round(generation_seconds, 2), "database": name if args.keep else None,
        }
        print(json.dumps(report, ensure_ascii=False))
        for o in failed:
            print(f"scheduler exited {o['returncode']}:\n{o['stderr_tail']}", file=sys.stderr)
        print(f"escalation: {args.tasks} tasks, {args.procs} processes, {seconds:.1f} s, "
              f"duplicates {result['duplicates']}, missed {result['missed']}, "
              f"audit {'ok' if result['audit_ok'] else 'BROKEN'} (goal < {GOAL_SECONDS:.0f} s) "
              f"[generation {generation_seconds:.1f} s; CPU s: schedulers {swept['scheduler_cpu']:.1f}, "
              f"postgres {swept['postgres_cpu']:.1f}; load {swept['load_before']:.1f} on {os.cpu_count()} CPUs]")
        ok = (not failed and result["duplicates"] == 0 and result["missed"] == 0
              and result["decoys_escalated"] == 0 and result["items"] == args.tasks
              and result["audit_events"] == result["items"] and result["audit_ok"])
        return 0 if ok else 1
    finally:
        if rt is not None:
            rt.db.dispose()
        if args.keep:
            print(f"kept database {name}: {url}", file=sys.stderr)
        else:
            drop_database(args.pg_url, name)

if __name__ == "__main__":
    sys.exit(main())
