"""The production process layout without containers (docker/compose.yaml): one PostgreSQL database migrated
once, two web processes and two scheduler processes. 1,000 share requests go through the HTTP API over both
web ports from concurrent clients; the demo clock then moves past every deadline, and the schedulers escalate
the overdue tasks and fire the disputes' negotiation timers. Nothing may be done twice or missed, and every
response is a success or a clean 4xx.

PostgreSQL only (GOVFLOW_TEST_DATABASE_URL). The schedulers run escalate-overdue and fire-due-timers every
second here (GOVFLOW_JOB_INTERVALS) instead of every 60 and 2 seconds; the test polls the database with a
deadline until the sweeps are done.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from threading import Lock
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.conftest import DEMO_PASSWORD, PG_URL, SECRET

pytestmark = pytest.mark.skipif(not PG_URL, reason="the replica test needs PostgreSQL (GOVFLOW_TEST_DATABASE_URL)")

ROOT = Path(__file__).resolve().parents[2]
# A prefix for the test's own database (CI's default: the suite's; a shared server may ask for another).
DB_PREFIX = os.environ.get("GOVFLOW_TEST_DB_PREFIX", "govflow_t_")

CASES = 1000        # share requests filed (the figure)
DISPUTES = 40       # of them refused by the provider, then disputed: each dispute has a negotiation timer
APPROVED = 200      # approved by the provider before any deadline
RACES = 20          # completed on both web ports at once: one completion wins, the other gets a clean 4xx
CLIENTS = 8         # concurrent HTTP clients
BODY = {"entry_code": "410000-gat-0001", "items": ["姓名", "公民身份号码"], "purpose": "社会保险待遇资格认证",
        "scope": "省人社厅社保经办人员，社保业务系统", "period_from": "2026-11-01", "period_to": "2027-10-31",
        "method": "api", "legal_basis": "《社会保险法》第七十四条"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployment:
    url: str
    engine: Engine
    web: list[str]                                   # base URLs of the two web processes
    procs: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path]
    responses: list[tuple[str, str, int, Any]] = field(default_factory=list)
    lock: Lock = field(default_factory=Lock)

    def logs_text(self) -> str:
        return "\n".join(f"--- {name} ---\n{path.read_text(errors='replace')[-3000:]}"
                         for name, path in self.logs.items())


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVFLOW_")}
    env.update({
        "GOVFLOW_DATABASE_URL": db_url, "GOVFLOW_ENVIRONMENT": "test", "GOVFLOW_SECRET_KEY": SECRET,
        "GOVFLOW_ENABLE_TIME_TRAVEL": "true", "GOVFLOW_RUN_SCHEDULER": "false",
        "GOVFLOW_JOB_INTERVALS": json.dumps({"escalate-overdue": 1, "fire-due-timers": 1}),
        "GOVFLOW_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "GOVFLOW_AUDIT_HEAD_EXPORT_PATH": str(tmp_path / "audit-head.jsonl"),
        "GOVFLOW_SCRIPT_WORKERS": "1",
    })
    return env


def _wait_until(what: str, done: Callable[[], bool], seconds: float, dep: Deployment | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if dep is not None:
            dead = {n: p.returncode for n, p in dep.procs.items() if p.poll() is not None}
            assert not dead, f"processes died while waiting for {what}: {dead}\n{dep.logs_text()}"
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}" + (
            f"\n{dep.logs_text()}" if dep else "")
        time.sleep(0.2)  # a poll interval, not a wait for something to happen


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    assert PG_URL
    name = f"{DB_PREFIX}rep_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    env = _env(url, tmp_path)
    py = sys.executable
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    engine = create_engine(url)
    try:
        def cli(command: str) -> None:
            done = subprocess.run([py, "-m", "app.cli", command], cwd=ROOT, env=env, capture_output=True,
                                  timeout=180)
            assert done.returncode == 0, done.stderr.decode()[-3000:]

        # As docker/compose.yaml: the one-shot migration, then every replica starts at once on the fresh
        # database (each web process loads the regions and deploys bpmn/ at start: they must take turns).
        cli("migrate")
        ports = [_free_port(), _free_port()]
        commands = {f"web{i + 1}": [py, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
                                    "--port", str(port), "--log-level", "warning", "--no-access-log"]
                    for i, port in enumerate(ports)}
        commands |= {f"scheduler{i}": [py, "-m", "app.scheduler"] for i in (1, 2)}
        for proc_name, argv in commands.items():
            logs[proc_name] = tmp_path / f"{proc_name}.log"
            with logs[proc_name].open("wb") as out:
                procs[proc_name] = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        dep = Deployment(url, engine, [f"http://127.0.0.1:{p}" for p in ports], procs, logs)

        def up() -> bool:
            try:
                return all(httpx.get(f"{base}/login", timeout=2).status_code == 200 for base in dep.web)
            except httpx.HTTPError:
                return False

        _wait_until("both web processes to answer", up, 180, dep)
        cli("seed-demo")  # the demo's departments and users, for the clients below
        yield dep
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Api:
    """HTTP clients over both web ports; every response is recorded for the final check."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep
        self.clients = [httpx.Client(base_url=base, timeout=60,
                                     limits=httpx.Limits(max_connections=CLIENTS * 2)) for base in dep.web]

    def close(self) -> None:
        for c in self.clients:
            c.close()

    def call(self, port: int, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = self.clients[port % 2].request(method, path, headers=headers, **kw)
        try:
            body: Any = r.json()
        except ValueError:
            body = r.text[:500]
        with self.dep.lock:
            self.dep.responses.append((method, path, r.status_code, body))
        return r

    def login(self, user: str) -> str:
        r = self.call(0, "POST", "/api/auth/token", data={"username": user, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def _scalar(dep: Deployment, sql: str, **params: Any) -> Any:
    with dep.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_two_web_and_two_scheduler_processes_do_everything_once(deployment: Deployment) -> None:
    dep = deployment
    api = Api(dep)
    started = time.monotonic()
    pool = ThreadPoolExecutor(CLIENTS)
    try:
        clerk, reviewer, admin = api.login("rst_clerk"), api.login("gat_reviewer"), api.login("demo_admin")

        # 1. File the cases, spread over both web processes by concurrent clients.
        def file(i: int) -> dict[str, Any]:
            r = api.call(i, "POST", "/api/share-requests", clerk, json=BODY)
            assert r.status_code == 201, r.text
            return r.json()  # type: ignore[no-any-return]

        filed = list(pool.map(file, range(CASES)))
        marks = {"filed": time.monotonic()}
        assert {f["status"] for f in filed} == {"under_review"}
        by_instance = {f["instance_id"]: f for f in filed}

        # 2. The provider's reviewer reads the inbox (both pages) ...
        tasks: dict[int, int] = {}
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"view": "todo", "limit": 500} | ({"cursor": cursor} if cursor else {})
            r = api.call(len(tasks), "GET", "/api/tasks", reviewer, params=params)
            assert r.status_code == 200, r.text
            tasks |= {t["instance_id"]: t["id"] for t in r.json()["items"] if t["instance_id"] in by_instance}
            cursor = r.json()["next_cursor"]
            if not cursor:
                break
        assert len(tasks) == CASES
        order = sorted(tasks)
        refused = order[:DISPUTES]
        approved = order[DISPUTES:DISPUTES + APPROVED]
        raced = order[DISPUTES + APPROVED:DISPUTES + APPROVED + RACES]
        left_open = set(order[DISPUTES + APPROVED + RACES:])
        marks["inbox read"] = time.monotonic()

        # ... refuses some, approves others, and completes some on both web processes at once.
        refusal = {"decision": "refuse", "reason": "申请用途超出共享条件", "legal_basis": "《户口登记条例》第三条"}
        approval = {"decision": "approve", "terms": "按约使用"}

        def complete(job: tuple[int, int, dict[str, Any]]) -> int:
            port, instance_id, data = job
            return api.call(port, "POST", f"/api/tasks/{tasks[instance_id]}/complete", reviewer,
                            json={"data": data}).status_code

        jobs = [(i, iid, refusal) for i, iid in enumerate(refused)] + \
               [(i, iid, approval) for i, iid in enumerate(approved)]
        assert set(pool.map(complete, jobs)) == {200}
        race_codes = list(pool.map(complete, [(port, iid, approval) for iid in raced for port in (0, 1)]))
        pairs = [sorted(race_codes[k:k + 2]) for k in range(0, len(race_codes), 2)]
        assert all(p[0] == 200 and 400 <= p[1] < 500 for p in pairs), pairs

        # 3. The refused requests are disputed; each dispute starts its negotiation deadline (a BPMN timer).
        def dispute(job: tuple[int, int]) -> dict[str, Any]:
            port, instance_id = job
            r = api.call(port, "POST", "/api/disputes", clerk, json={
                "share_request_id": by_instance[instance_id]["id"], "duties": "《社会保险法》第七十四条：核查参保资格",
                "need": "养老金资格认证须核验户籍状态"})
            assert r.status_code == 201, r.text
            return r.json()  # type: ignore[no-any-return]

        marks["reviewed"] = time.monotonic()
        disputes = list(pool.map(dispute, enumerate(refused)))
        dispute_ids = [d["id"] for d in disputes]

        # A few requests a client gets wrong: each must be a clean 4xx, never a 500.
        wrong = [(0, "POST", "/api/share-requests", {**BODY, "entry_code": "no-such-entry"}),
                 (1, "POST", "/api/share-requests", {**BODY, "items": "姓名"}),
                 (0, "POST", f"/api/tasks/{tasks[approved[0]]}/complete", {"data": approval}),
                 (1, "POST", "/api/disputes", {"share_request_id": by_instance[approved[0]]["id"]}),
                 (0, "GET", "/api/tasks/2147483647", None), (1, "GET", "/api/share-requests/2147483647", None)]
        for port, method, path, body in wrong:
            r = api.call(port, method, path, clerk if "share" in path or "disputes" in path else reviewer,
                         json=body)
            assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        marks["disputed"] = time.monotonic()

        # 4. Move the deployment's clock a month on: every review deadline (5 working days) and every
        # negotiation deadline (10 working days) has passed.
        now = datetime.fromisoformat(api.call(1, "GET", "/api/admin/clock", admin).json()["now"])
        moved = now + timedelta(days=30)
        r = api.call(1, "PUT", "/api/admin/clock", admin, json={"now": moved.isoformat()})
        assert r.status_code == 200, r.text

        # 5. The schedulers sweep: wait (polling, with a deadline) until nothing is left to do.
        def swept() -> bool:
            missed = _scalar(dep, "SELECT count(*) FROM task WHERE status = 'open' AND escalated_at IS NULL "
                                  "AND NOT trial AND paused_at IS NULL AND department_id IS NOT NULL "
                                  "AND due_at < :moved", moved=moved)
            timers = _scalar(dep, "SELECT count(*) FROM process_instance WHERE status = 'running' "
                                  "AND next_timer_at <= :moved", moved=moved)
            return missed == 0 and timers == 0

        _wait_until("the schedulers' sweeps", swept, 180, dep)
        marks["swept"] = time.monotonic()
    finally:
        pool.shutdown()
        api.close()

    # Every process is still up: nothing crashed under the load.
    assert {n: p.poll() for n, p in dep.procs.items()} == dict.fromkeys(dep.procs), dep.logs_text()

    with dep.engine.connect() as conn:
        def rows(sql: str, **params: Any) -> list[Any]:
            return list(conn.execute(text(sql), params).all())

        # Every overdue review task escalated exactly once: one supervision item, one audit event each.
        items = Counter(r[0] for r in rows("SELECT t.instance_id FROM supervision_item s JOIN task t "
                                           "ON t.id = s.task_id WHERE t.task_spec = 'review'"))
        assert set(items) == left_open, (len(items), len(left_open))
        assert set(items.values()) == {1}
        escalated_events = Counter(r[0] for r in rows(
            "SELECT entity_id FROM audit_event WHERE action = 'task.escalated'"))
        assert escalated_events and set(escalated_events.values()) == {1}, "a task escalated twice"
        assert len(escalated_events) == _scalar(dep, "SELECT count(*) FROM supervision_item")
        assert _scalar(dep, "SELECT count(*) FROM task WHERE escalated_at IS NOT NULL") == len(escalated_events)
        # Tasks done before their deadline never reach supervision.
        done = set(refused) | set(approved) | set(raced)
        assert not set(items) & done

        # Each negotiation timer fired once: the dispute went to the authority, once, for its deadline.
        fired = rows("SELECT entity_id, detail FROM audit_event WHERE action = 'dispute.escalated'")
        assert sorted(int(r[0]) for r in fired) == sorted(dispute_ids)
        assert {json.loads(r[1])["reason_code"] if isinstance(r[1], str) else r[1]["reason_code"]
                for r in fired} == {"deadline"}
        timers = Counter(r[0] for r in rows("SELECT instance_id FROM audit_event WHERE action = 'timer.fired'"))
        assert sorted(timers) == sorted(d["instance_id"] for d in disputes) and set(timers.values()) == {1}
        statuses = Counter(r[0] for r in rows("SELECT status FROM dispute WHERE id = ANY(:ids)", ids=dispute_ids))
        assert statuses == {"coordinating": DISPUTES}

    # One audit trail, hash-chained by four writing processes: intact.
    from app.audit.service import verify
    from app.core.config import Settings
    from app.runtime import build_runtime

    rt = build_runtime(Settings(environment="test", database_url=dep.url, secret_key=SECRET))
    try:
        with rt.db.session() as session:
            assert verify(session).ok
    finally:
        rt.db.dispose()

    # Every response a success or a clean 4xx (JSON with a stable code), never a 5xx.
    codes = Counter(status for _, _, status, _ in dep.responses)
    assert not [s for s in codes if s >= 500], [r for r in dep.responses if r[2] >= 500][:5]
    unclean = [r for r in dep.responses if 400 <= r[2] < 500
               and not (isinstance(r[3], dict) and isinstance(r[3].get("detail"), dict) and r[3]["detail"].get("code"))]
    assert not unclean, unclean[:5]
    assert sum(codes.values()) > CASES + APPROVED + 2 * RACES + 2 * DISPUTES
    # Nothing in any process's log is a traceback.
    for proc_name, path in dep.logs.items():
        log = path.read_text(errors="replace")
        assert "Traceback" not in log, f"{proc_name}:\n{log[log.index('Traceback') - 300:][:4000]}"
    steps, last = [], started
    for step, at in marks.items():
        steps.append(f"{step} {at - last:.1f} s")
        last = at
    print(f"\nreplicas: {len(dep.responses)} requests {dict(codes)}; " + ", ".join(steps))
