"""One demo clock for a real deployment: two uvicorn workers and a scheduler process on one database.

The clock is moved through one worker; both workers answer with the moved time, every user stays
logged in, and the scheduler process escalates a task that is overdue only on the moved clock.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import select

from app.engine.models import Task
from app.runtime import Runtime
from app.supervision.models import SupervisionItem
from tests.api.helpers import share_request_body
from tests.conftest import DEMO_PASSWORD
from tests.servers import ROOT, server_env, uvicorn_servers

def _scheduler_once(db_url: str, job: str) -> int:
    done = subprocess.run([sys.executable, "-m", "app.scheduler", "--once", job], cwd=ROOT, env=server_env(db_url),
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return int(json.loads(done.stdout.decode().strip().splitlines()[-1])["result"])


def _login(url: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_two_workers_and_a_scheduler_share_one_clock(rt: Runtime, db_url: str) -> None:
    with uvicorn_servers(db_url, 2) as (one, two):
        admin, clerk = _login(one, "demo_admin"), _login(two, "rst_clerk")
        r = httpx.post(f"{two}/api/share-requests", json=share_request_body(), headers=clerk)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "under_review", r.text
        with rt.db.session() as session:  # its review is due within days: not overdue on the real clock
            due = session.execute(select(Task.due_at)).scalars().all()
        assert len(due) == 1 and due[0] > datetime.now(timezone.utc), (due, r.text)

        # A month ahead, through worker one only: the review task is then long overdue.
        target = datetime.now(timezone.utc) + timedelta(days=30)
        r = httpx.put(f"{one}/api/admin/clock", json={"now": target.isoformat()}, headers=admin)
        assert r.status_code == 200, r.text

        for _ in range(3):
            for url in (one, two):
                r = httpx.get(f"{url}/api/admin/clock", headers=admin)
                assert r.status_code == 200, (url, r.text)  # still logged in
                seen = datetime.fromisoformat(r.json()["now"])
                # The moved time (plus however long the test has run since), never the real one.
                assert target <= seen < target + timedelta(hours=1), (url, seen, target)
                assert httpx.get(f"{url}/api/me", headers=clerk).status_code == 200

        assert _scheduler_once(db_url, "escalate-overdue") == 1
        with rt.db.session() as session:
            escalated = session.execute(select(SupervisionItem.escalated_at)).scalars().all()
        assert len(escalated) == 1
        assert escalated[0] >= target  # escalated as of the moved time
