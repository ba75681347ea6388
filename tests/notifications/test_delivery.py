"""Webhook delivery of the outbox against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import socket
from datetime import timedelta

from sqlalchemy import select

from app.core.clock import clock
from app.notifications import jobs, service
from app.notifications.models import Outbox
from app.org import service as org_service
from app.runtime import Runtime
from tests.notifications.conftest import WEBHOOK_SECRET, Receiver


def _notify_and_commit(rt: Runtime, key: str = "task:7:assigned") -> None:
    with rt.db.session() as session:
        gat = org_service.require_department(session=session, code="410000-gat")
        service.notify(session, department_id=gat.id, role="reviewer", kind="task_assigned",
                       title="新待办：审核共享申请", body="请在5个工作日内办理", link="/tasks/7",
                       dedupe_key=key, at=clock.now(), settings=rt.settings)
        session.commit()


def _outbox(rt: Runtime) -> dict:  # type: ignore[type-arg]
    with rt.db.session() as session:
        row = session.execute(select(Outbox)).scalar_one()
        return row.model_dump()


def test_delivery_posts_once_with_idempotency_key_and_a_valid_signature(hooked: Runtime,
                                                                        receiver: Receiver) -> None:
    _notify_and_commit(hooked)
    assert jobs.deliver_notifications(hooked) == 1
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got["path"] == "/hook"
    assert got["headers"]["Idempotency-Key"] == "task:7:assigned"
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), got["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got["headers"]["X-GovFlow-Signature"], expected)
    assert got["headers"]["Content-Type"].startswith("application/json")
    assert got["json"]["title"] == "新待办：审核共享申请"
    assert got["json"]["recipients"] == [{"username": "gat_reviewer", "display_name": "张伟（省公安厅审核人）",
                                          "department_code": "410000-gat"}]
    row = _outbox(hooked)
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert row["delivered_at"] == clock.now() and row["next_attempt_at"] is None
    # Delivered rows are not sent again.
    clock.advance(timedelta(hours=2))
    assert jobs.deliver_notifications(hooked) == 0
    assert len(receiver.requests) == 1


def test_no_signature_header_without_a_secret(hooked: Runtime, receiver: Receiver) -> None:
    unsigned = dataclasses.replace(
        hooked, settings=hooked.settings.model_copy(update={"notification_webhook_secret": None}))
    _notify_and_commit(unsigned)
    assert jobs.deliver_notifications(unsigned) == 1
    assert "X-GovFlow-Signature" not in receiver.requests[0]["headers"]


def test_server_errors_are_retried_with_backoff_until_delivered(hooked: Runtime, receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 200]
    _notify_and_commit(hooked)
    start = clock.now()

    assert jobs.deliver_notifications(hooked) == 0
    row = _outbox(hooked)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["last_error"].startswith("HTTP 500")
    assert row["next_attempt_at"] == start + timedelta(seconds=30)
    assert jobs.deliver_notifications(hooked) == 0  # not due yet
    assert len(receiver.requests) == 1

    clock.advance(timedelta(seconds=30))
    assert jobs.deliver_notifications(hooked) == 0
    row = _outbox(hooked)
    assert row["attempts"] == 2 and row["next_attempt_at"] == clock.now() + timedelta(seconds=60)

    clock.advance(timedelta(seconds=59))
    assert jobs.deliver_notifications(hooked) == 0
    assert len(receiver.requests) == 2

    clock.advance(timedelta(seconds=1))
    assert jobs.deliver_notifications(hooked) == 1
    row = _outbox(hooked)
    assert row["status"] == "delivered" and row["attempts"] == 3
    assert len(receiver.requests) == 3
    # Every attempt carried the same key, so the gateway can drop a repeat it already sent.
    assert {r["headers"]["Idempotency-Key"] for r in receiver.requests} == {"task:7:assigned"}


def test_after_max_attempts_the_row_is_failed_and_left_alone(hooked: Runtime, receiver: Receiver) -> None:
    three = dataclasses.replace(
        hooked, settings=hooked.settings.model_copy(update={"notification_max_attempts": 3}))
    receiver.always = 503
    _notify_and_commit(three)
    for wait in (30, 60):
        assert jobs.deliver_notifications(three) == 0
        assert _outbox(three)["status"] == "pending"
        clock.advance(timedelta(seconds=wait))
    assert jobs.deliver_notifications(three) == 0
    row = _outbox(three)
    assert row["status"] == "failed" and row["attempts"] == 3 and row["next_attempt_at"] is None
    assert row["last_error"].startswith("HTTP 503")
    clock.advance(timedelta(days=1))
    assert jobs.deliver_notifications(three) == 0
    assert len(receiver.requests) == 3


def test_backoff_doubles_and_stops_growing_at_an_hour() -> None:
    assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3, 7, 8, 20)] == [30, 60, 120, 1920, 3600, 3600]


def test_an_unreachable_gateway_is_a_retryable_error(rt: Runtime) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = dataclasses.replace(rt, settings=rt.settings.model_copy(
        update={"notification_webhook_url": f"http://127.0.0.1:{port}/hook"}))
    _notify_and_commit(dead)
    assert jobs.deliver_notifications(dead) == 0
    row = _outbox(dead)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["last_error"].startswith("ConnectError")


def test_a_run_that_dies_after_claiming_is_redone_when_its_lease_ends(hooked: Runtime,
                                                                      receiver: Receiver) -> None:
    _notify_and_commit(hooked)
    assert len(jobs.claim_due(hooked)) == 1  # ...and the process dies before posting
    assert _outbox(hooked)["status"] == "sending"
    assert jobs.deliver_notifications(hooked) == 0  # leased: nobody else takes it
    assert receiver.requests == []
    clock.advance(jobs.LEASE)
    assert jobs.deliver_notifications(hooked) == 1
    row = _outbox(hooked)
    assert row["status"] == "delivered" and row["attempts"] == 2


def test_a_late_outcome_does_not_overwrite_the_run_that_took_over(hooked: Runtime,
                                                                  receiver: Receiver) -> None:
    _notify_and_commit(hooked)
    [stale] = jobs.claim_due(hooked)
    clock.advance(jobs.LEASE)
    assert jobs.deliver_notifications(hooked) == 1
    # The first run wakes up and reports a failure for its (expired) attempt: it is ignored.
    assert jobs.record(hooked, stale, "ReadTimeout: late") is False
    assert _outbox(hooked)["status"] == "delivered"


def test_without_a_webhook_configured_the_job_sends_nothing(hooked: Runtime, receiver: Receiver,
                                                            rt: Runtime) -> None:
    _notify_and_commit(hooked)  # written while a webhook was configured
    assert jobs.deliver_notifications(rt) == 0
    assert receiver.requests == []
    assert _outbox(rt)["status"] == "pending"
