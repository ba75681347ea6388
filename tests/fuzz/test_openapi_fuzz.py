"""A bounded schemathesis run over the whole OpenAPI, as every demo role and anonymously: no 5xx.

Every operation of /openapi.json is driven in-process (ASGI, no network) as each demo user of the README
and without a token, with cases schemathesis generates from the schema (valid and invalid ones); valid ones
go again with their path parameters naming live objects. The run is deterministic (derandomized Hypothesis,
no example database, no deadline) and bounded: GOVFLOW_FUZZ_CASES cases (default 2,000, rounded up to one
per operation, mode and role: about 2,900, plus about 800 on live objects). GOVFLOW_FUZZ_SEED picks other
inputs for a longer local hunt. Any response >= 500, or an exception escaping the application, fails the
test; its message lists every one with its reproduction (role, method, path, query, body).

Alone: `.venv/bin/pytest -q tests/fuzz`;
longer: `GOVFLOW_FUZZ_CASES=20000 GOVFLOW_FUZZ_SEED=1 .venv/bin/pytest -q tests/fuzz`.
"""

from __future__ import annotations

import json
import math
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import HypothesisException
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import ASGIClient

from tests.api.helpers import submit
from tests.authority.helpers import escalated_dispute, province_notice
from tests.catalog.helpers import new_draft
from tests.conftest import DEMO_PASSWORD
from tests.designer import helpers as designer_helpers
from tests.designer.trial_helpers import SHARE_VARIABLES
from tests.open_data.helpers import submitted
from tests.rectification.helpers import upload
from tests.systems.helpers import register as register_system

# The README's demo accounts, then anonymous (None). The administrator comes last among the users: what it
# changes (users, departments, calendars) should not take the ground from under the other roles' runs.
ROLES: list[str | None] = [
    "rst_clerk", "gat_clerk", "gat_reviewer", "gat_head", "scjg_clerk", "scjg_reviewer", "data_reviewer",
    "designer", "gov_supervisor", "zz_clerk", "zz_reviewer", "zz_data_reviewer", "zz_supervisor", "zm_clerk",
    "demo_admin", None,
]
# Cases in all (one generated input sent as one role); CI keeps the default, a local run may raise it.
DEFAULT_CASES = 2000
# Unset: the same cases on every run (CI). Set: other cases, for a longer local hunt.
SEED = int(os.environ["GOVFLOW_FUZZ_SEED"]) if os.environ.get("GOVFLOW_FUZZ_SEED") else None
ROLES_PER_CASE = 4
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


# Operations that would make the rest of the run meaningless if hit early: moving the demo clock (tokens
# judged on the service clock expire), an API logout (revokes the role's tokens), logging in (fuzzed wrong
# passwords may trip a login throttle). They run after every other operation, in this order, each after a
# fresh login of every role; logging in comes last because nobody needs to log in after it.
SESSION_OPERATIONS = ("PUT /api/admin/clock", "POST /api/auth/logout", "POST /api/auth/token")


def _session_rank(operation: Any) -> int:
    """Rank an operation: 0 if ordinary, then SESSION_OPERATIONS in order, other /api/auth/ ones last."""
    if operation.label in SESSION_OPERATIONS:
        return 1 + SESSION_OPERATIONS.index(operation.label)
    return len(SESSION_OPERATIONS) + 1 if operation.path.startswith("/api/auth/") else 0


# Random ids and codes rarely name an object that exists, so each valid case is sent once more with its path
# parameters set to existing objects (rotating among them): the fuzzed query and body then reach the
# services behind the doors, not only the 404. A parameter not listed here keeps its generated value.
KNOWN_VALUES_SQL = {
    "entry_code": "SELECT code FROM catalog_entry ORDER BY id",
    "version_id": "SELECT id FROM catalog_version ORDER BY id",
    "share_request_id": "SELECT id FROM share_request ORDER BY id",
    "task_id": "SELECT id FROM task ORDER BY id",
    "external_task_id": "SELECT id FROM external_task ORDER BY id",
    "incident_id": "SELECT id FROM external_task WHERE status = 'incident' ORDER BY id",
    "instance_id": "SELECT id FROM process_instance ORDER BY id",
    "process_key": "SELECT DISTINCT process_key FROM process_definition ORDER BY process_key",
    "item_id": "SELECT id FROM supervision_item ORDER BY id",
    "notification_id": "SELECT id FROM notification ORDER BY id",
    "attachment_id": "SELECT id FROM attachment ORDER BY id",
    "open_list_id": "SELECT id FROM open_list ORDER BY id",
    "notice_id": "SELECT id FROM rectification_notice ORDER BY id",
    "dispute_id": "SELECT id FROM dispute ORDER BY id",
    "department_code": "SELECT code FROM department ORDER BY id",
    "draft_id": "SELECT id FROM process_draft ORDER BY id",
    "submission_id": "SELECT id FROM process_submission ORDER BY id",
    "version": "SELECT DISTINCT version FROM process_definition ORDER BY version",
    "side_task_id": "SELECT id FROM task_side ORDER BY id",
    "copy_id": "SELECT id FROM case_copy ORDER BY id",
    "phrase_id": "SELECT id FROM phrase ORDER BY id",
    "filter_id": "SELECT id FROM saved_filter ORDER BY id",
    "system_id": "SELECT id FROM business_system ORDER BY id",
    "report_id": "SELECT id FROM yearly_report ORDER BY id",
    "grant_id": "SELECT id FROM share_grant ORDER BY id",
    "flag_id": "SELECT id FROM usage_flag ORDER BY id",
    "department_id": "SELECT id FROM department ORDER BY id",
    "client_id": "SELECT id FROM system_client ORDER BY id",
}


