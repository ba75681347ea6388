"""Fixtures of the notification tests: the routers mounted, users made to order, a real webhook receiver."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlmodel import Session

from app.core.clock import clock
from app.core.security import hash_password
from app.org import service as org_service
from app.org.models import User, UserRole
from app.runtime import Runtime

WEBHOOK_SECRET = "webhook-test-secret"


def make_user(session: Session, username: str, department_code: str, roles: list[str],
              active: bool = True) -> User:
    """Add a user to a demo department."""
    dept = org_service.require_department(session=session, code=department_code)
    user = User(username=username, password_hash=hash_password("Demo#2026"), display_name=username,
                department_id=dept.id, is_active=active, created_at=clock.now())
    session.add(user)
    session.flush()
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role))
    session.flush()
    return user


class Receiver:
    """A tiny webhook receiver on 127.0.0.1: answers the queued statuses in turn (then 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.always: int | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                          "body": body, "json": json.loads(body)})
                status = receiver.always or (receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":%s}' % (b"true" if status < 300 else b"false"))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def hooked(rt: Runtime, receiver: Receiver) -> Runtime:
    """The runtime with the webhook configured to the test receiver (same database)."""
    settings = rt.settings.model_copy(update={"notification_webhook_url": receiver.url,
                                              "notification_webhook_secret": WEBHOOK_SECRET})
    return dataclasses.replace(rt, settings=settings)
