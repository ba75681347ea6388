"""One demo clock for a real deployment: two uvicorn workers and a scheduler process on one database.

The clock is moved through one worker; both workers answer with the moved time, every user stays
logged in, and the scheduler process escalates a task that is overdue only on the moved clock.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import select

from app.engine.models import Task
from app.runtime import Runtime
from app.supervision.models import SupervisionItem
from tests.api.helpers import share_request_body
from tests.conftest import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18100, 18150)  # this test's share of the machine's ports


def _env(db_url: str) -> dict[str, str]:
    env = {**os.environ, "GOVFLOW_DATABASE_URL": db_url, "GOVFLOW_ENVIRONMENT": "test",
           "GOVFLOW_SECRET_KEY": "s" * 48, "GOVFLOW_ENABLE_TIME_TRAVEL": "true",
           "GOVFLOW_RUN_SCHEDULER": "false"}
    env.pop("GOVFLOW_FAULT", None)
    return env


def _bind_ports(n: int) -> list[socket.socket]:
    """Bind n ports of this test's range here; each worker is handed its socket, so no other process
    can take the port between choosing it and the worker starting (and answer in its place)."""
    socks: list[socket.socket] = []
    for port in PORTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.set_inheritable(True)
        socks.append(sock)
        if len(socks) == n:
            return socks
    for sock in socks:
        sock.close()
    raise RuntimeError("no free port in 18100-18149")


@contextmanager
def _workers(db_url: str, n: int) -> Iterator[list[str]]:
    """Start n separate uvicorn processes on one database; yield their base URLs; always stop them."""
    procs: list[subprocess.Popen[bytes]] = []
    socks = _bind_ports(n)
    try:
        urls = []
        for sock in socks:
            # The worker listens on the socket bound here (uvicorn --fd); until it does, connecting is refused.
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--fd", str(sock.fileno()),
                 "--log-level", "warning"],
                cwd=ROOT, env=_env(db_url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                pass_fds=(sock.fileno(),)))
            urls.append(f"http://127.0.0.1:{sock.getsockname()[1]}")
        for proc, url in zip(procs, urls, strict=True):
            _wait_ready(proc, url)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for sock in socks:
            sock.close()


def _wait_ready(proc: subprocess.Popen[bytes], url: str) -> None:
    for _ in range(300):  # bounded: about 30 s at most
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise AssertionError(f"worker {url} exited: {err}")
        try:
            httpx.get(f"{url}/api/me", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"worker {url} did not start")


def _scheduler_once(db_url: str, job: str) -> int:
    done = subprocess.run([sys.executable, "-m", "app.scheduler", "--once", job], cwd=ROOT, env=_env(db_url),
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return int(json.loads(done.stdout.decode().strip().splitlines()[-1])["result"])


def _login(url: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_two_workers_and_a_scheduler_share_one_clock(rt: Runtime, db_url: str) -> None:
    with _workers(db_url, 2) as (one, two):
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