def _known_values(rt: Any) -> dict[str, list[Any]]:
    """A few existing objects per path parameter name, read from the test's database."""
    from sqlalchemy import text

    from app.scheduler.setup import JOBS

    known: dict[str, list[Any]] = {"job_id": sorted(JOBS)}
    with rt.db.session() as session:
        for name, sql in KNOWN_VALUES_SQL.items():
            values = [row[0] for row in session.execute(text(sql)).all()]
            if values:
                known[name] = values[:: max(1, len(values) // 6)][:6]  # spread over the table
    return known


@dataclass
class Run:
    cases: int = 0  # a case: one generated input sent as one role
    generated: int = 0
    on_known_objects: int = 0  # cases re-sent with their path parameters set to existing objects
    per_role: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)  # 2xx answers: the role got past the doors
    skipped: list[str] = field(default_factory=list)  # (operation, mode) with nothing to generate
    failures: list[str] = field(default_factory=list)


def _repro(role: str | None, case: schemathesis.Case) -> str:
    query = "&".join(f"{k}={v!r}" for k, v in (case.query or {}).items())
    body = "" if case.body is NOT_SET else json.dumps(case.body, ensure_ascii=False, default=repr)[:400]
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    return (f"[{role or 'anonymous'}] {case.method} {case.formatted_path}{'?' + query if query else ''}"
            f"{' media_type=' + case.media_type if case.media_type and body else ''}"
            f"{' headers=' + repr(headers) if headers else ''}{' body=' + body if body else ''}")


def _generate(operation: Any, mode: schemathesis.GenerationMode, count: int) -> list[schemathesis.Case]:
    """Up to `count` distinct cases of one operation, the same ones on every run (derandomized)."""
    cases: list[schemathesis.Case] = []

    @settings(max_examples=count, derandomize=SEED is None, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def collect(case: schemathesis.Case) -> None:
        cases.append(case)

    if SEED is not None:
        collect = seed(SEED)(collect)
    collect()
    return cases


def _send(run: Run, role: str | None, session: ASGIClient, case: schemathesis.Case) -> None:
    run.cases += 1
    run.per_role[role or "anonymous"] = run.per_role.get(role or "anonymous", 0) + 1
    try:
        response = case.call(session=session, base_url="http://testserver")
    except Exception as exc:  # noqa: BLE001 - an exception escaping the app is exactly what we report
        where = traceback.extract_tb(exc.__traceback__)[-1]
        run.failures.append(f"{_repro(role, case)}\n    -> {type(exc).__name__}: {exc} "
                            f"({where.filename}:{where.lineno})")
        return
    if response.status_code < 300:
        run.accepted[role or "anonymous"] = run.accepted.get(role or "anonymous", 0) + 1
    try:
        case.validate_response(response, checks=[not_a_server_error])
    except FailureGroup:
        run.failures.append(f"{_repro(role, case)}\n    -> {response.status_code} {response.text[:300]}")


def _drive(run: Run, sessions: dict[str | None, ASGIClient], operation: Any, per_role: int,
           known: dict[str, list[Any]]) -> None:
    """Send `per_role` cases of each generation mode of one operation as every role.

    Generating a case costs several times more than sending it in-process, so each generated case goes to
    ROLES_PER_CASE roles in turn; an operation with fewer distinct inputs (no parameters) repeats them.
    Valid cases then go again to every role with known path parameters (see KNOWN_VALUES_SQL).
    """
    for mode in MODES:
        # Reversed for invalid input, so that a role does not always meet the same neighbours' cases.
        roles = list(sessions) if mode.is_positive else list(reversed(sessions))
        sends = per_role * len(roles)
        try:
            cases = _generate(operation, mode, math.ceil(sends / ROLES_PER_CASE))
        except HypothesisException as exc:  # e.g. no invalid variant of a parameterless operation exists
            run.skipped.append(f"{operation.label} {mode.value}: {type(exc).__name__}")
            continue
        run.generated += len(cases)
        for j in range(sends):
            role = roles[j % len(roles)]
            _send(run, role, sessions[role], cases[j * len(cases) // sends])
        names = [p.name for p in operation.path_parameters if p.name in known]
        if not mode.is_positive or not names:
            continue
        for k, case in enumerate(cases):
            # In place: schemathesis revalidates a case whose containers were edited before it is sent.
            case.path_parameters.update({name: known[name][k % len(known[name])] for name in names})
        shifted = roles[len(roles) // 2:] + roles[: len(roles) // 2]  # other roles than above get each case
        for j in range(sends):
            role = shifted[j % len(roles)]
            run.on_known_objects += 1
            _send(run, role, sessions[role], cases[j * len(cases) // sends])


def _live_objects(as_user: Any) -> None:
    """One object of each kind in a live state, for the known path parameters (the seed has only catalogs)."""
    submit(as_user("rst_clerk"))  # a share request under review: instance, task
    escalated_dispute(as_user)  # a refused request, its dispute waiting for the authority
    notice = province_notice(as_user)  # a rectification notice to 省人社厅, with an attachment
    upload(as_user("data_reviewer"), notice["id"])
    submitted(as_user("gat_clerk"))  # an open list under review
    new_draft(as_user("scjg_clerk"))  # a draft catalog version
    register_system(as_user("gat_clerk"))  # a new business system waiting for its 立项 (Art. 7)
    # A process designer's draft, and another one awaiting approval (of a trial process only).
    designer_helpers.new_draft(as_user("designer"), designer_helpers.one_task(key="fuzz_trial"))
    pending = designer_helpers.new_draft(as_user("designer"), designer_helpers.one_task(key="fuzz_trial"))
    designer_helpers.submit_draft(as_user("designer"), pending["id"])
    # A designer's trial run of the share process, granted: it waits at its external task (hand_over), which
    # the designer acts as the outside system (/api/trials/{instance_id}/external-tasks/{external_task_id}/…).
    designer = as_user("designer")
    trial = designer.post("/api/processes/sharing_share_request/instances", json={"variables": SHARE_VARIABLES})
    assert trial.status_code == 201, trial.text
    review = designer.post(f"/api/trials/tasks/{trial.json()['open_tasks'][0]['id']}/complete", json={
        "role": "reviewer", "data": {"decision": "approve", "terms": "仅用于试运行"}})
    assert review.status_code == 200 and review.json()["status"] == "running", review.text


def _login(app: Any, username: str | None) -> ASGIClient:
    # Not entered as a context manager: the `client` fixture already ran the app's start-up once.
    session = ASGIClient(app)
    if username is not None:
        r = session.post("/api/auth/token", data={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        session.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return session


def test_no_server_error_for_any_role(  # type: ignore[no-untyped-def]
        app, client, as_user, rt, record_property) -> None:
    _live_objects(as_user)
    known = _known_values(rt)
    target = int(os.environ.get("GOVFLOW_FUZZ_CASES", DEFAULT_CASES))
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_session_rank)
    per_role = max(1, round(target / (len(operations) * len(ROLES) * len(MODES))))

    run = Run()
    started = time.perf_counter()
    sessions = {role: _login(app, role) for role in ROLES}
    for operation in operations:
        if _session_rank(operation):
            sessions = {role: _login(app, role) for role in ROLES}
        _drive(run, sessions, operation, per_role, known)
    elapsed = time.perf_counter() - started

    database = "PostgreSQL" if rt.db.is_postgres else "SQLite"
    summary = (f"schemathesis on {database}: {run.cases} cases ({run.generated} generated inputs, "
               f"{per_role} per operation, mode and role; {run.on_known_objects} on existing objects) "
               f"over {len(operations)} operations x {len(ROLES)} roles in {elapsed:.1f} s; "
               f"server errors: {len(run.failures)}; no invalid input exists for {len(run.skipped)} "
               f"(operation, mode) pairs; per role (cases/2xx): "
               + ", ".join(f"{role}={n}/{run.accepted.get(role, 0)}" for role, n in run.per_role.items()))
    record_property("fuzz_summary", summary)
    assert run.cases >= min(target, 2000), summary
    assert not run.failures, f"{len(run.failures)} server errors\n" + "\n".join(run.failures)


def test_the_run_reports_server_errors_with_their_reproduction() -> None:
    """The harness itself: an exception escaping the app and a 5xx answer are both caught and described."""
    broken = FastAPI()

    @broken.get("/api/things/{thing_id}")
    def crash(thing_id: int) -> dict[str, int]:
        return {"ratio": 1 // (thing_id - thing_id)}

    @broken.post("/api/things")
    def unavailable(body: dict[str, str]) -> JSONResponse:
        return JSONResponse({"detail": "down"}, status_code=503)

    schema = schemathesis.openapi.from_dict(broken.openapi())
    run = Run()
    sessions = {None: ASGIClient(broken)}
    for result in schema.get_all_operations():
        _drive(run, sessions, result.ok(), per_role=1, known={})
    assert run.cases >= 3
    assert any("GET /api/things/" in f and "ZeroDivisionError" in f for f in run.failures), run.failures
    assert any("POST /api/things" in f and "503" in f and "body=" in f for f in run.failures), run.failures
