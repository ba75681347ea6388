"""A designer's trial run acts as the outside system for its external tasks (issue 16): completes one with
variables or raises a BPMN error, through the worker API's engine paths and audit events; never for a real
instance, never by staff."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.engine.models import ProcessInstance
from app.external.models import ExternalTask
from tests.designer.trial_helpers import SHARE_VARIABLES
from tests.external.helpers import DIAGRAM, fetch, register_worker, start
from tests.web.test_pages import _csrf, _login


def _deploy(rt: Any) -> None:
    with rt.db.session() as session:
        rt.runner.deploy(session, DIAGRAM, filename="external_task.bpmn", actor="system")
        session.commit()


def start_trial(designer: Any, rt: Any) -> dict[str, Any]:
    """A trial run of the external-task test diagram, waiting at `provision` (topic exchange.grant)."""
    _deploy(rt)
    r = designer.post("/api/processes/test_external/instances", json={"variables": {"grant_no": "试-1"}})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _open_external(designer: Any, trial_id: int) -> list[dict[str, Any]]:
    [trial] = [t for t in designer.get("/api/trials").json() if t["id"] == trial_id]
    return list(trial["open_external_tasks"])


def _events(rt: Any, instance_id: int, action: str) -> list[tuple[str, dict[str, Any]]]:
    """(actor, detail) of the instance's audit events of one action, oldest first."""
    with rt.db.session() as session:
        return [(actor, dict(detail or {})) for actor, detail in session.execute(
            select(AuditEvent.actor, AuditEvent.detail).where(AuditEvent.instance_id == instance_id,
                                                               AuditEvent.action == action)
            .order_by(AuditEvent.seq)).all()]


def _count_events(rt: Any, instance_id: int) -> int:
    with rt.db.session() as session:
        return int(session.execute(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.instance_id == instance_id)).scalar_one())


def _url(trial_id: int, task_id: int, action: str) -> str:
    return f"/api/trials/{trial_id}/external-tasks/{task_id}/{action}"


