"""The approval desk: 抄送/待阅, 催办, 常用意见, 批量办理, counts, saved filters, comments, attachments, 审批单."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.core.clock import clock
from app.org.models import User
from app.org.service import load_actor
from tests.api.helpers import review_task, submit
from tests.designer.helpers import audit_actions, deploy, one_task
from tests.web.test_pages import _csrf, _login

APPROVAL_FORM = """<bpmn:extensionElements>{props}<camunda:formData>
  <camunda:formField id="decision" label="审批结论" type="enum">
    <camunda:validation><camunda:constraint name="required" /></camunda:validation>
    <camunda:value id="approve" name="同意" /><camunda:value id="refuse" name="不同意" />
  </camunda:formField>
  <camunda:formField id="opinion" label="审批意见" type="string" />
</camunda:formData></bpmn:extensionElements>"""


def approval_xml(key: str = "desk_approval", props: str = "") -> str:
    return one_task(key, task='camunda:candidateGroups="reviewer" camunda:dueDate="5WD"', name="公文审批",
                    task_name="科室审核", body=APPROVAL_FORM.format(props=props))


def user_id(rt: Any, username: str) -> int:
    with rt.db.session() as s:
        return int(s.execute(select(User.id).where(User.username == username)).scalar_one())


def start(rt: Any, key: str, username: str, subject: str) -> int:
    """Start a real (not trial) instance as a person of the demo, through the runner."""
    with rt.db.session() as s:
        actor = load_actor(session=s, user_id=user_id(rt, username))
        instance = rt.runner.start(s, key, variables={}, actor=actor, subject=subject)
        s.commit()
        return int(instance.id)


def deployed(as_user: Any, props: str = "", key: str = "desk_approval") -> None:
    deploy(as_user("designer"), as_user("demo_admin"), approval_xml(key, props))


def counts(c: Any) -> dict[str, int]:
    r = c.get("/api/me/inbox-counts")
    assert r.status_code == 200, r.text
    return r.json()


# ----------------------------------------------------------------------------- 抄送

def test_a_copied_colleague_reads_that_case_and_nothing_more(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer, outsider = as_user("rst_clerk"), as_user("gat_reviewer"), as_user("scjg_clerk")
    copied = submit(clerk)
    other = submit(clerk)
    task = review_task(reviewer, copied["instance_id"])
    other_task = review_task(reviewer, other["instance_id"])
    # Before the copy the market-regulation clerk sees neither case.
    assert outsider.get(f"/api/tasks/{task['id']}").status_code == 404
    assert counts(outsider)["cc_unread"] == 0
    r = reviewer.post(f"/api/instances/{copied['instance_id']}/copies",
                      json={"user_ids": [user_id(rt, "scjg_clerk")], "note": "请知悉"})
    assert r.status_code == 201, r.text
    assert r.json()["copied"] == ["赵静（省市场监管局经办人）"]
    # The recipient: one unread copy, told by a notification, reads that case and its history...
    assert counts(outsider)["cc_unread"] == 1
    items = outsider.get("/api/me/copies", params={"read": False}).json()["items"]
    assert [(i["instance_id"], i["sent_by_name"], i["note"]) for i in items] == [
        (copied["instance_id"], "张伟（省公安厅审核人）", "请知悉")]
    assert any(n["title"].startswith("抄送：") for n in outsider.get("/api/notifications").json()["items"])
    assert outsider.get(f"/api/tasks/{task['id']}").status_code == 200
    assert outsider.get(f"/api/instances/{copied['instance_id']}").status_code == 200
    # ...and nothing more: not the other case, not the task's work.
    assert outsider.get(f"/api/tasks/{other_task['id']}").status_code == 404
    assert outsider.get(f"/api/instances/{other['instance_id']}").status_code == 404
    r = outsider.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decision": "approve", "terms": "按约"}})
    assert r.status_code == 403
    # 标为已阅: the unread count drops, the copy lists as read, the history says so.
    copy_id = items[0]["id"]
    r = outsider.post(f"/api/me/copies/{copy_id}/read")
    assert r.status_code == 200 and r.json() == {"changed": True, "unread": 0}
    assert outsider.get("/api/me/copies", params={"read": True}).json()["items"][0]["read"] is True
    actions = [a for a, _ in audit_actions(rt, "process_instance", copied["instance_id"])]
    assert "case.copied" in actions and "case.copy_read" in actions
    # Someone else's copy is not theirs to mark.
    assert as_user("gat_clerk").post(f"/api/me/copies/{copy_id}/read").status_code == 404


def test_copy_refusals(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, outsider = as_user("rst_clerk"), as_user("scjg_clerk")
    request = submit(clerk)
    url = f"/api/instances/{request['instance_id']}/copies"
    # Who may not read the case may not copy it (hidden, like a missing case).
    assert outsider.post(url, json={"user_ids": [user_id(rt, "scjg_clerk")]}).status_code == 404
    r = clerk.post(url, json={"user_ids": [999999]})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "copy_recipient_unknown"
    assert clerk.post(url, json={"user_ids": []}).status_code == 422
    # Copying twice to the same person copies once.
    target = user_id(rt, "gat_head")
    assert clerk.post(url, json={"user_ids": [target]}).json()["copied"] == ["杨帆（省公安厅部门负责人）"]
    assert clerk.post(url, json={"user_ids": [target]}).json()["copied"] == []
    assert counts(as_user("gat_head"))["cc_unread"] == 1


def test_a_step_with_cc_roles_copies_the_case_when_completed(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    props = '<camunda:properties><camunda:property name="cc_roles" value="head" /></camunda:properties>'
    deployed(as_user, props)
    instance_id = start(rt, "desk_approval", "gat_clerk", "关于调整值班安排的请示")
    reviewer, head = as_user("gat_reviewer"), as_user("gat_head")
    task = review_task(reviewer, instance_id)
    assert counts(head)["cc_unread"] == 0  # not when the task arrives
    r = reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decision": "approve", "opinion": "同意。"}})
    assert r.status_code == 200, r.text
    items = head.get("/api/me/copies").json()["items"]
    assert [(i["instance_id"], i["sent_by_name"]) for i in items] == [(instance_id, "科室审核环节自动抄送")]
    assert head.get(f"/api/instances/{instance_id}").status_code == 200
    # Only the listed role of the task's department: the reviewer's other colleagues get nothing.
    assert counts(as_user("gat_clerk"))["cc_unread"] == 0
    assert counts(as_user("scjg_reviewer"))["cc_unread"] == 0


# ----------------------------------------------------------------------------- 催办

def test_the_applicant_urges_once_per_working_day(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    request = submit(clerk)
    task = review_task(reviewer, request["instance_id"])
    url = f"/api/tasks/{task['id']}/urge"
    # Monday 2 November 2026, 09:00 (frozen): the first urge goes through, the holder's department is told.
    r = clerk.post(url)
    assert r.status_code == 200, r.text
    assert r.json()["working_day"] == "2026-11-02"
    notes = [n for n in reviewer.get("/api/notifications").json()["items"] if n["title"].startswith("催办")]
    assert len(notes) == 1 and "李明" in notes[0]["body"] and notes[0]["kind_zh"] == "催办"
    # A second try the same working day: refused with the next allowed day, in Chinese.
    clock.freeze(clock.now() + timedelta(hours=6))
    r = clerk.post(url)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert detail["code"] == "urge_too_soon" and detail["next_allowed"] == "2026-11-03"
    assert "11月3日" in detail["message"] and "星期二" in detail["message"]
    # The next working day it is allowed again.
    clock.freeze(clock.now() + timedelta(days=1))
    assert clerk.post(url).status_code == 200
    actions = [a for a, _ in audit_actions(rt, "task", task["id"])]
    assert actions.count("task.urged") == 2


def test_urge_across_a_weekend_counts_for_monday(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    request = submit(clerk)
    task = review_task(reviewer, request["instance_id"])
    clock.freeze(clock.now() + timedelta(days=5))  # Saturday 7 November
    r = clerk.post(f"/api/tasks/{task['id']}/urge")
    assert r.status_code == 200 and r.json()["working_day"] == "2026-11-09"
    clock.freeze(clock.now() + timedelta(days=2))  # Monday 9 November: already urged for that day
    r = clerk.post(f"/api/tasks/{task['id']}/urge")
    assert r.status_code == 409 and r.json()["detail"]["next_allowed"] == "2026-11-10"


def test_only_the_applicant_urges_an_open_task(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    request = submit(clerk)
    task = review_task(reviewer, request["instance_id"])
    r = reviewer.post(f"/api/tasks/{task['id']}/urge")
    assert r.status_code == 403 and r.json()["detail"]["code"] == "urge_forbidden"
    assert as_user("scjg_clerk").post(f"/api/tasks/{task['id']}/urge").status_code == 404
    assert reviewer.post(f"/api/tasks/{task['id']}/complete",
                         json={"data": {"decision": "approve", "terms": "按约"}}).status_code == 200
    r = clerk.post(f"/api/tasks/{task['id']}/urge")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "task_closed"


# ----------------------------------------------------------------------------- 常用意见

def test_phrases_defaults_then_own(client, as_user) -> None:  # type: ignore[no-untyped-def]
    me = as_user("gat_reviewer")
    body = me.get("/api/me/phrases").json()
    assert body == {"items": [], "offered": ["同意。", "拟同意，请领导审批。", "材料不全，请补正。"]}
    r = me.post("/api/me/phrases", json={"text": "经审核，同意共享。"})
    assert r.status_code == 201, r.text
    phrase_id = r.json()["id"]
    assert me.get("/api/me/phrases").json()["offered"] == ["经审核，同意共享。"]
    assert me.post("/api/me/phrases", json={"text": "经审核，同意共享。"}).json()["detail"]["code"] == "phrase_duplicate"
    assert me.post("/api/me/phrases", json={"text": "   "}).status_code == 422
    r = me.put(f"/api/me/phrases/{phrase_id}", json={"text": "同意，请按约使用。"})
    assert r.status_code == 200 and r.json()["text"] == "同意，请按约使用。"
    # Another person neither sees nor changes it.
    other = as_user("scjg_reviewer")
    assert other.get("/api/me/phrases").json()["items"] == []
    assert other.put(f"/api/me/phrases/{phrase_id}", json={"text": "改"}).status_code == 404
    assert other.delete(f"/api/me/phrases/{phrase_id}").status_code == 404
    assert me.delete(f"/api/me/phrases/{phrase_id}").status_code == 204
    assert me.get("/api/me/phrases").json()["offered"][0] == "同意。"


# ----------------------------------------------------------------------------- 批量办理

def test_batch_completes_the_fit_tasks_and_explains_the_rest(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    deployed(as_user)
    first = start(rt, "desk_approval", "gat_clerk", "请示一")
    second = start(rt, "desk_approval", "gat_clerk", "请示二")
    reviewer = as_user("gat_reviewer")
    share = submit(as_user("rst_clerk"))  # its review needs 使用要求 when approving: not batched
    ids = [review_task(reviewer, i)["id"] for i in (first, second, share["instance_id"])]
    before = counts(reviewer)
    r = reviewer.post("/api/tasks/batch-complete", json={"task_ids": ids, "decision": "approve", "opinion": "同意。"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["completed"], body["failed"]) == (2, 1)
    failed = [x for x in body["results"] if not x["ok"]]
    assert failed[0]["task_id"] == ids[2] and failed[0]["code"] == "batch_unfit" and "逐件办理" in failed[0]["reason"]
    after = counts(reviewer)
    assert after["todo"] == before["todo"] - 2 and after["done"] == before["done"] + 2
    done = reviewer.get("/api/tasks", params={"view": "done"}).json()["items"]
    done = [{**t, **reviewer.get(f"/api/tasks/{t['id']}").json()} for t in done]
    assert {t["subject"]: t["data"] for t in done} == {"请示一": {"decision": "approve", "opinion": "同意。"},
                                                     "请示二": {"decision": "approve", "opinion": "同意。"}}
    # Someone else's task: refused with its reason, nothing completed.
    outsider = as_user("scjg_reviewer").post("/api/tasks/batch-complete",
                                              json={"task_ids": [ids[2]], "decision": "approve"})
    assert outsider.json()["results"] == [{"task_id": ids[2], "name": "", "subject": "", "ok": False,
                                           "reason": "任务不存在", "code": "task_not_found"}]
    assert reviewer.post("/api/tasks/batch-complete", json={"task_ids": [], "decision": "approve"}).status_code == 422


def test_a_form_with_other_required_fields_is_not_batched(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    body = APPROVAL_FORM.format(props="").replace(
        '<camunda:formField id="opinion" label="审批意见" type="string" />',
        '<camunda:formField id="opinion" label="审批意见" type="string" />'
        '<camunda:formField id="amount" label="金额" type="long">'
        '<camunda:validation><camunda:constraint name="required" /></camunda:validation></camunda:formField>')
    deploy(as_user("designer"), as_user("demo_admin"),
           one_task("desk_amount", task='camunda:candidateGroups="reviewer"', body=body))
    task = review_task(as_user("gat_reviewer"), start(rt, "desk_amount", "gat_clerk", "经费请示"))
    r = as_user("gat_reviewer").post("/api/tasks/batch-complete", json={"task_ids": [task["id"]], "decision": "approve"})
    assert r.json()["results"][0]["code"] == "batch_unfit"


# ----------------------------------------------------------------------------- counts, filters, pickers

def test_counts_filters_and_pickers(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    submit(clerk)
    submit(clerk)
    assert counts(clerk)["initiated"] == 2 and counts(reviewer)["todo"] == 2
    # Filter by initiator and by department.
    rst = user_id(rt, "rst_clerk")
    page = _login(client.app, "gat_reviewer")
    html = page.get("/tasks", params={"view": "todo", "initiator_id": rst}).text
    assert "李明（省人社厅经办人）" in html and html.count('href="/tasks/') >= 2
    assert 'href="/tasks/' not in page.get("/tasks", params={"view": "todo", "initiator_id": user_id(rt, "scjg_clerk")}).text
    api = reviewer.get("/api/tasks", params={"view": "todo", "initiator_id": rst}).json()["items"]
    assert len(api) == 2
    depts = {g["department_name"]: g["department_id"] for g in reviewer.get("/api/people").json()}
    by_dept = {name: len(reviewer.get("/api/tasks", params={"view": "todo", "department_id": depts[name]}
                                      ).json()["items"]) for name in ("河南省公安厅", "河南省人力资源和社会保障厅")}
    assert by_dept == {"河南省公安厅": 2, "河南省人力资源和社会保障厅": 0}
    # Saved filters: mine, and my department's; others' hidden.
    r = reviewer.post("/api/me/filters", json={"name": "人社厅的申请", "query": f"view=todo&initiator_id={rst}&evil=1"})
    assert r.status_code == 201 and r.json()["query"] == f"view=todo&initiator_id={rst}"
    shared = reviewer.post("/api/me/filters", json={"name": "本部门超期", "query": "view=todo&overdue=1", "shared": True})
    assert [f["name"] for f in as_user("gat_head").get("/api/me/filters").json()] == ["本部门超期"]
    assert as_user("scjg_reviewer").get("/api/me/filters").json() == []
    assert as_user("gat_head").delete(f"/api/me/filters/{shared.json()['id']}").status_code == 403
    assert reviewer.delete(f"/api/me/filters/{shared.json()['id']}").status_code == 204
    # The people picker shows names by department, never usernames.
    groups = reviewer.get("/api/people").json()
    assert any(g["department_name"] == "河南省公安厅" for g in groups)
    assert "gat_reviewer" not in str(groups)


# ----------------------------------------------------------------------------- comments, attachments, 审批单

def test_comments_and_attachments_on_a_case(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    clerk, reviewer = as_user("rst_clerk"), as_user("gat_reviewer")
    request = submit(clerk)
    task = review_task(reviewer, request["instance_id"])
    r = clerk.post(f"/api/tasks/{task['id']}/comments", json={"body": "请尽快审核，谢谢。"})
    assert r.status_code == 201 and r.json()["author_name"] == "李明（省人社厅经办人）"
    assert [c["body"] for c in reviewer.get(f"/api/tasks/{task['id']}/comments").json()] == ["请尽快审核，谢谢。"]
    assert as_user("scjg_clerk").post(f"/api/tasks/{task['id']}/comments", json={"body": "x"}).status_code == 404
    assert clerk.post(f"/api/tasks/{task['id']}/comments", json={"body": ""}).status_code == 422
    pdf = b"%PDF-1.4\n%test\n"
    r = reviewer.post(f"/api/tasks/{task['id']}/attachments", files={"file": ("核查意见.pdf", io.BytesIO(pdf))})
    assert r.status_code == 201, r.text
    att = r.json()
    assert clerk.get(att["url"]).content == pdf
    assert as_user("scjg_clerk").get(att["url"]).status_code == 404
    r = reviewer.post(f"/api/tasks/{task['id']}/attachments", files={"file": ("a.exe", io.BytesIO(b"MZ..."))})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "attachment_type_forbidden"
    listed = clerk.get(f"/api/tasks/{task['id']}/attachments").json()
    assert [(a["filename"], a["uploaded_by_name"]) for a in listed] == [("核查意见.pdf", "张伟（省公安厅审核人）")]
    actions = [a for a, _ in audit_actions(rt, "process_instance", request["instance_id"])]
    assert "case.commented" in actions and "case.attachment_added" in actions


def test_the_approval_sheet(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    deployed(as_user)
    instance_id = start(rt, "desk_approval", "gat_clerk", "关于购置办公设备的请示")
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, instance_id)
    reviewer.post(f"/api/tasks/{task['id']}/complete", json={"data": {"decision": "refuse", "opinion": "预算不足。"}})
    sheet = reviewer.get(f"/api/instances/{instance_id}/sheet").json()
    assert sheet["initiator"] == "王芳（省公安厅经办人）" and sheet["process_name"] == "公文审批"
    assert [(s["name"], s["signer"], s["decision"], s["opinion"]) for s in sheet["steps"]] == [
        ("科室审核", "张伟（省公安厅审核人）", "不同意", "预算不足。")]
    page = _login(client.app, "gat_reviewer")
    html = page.get(f"/instances/{instance_id}/print").text
    assert "审批单" in html and "张伟（省公安厅审核人）" in html and "预算不足。" in html and "@page" in html
    assert as_user("scjg_clerk").get(f"/api/instances/{instance_id}/sheet").status_code == 404


def test_desk_pages_without_javascript(rt, client, as_user) -> None:  # type: ignore[no-untyped-def]
    request = submit(as_user("rst_clerk"))
    task = review_task(as_user("gat_reviewer"), request["instance_id"])
    applicant = _login(client.app, "rst_clerk")
    html = applicant.get("/tasks?view=initiated").text
    r = applicant.post(f"/tasks/{task['id']}/urge", data={"csrf_token": _csrf(html)})
    assert r.status_code == 303
    r = applicant.post(f"/tasks/{task['id']}/urge", data={"csrf_token": _csrf(html)})
    assert r.status_code == 303
    assert "请于11月3日（星期二）再催办" in applicant.get(r.headers["location"]).text
    # Copy from the task page to a colleague of another department; it shows in their 抄送我的.
    html = applicant.get(f"/tasks/{task['id']}").text
    assert "抄送给同事" in html and "打印审批单" in html
    r = applicant.post(f"/tasks/{task['id']}/copy",
                       data={"csrf_token": _csrf(html), "user_ids": str(user_id(rt, "scjg_clerk")), "note": "供参考"})
    assert r.status_code == 303
    other = _login(client.app, "scjg_clerk")
    inbox = other.get("/tasks?view=cc").text
    assert "供参考" in inbox and "待阅" in inbox
    assert other.get(f"/tasks/{task['id']}").status_code == 200  # opening it marks it read
    assert "暂无未读的抄送事项" in other.get("/tasks?view=cc&read=0").text
    assert counts(as_user("scjg_clerk"))["cc_unread"] == 0
