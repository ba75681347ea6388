"""/metrics (issue 13): Prometheus text that the client library's own parser reads, protected by network or
token, with request counts by route template and the figures read from the database at scrape time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from app.core.clock import clock
from app.main import create_app
from app.ops.models import JobStatus
from app.runtime import Runtime
from app.scheduler import setup as scheduler_setup
from app.scheduler.setup import run_job
from tests.api.helpers import submit

TOKEN = "metrics-token-for-tests-0123456789abcdef"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, by name and sorted labels (parsed by prometheus_client itself)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _local(app) -> TestClient:  # type: ignore[no-untyped-def]
    """A client calling from 127.0.0.1 (the default allowed network)."""
    return TestClient(app, client=("127.0.0.1", 50000))


def test_metrics_refuse_callers_outside_the_allowed_networks_without_the_token(rt: Runtime) -> None:
    rt.settings = rt.settings.model_copy(update={"metrics_token": TOKEN})
    app = create_app(rt.settings, runtime=rt)
    for client, headers in ((TestClient(app), {}), (TestClient(app, client=("10.1.2.3", 5000)), {}),
                            (TestClient(app, client=("10.1.2.3", 5000)), {"Authorization": "Bearer wrong"}),
                            (TestClient(app, client=("10.1.2.3", 5000)), {"Authorization": TOKEN})):
        r = client.get("/metrics", headers=headers)
        assert r.status_code == 403
        assert r.json()["detail"]["code"] == "metrics_forbidden"
        assert "govflow_" not in r.text
    r = TestClient(app, client=("10.1.2.3", 5000)).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert _local(app).get("/metrics").status_code == 200
    assert _local(app).get("/metrics").status_code == 200
    # A configured network admits its addresses; the loopback is then no longer implied.
    rt.settings = rt.settings.model_copy(update={"metrics_allow_networks": ["10.0.0.0/8"]})
    wide = create_app(rt.settings, runtime=rt)
    assert TestClient(wide, client=("10.1.2.3", 5000)).get("/metrics").status_code == 200
    assert _local(wide).get("/metrics").status_code == 403


def test_metrics_count_requests_by_route_template_and_read_open_work(rt: Runtime, app, client: TestClient,
                                                                     as_user) -> None:  # type: ignore[no-untyped-def]
    before = _samples(_local(app).get("/metrics").text)
    assert before[("govflow_metrics_database_up", ())] == 1
    assert not [k for k in before if k[0] == "govflow_tasks_open"]  # the demo data has no open task
    assert before[("govflow_oldest_open_task_age_seconds", ())] == 0
    shared = submit(as_user("rst_clerk"))  # a share request: one review task at 省公安厅
    reviewer = as_user("gat_reviewer")
    for _ in range(3):
        assert reviewer.get("/api/tasks/999999999").status_code == 404
    client.get("/healthz")
    client.get("/healthz")
    clock.advance(timedelta(days=30))  # past the review's 5 working days
    samples = _samples(_local(app).get("/metrics").text)

    task = (("department", "410000-gat"), ("process", "sharing_share_request"))
    assert samples[("govflow_tasks_open", task)] == 1
    assert samples[("govflow_tasks_overdue", task)] == 1
    assert samples[("govflow_oldest_open_task_age_seconds", ())] == pytest.approx(30 * 86400, abs=60)
    assert samples[("govflow_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))] == 2
    assert samples[("govflow_http_requests_total", (("method", "GET"), ("route", "/api/tasks/{task_id}"),
                                                    ("status", "404")))] == 3
    assert samples[("govflow_http_request_duration_seconds_count",
                    (("method", "GET"), ("route", "/api/tasks/{task_id}")))] == 3
    assert samples[("govflow_http_requests_total", (("method", "POST"), ("route", "/api/share-requests"),
                                                    ("status", "201")))] == 1
    # Raw paths never become labels: their number must stay bounded by the app's routes.
    assert not [k for k in samples if "999999999" in str(k)]
    assert shared["instance_id"]
    for name in ("govflow_supervision_items_open", "govflow_notification_outbox_backlog",
                 "govflow_sandbox_timeouts_total"):
        assert (name, ()) in samples


def test_job_runs_failures_and_last_success_are_recorded_for_every_replica(rt: Runtime, app,
                                                                           monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert run_job(rt, "escalate-overdue") == 0
    assert run_job(rt, "escalate-overdue") == 0

    def broken(_rt: Runtime) -> None:
        raise RuntimeError("the webhook gateway is down")

    monkeypatch.setitem(scheduler_setup.JOBS, "escalate-overdue", (broken, 60))
    with pytest.raises(RuntimeError):
        run_job(rt, "escalate-overdue")
    with rt.db.session() as session:
        row = session.execute(select(JobStatus).where(JobStatus.job_id == "escalate-overdue")).scalar_one()
        assert (row.runs, row.failures) == (3, 1)
        assert row.last_success_at == clock.base() and row.last_failure_at is not None

    samples = _samples(_local(app).get("/metrics").text)
    job = (("job", "escalate-overdue"),)
    assert samples[("govflow_job_runs_total", job)] == 3
    assert samples[("govflow_job_failures_total", job)] == 1
    assert samples[("govflow_job_last_success_timestamp_seconds", job)] == clock.base().timestamp()
    assert ("govflow_job_last_duration_seconds", job) in samples