def test_the_designer_completes_each_external_task_and_the_trial_ends(as_user, rt) -> None:
    designer = as_user("designer")
    trial = start_trial(designer, rt)
    [provision] = _open_external(designer, trial["id"])
    assert (provision["name"], provision["topic"], provision["element_id"]) == ("交换平台开通", "exchange.grant",
                                                                                "provision")
    assert provision["variables"] == {"grant_no": "试-1"}
    r = designer.post(_url(trial["id"], provision["id"], "complete"), json={"variables": {"access_id": "AC-9"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "running" and body["trial"] is True
    [notify] = body["open_external_tasks"]
    assert (notify["element_id"], notify["topic"]) == ("notify", "notify_applicant")
    assert notify["variables"]["access_id"] == "AC-9"  # the first system's answer went into the process
    [(actor, detail)] = _events(rt, trial["id"], "external_task.completed")
    assert actor == "designer"
    assert detail == {"task": "交换平台开通", "topic": "exchange.grant", "variables": {"access_id": "AC-9"},
                            "trial": True}
    with rt.db.session() as session:
        row = session.get(ExternalTask, provision["id"])
        assert (row.status, row.completed_by) == ("completed", "designer")
    # An administrator may act the second one, as for a trial's user tasks.
    r = as_user("demo_admin").post(_url(trial["id"], notify["id"], "complete"), json={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["open_external_tasks"] == []
    # Done twice: the task is closed (409, stable code), nothing changes.
    again = designer.post(_url(trial["id"], notify["id"], "complete"), json={})
    assert again.status_code == 409 and again.json()["detail"]["code"] == "trial_external_task_closed"


def test_a_bpmn_error_is_caught_and_an_uncaught_one_changes_nothing(as_user, rt) -> None:
    designer = as_user("designer")
    trial = start_trial(designer, rt)
    [provision] = _open_external(designer, trial["id"])
    before = _count_events(rt, trial["id"])
    r = designer.post(_url(trial["id"], provision["id"], "bpmn-error"),
                      json={"error_code": "NOT_MODELLED", "error_message": "未建模的错误"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "bpmn_error_uncaught" and "provision" in detail["message"]
    assert "NOT_MODELLED" in detail["message"] and "流程未作任何改变" in detail["message"]
    assert _count_events(rt, trial["id"]) == before
    assert [t["id"] for t in _open_external(designer, trial["id"])] == [provision["id"]]
    with rt.db.session() as session:
        assert session.get(ExternalTask, provision["id"]).status == "open"
    # Bad input: 422 with a stable code, nothing changes.
    for body, code in (({"error_code": "带空格 的码"}, "error_code_invalid"),
                       ({"error_code": "EXCHANGE_REJECTED", "variables": {"typename": 1}}, "variable_name_invalid"),
                       ({"error_code": "EXCHANGE_REJECTED", "extra": 1}, "invalid_input")):
        bad = designer.post(_url(trial["id"], provision["id"], "bpmn-error"), json=body)
        assert bad.status_code == 422, bad.text
        assert bad.json()["detail"]["code"] == code, bad.text
    assert _count_events(rt, trial["id"]) == before

    r = designer.post(_url(trial["id"], provision["id"], "bpmn-error"), json={
        "error_code": "EXCHANGE_REJECTED", "error_message": "申请方无接入资质", "variables": {"reason": "无资质"}})
    assert r.status_code == 200, r.text
    assert r.json()["open_external_tasks"] == []
    assert [t["task_spec"] for t in r.json()["open_tasks"]] == ["handle_rejection"]
    [(actor, detail)] = _events(rt, trial["id"], "external_task.bpmn_error")
    assert actor == "designer" and detail["trial"] is True
    assert (detail["error_code"], detail["error_message"]) == ("EXCHANGE_REJECTED", "申请方无接入资质")
    with rt.db.session() as session:
        instance = session.get(ProcessInstance, trial["id"])
        assert rt.runner.variables(session, instance)["reason"] == "无资质"
        assert instance.next_timer_at is None  # the boundary timer went with the task


def test_a_real_instance_or_a_mismatched_task_answers_404(as_user, rt, client) -> None:
    designer = as_user("designer")
    real = start(rt, "GX-REAL-1")  # a real instance (business reference), waiting at exchange.grant
    with rt.db.session() as session:
        real_task = session.execute(select(ExternalTask.id).where(ExternalTask.instance_id == real)).scalar_one()
    r = designer.post(_url(real, real_task, "complete"), json={})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "trial_not_found"
    r = as_user("demo_admin").post(_url(real, real_task, "bpmn-error"), json={"error_code": "EXCHANGE_REJECTED"})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "trial_not_found"
    trial = start_trial(designer, rt)
    # The trial's id with the real instance's task: as unknown as a task that does not exist.
    for task_id in (real_task, 999_999):
        r = designer.post(_url(trial["id"], task_id, "complete"), json={})
        assert r.status_code == 404 and r.json()["detail"]["code"] == "trial_external_task_not_found"
    with rt.db.session() as session:
        assert session.get(ExternalTask, real_task).status == "open"
    # No worker ever takes the trial's task: only the real one is handed out.
    auth = register_worker(as_user("demo_admin"))
    assert [t["process_instance_id"] for t in fetch(client, auth, "w1")] == [real]


def test_staff_and_anonymous_cannot_act_for_a_trial(as_user, rt, client) -> None:
    trial = start_trial(as_user("designer"), rt)
    [provision] = _open_external(as_user("designer"), trial["id"])
    for user in ("rst_clerk", "gat_reviewer", "data_reviewer", "gov_supervisor"):
        for action, body in (("complete", {}), ("bpmn-error", {"error_code": "EXCHANGE_REJECTED"})):
            r = as_user(user).post(_url(trial["id"], provision["id"], action), json=body)
            assert r.status_code == 403, (user, r.text)
    assert client.post(_url(trial["id"], provision["id"], "complete"), json={}).status_code == 401
    assert [t["id"] for t in _open_external(as_user("designer"), trial["id"])] == [provision["id"]]


def test_the_share_process_trial_passes_the_exchange_step_to_its_end(as_user) -> None:
    designer = as_user("designer")
    r = designer.post("/api/processes/sharing_share_request/instances", json={"variables": SHARE_VARIABLES})
    trial = r.json()
    [task] = trial["open_tasks"]
    r = designer.post(f"/api/trials/tasks/{task['id']}/complete", json={
        "role": "reviewer", "data": {"decision": "approve", "terms": "仅用于试运行"}})
    assert r.status_code == 200, r.text
    [hand_over] = _open_external(designer, trial["id"])
    assert (hand_over["element_id"], hand_over["topic"]) == ("hand_over", "exchange.grant")
    r = designer.post(_url(trial["id"], hand_over["id"], "complete"), json={"variables": {"provisioned": True}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"


def test_the_pages_act_as_the_outside_system_and_show_errors_readably(app, as_user, rt) -> None:
    trial = start_trial(as_user("designer"), rt)
    page = _login(app, "designer")
    url = f"/designer/trials/{trial['id']}"
    html = page.get(url).text
    assert "模拟外部系统完成" in html and "模拟业务错误" in html and "exchange.grant" in html
    [provision] = _open_external(as_user("designer"), trial["id"])
    action = f"{url}/external-tasks/{provision['id']}"
    r = page.post(f"{action}/bpmn-error", data={"csrf_token": _csrf(html), "error_code": "NOT_MODELLED",
                                               "error_message": "未建模", "variables": ""})
    assert r.status_code == 422 and 'data-code="bpmn_error_uncaught"' in r.text
    assert "没有边界错误事件捕获" in r.text and 'value="NOT_MODELLED"' in r.text
    r = page.post(f"{action}/complete", data={"csrf_token": _csrf(html), "variables": "{access_id: 1"})
    assert r.status_code == 422 and "流程变量不是有效的 JSON" in r.text and "{access_id: 1" in r.text
    r = page.post(f"{action}/complete", data={"csrf_token": _csrf(html),
                                              "variables": json.dumps({"access_id": "AC-1"})})
    assert r.status_code == 303
    html = page.get(url).text
    assert "已模拟外部系统完成“交换平台开通”" in html and "外部系统完成任务" in html and "（模拟外部系统）" in html
    assert 'access_id=&#34;AC-1&#34;' in html or 'access_id="AC-1"' in html
    # The done task's form is gone; posting to it again refreshes the page with a note.
    r = page.post(f"{action}/complete", data={"csrf_token": _csrf(html), "variables": ""})
    assert r.status_code == 303
    assert "该外部任务已处理或已撤回" in page.get(url).text
    # Staff never see the page.
    assert _login(app, "gat_reviewer").get(url).status_code == 403


def test_the_scenario_runner_s_external_step_completes_raises_and_reports_an_uncaught_error() -> None:
    from app.designer import scenarios

    def run(steps: list[dict[str, Any]], expect: dict[str, Any]) -> dict[str, Any]:
        return scenarios.run_scenario(DIAGRAM, {"name": "外部任务", "start": {"grant_no": "S-1"}, "steps": steps,
                                                "expect": expect})

    done = run([{"external": "provision", "data": {"access_id": "AC-1"}}, {"external": "notify"}],
               {"path": ["provision", "notify"], "end": "done"})
    assert done["passed"], done
    caught = run([{"external": "provision", "error": "EXCHANGE_REJECTED"}],
                 {"path": ["provision"], "waiting": ["handle_rejection"]})
    assert caught["passed"], caught
    uncaught = run([{"external": "provision", "error": "NOT_MODELLED"}], {"end": "done"})
    assert not uncaught["passed"]
    assert "第 1 步" in uncaught["message"] and "没有边界错误事件捕获" in uncaught["message"], uncaught
    wrong = run([{"external": "notify"}], {"end": "done"})
    assert not wrong["passed"] and "实际等待的外部任务：provision" in wrong["message"], wrong
