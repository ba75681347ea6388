"""PostgreSQL stops and comes back (issue 13): /readyz turns red within 5 seconds and green again after the
restart, /healthz stays green all along, and web requests meanwhile get a clean 503 with the request id.

The database's "stop" is a TCP relay in front of the test's PostgreSQL database that drops every
connection and refuses new ones, as a stopped server does; the shared server itself keeps running for the
other tests. PostgreSQL only."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.main import create_app
from app.ops.jobs import Heartbeat
from app.runtime import Runtime, build_runtime
from tests.conftest import DEMO_PASSWORD, PG_URL, ManualSeconds

pytestmark = pytest.mark.skipif(not PG_URL, reason="a PostgreSQL outage needs PostgreSQL (GOVFLOW_TEST_DATABASE_URL)")


class Relay:
    """Forward 127.0.0.1:<port> to the database; stop() acts as a stopped server, start() as its restart."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._listener is not listener:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def relayed(db_url: str, frozen_clock: object, tmp_path) -> Iterator[tuple[Relay, Runtime]]:  # type: ignore[no-untyped-def]
    from tests.conftest import _settings

    url = make_url(db_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.start()
    through = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    rt = build_runtime(_settings(through).model_copy(update={
        "attachments_dir": tmp_path / "attachments", "audit_head_export_path": tmp_path / "audit-head.jsonl"}))
    rt.actors.seconds = rt.calendar.seconds = ManualSeconds()
    yield relay, rt
    relay.stop()
    rt.db.dispose()


def _poll(call, want: int, seconds: float) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Call until the status is `want` or `seconds` pass; return the last status and the time taken."""
    t0 = time.monotonic()
    while True:
        status = call().status_code
        elapsed = time.monotonic() - t0
        if status == want or elapsed > seconds:
            return status, elapsed
        time.sleep(0.2)


def test_readyz_goes_red_and_back_while_healthz_stays_green(relayed: tuple[Relay, Runtime]) -> None:
    relay, rt = relayed
    Heartbeat(rt.db).beat()
    with TestClient(create_app(rt.settings, runtime=rt)) as client:
        login = client.post("/api/auth/token", data={"username": "gat_reviewer", "password": DEMO_PASSWORD})
        token = {"Authorization": f"Bearer {login.json()['access_token']}"}
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/tasks", headers=token).status_code == 200
        assert client.get("/tasks", headers=token).status_code in (200, 303)

        relay.stop()  # PostgreSQL stops: open connections drop, new ones are refused
        status, elapsed = _poll(lambda: client.get("/readyz"), 503, 5)
        assert status == 503 and elapsed < 5
        body = client.get("/readyz").json()
        assert body["status"] == "fail" and body["checks"]["database"]["ok"] is False
        assert str(relay.port) not in str(body) and "127.0.0.1" not in str(body)
        assert client.get("/healthz").status_code == 200

        api = client.get("/api/tasks", headers=token)
        assert api.status_code == 503, api.text
        assert api.json()["detail"]["code"] == "database_unavailable"
        assert api.json()["detail"]["request_id"] == api.headers["x-request-id"]
        page = client.get("/tasks", headers={**token, "Accept": "text/html"})
        assert page.status_code == 503 and "text/html" in page.headers["content-type"]
        assert page.headers["x-request-id"] in page.text and "Traceback" not in page.text

        relay.start()  # restarted on the same address
        status, _ = _poll(lambda: client.get("/readyz"), 200, 15)
        assert status == 200
        assert _poll(lambda: client.get("/api/tasks", headers=token), 200, 15)[0] == 200
        assert client.get("/healthz").status_code == 200
