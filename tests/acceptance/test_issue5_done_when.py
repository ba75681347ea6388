"""Issue 5, "Done when", end to end over HTTP on the migrated database, real engine and calendar.

A refused share request between two county departments of Zhengzhou becomes a dispute; the negotiation
fails when its deadline passes (clock moved, timer job run); it goes to the data authority of the city
(not the provider's own county authority, not the province), which asks for a statement, records a meeting
and adjudicates "share": a grant exists, the provider's compliance task follows, both sides are told.
Then the city authority issues a rectification notice; its deadline passes (clock moved, escalation job
run); it appears in the city government's supervision queue, the supervisor orders correction, the
department rectifies and reports with an attachment, the authority verifies, the notice and its
supervision item close. Every step is in the histories and the audit chain verifies.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from app.core.clock import SHANGHAI
from tests.api.helpers import review_task
from tests.conftest import DEMO_PASSWORD
from tests.rectification.helpers import PDF

NEW_PASSWORD = "Jinshui#2026"
PROVIDER = "410105-gaj"        # 郑州市公安局金水分局 (created here), county 金水区
COUNTY_AUTHORITY = "410105-data"  # 金水区大数据管理局 (created here): the provider's own level
REQUESTER = "410122-rsj"       # 中牟县人力资源和社会保障局 (demo), county 中牟县; clerk zm_clerk
CITY_AUTHORITY = "410100-data"   # 郑州市大数据管理局 (demo): covers both counties; zz_data_reviewer
CITY_DEPARTMENT = "410100-rsj"   # 郑州市人力资源和社会保障局 (demo): clerk zz_clerk
ENTRY = "410105-gaj-0001"
NEW_USERS = {"js_clerk", "js_reviewer", "js_data"}


class Users:
    """Log users in through the API; log them in again after the clock moves (tokens follow it)."""

    def __init__(self, as_user: Any) -> None:
        self.as_user = as_user
        self._clients: dict[str, TestClient] = {}

    def __call__(self, username: str) -> TestClient:
        if username not in self._clients:
            password = NEW_PASSWORD if username in NEW_USERS else DEMO_PASSWORD
            self._clients[username] = self.as_user(username, password)
        return self._clients[username]

    def move_clock(self, at: datetime) -> None:
        r = self("demo_admin").put("/api/admin/clock", json={"now": at.isoformat()})
        assert r.status_code == 200, r.text
        self._clients.clear()

    def run_job(self, job: str) -> int:
        r = self("demo_admin").post(f"/api/admin/jobs/{job}/run")
        assert r.status_code == 200, r.text
        return int(r.json()["result"])


def _day(iso: str | None) -> str:
    assert iso is not None
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).date().isoformat()


def _actions(history: list[dict[str, Any]]) -> list[str]:
    return [h["action"] for h in history]


def _in_order(actions: list[str], *expected: str) -> None:
    """Each expected action occurs, in this order (other actions may come between)."""
    start = 0
    for action in expected:
        assert action in actions[start:], f"{action} missing after position {start}: {actions}"
        start = actions.index(action, start) + 1


def _specs(history: list[dict[str, Any]]) -> list[str]:
    """The task steps completed, in order (with the coordination action where there is one)."""
    done = []
    for h in history:
        if h["action"] == "task.completed":
            action = (h["detail"].get("data") or {}).get("action")
            done.append(f"{h['detail']['task_spec']}:{action}" if action else h["detail"]["task_spec"])
    return done


def _notes(client: TestClient, title_part: str) -> list[dict[str, Any]]:
    return [n for n in client.get("/api/notifications").json()["items"] if title_part in n["title"]]


def _page_client(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> TestClient:
    """Log in through the login page (cookie session)."""
    c = TestClient(client.app, follow_redirects=False)
    login = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/tasks"})
    assert r.status_code == 303, r.text
    return c


def _set_up_the_county_departments(users: Users) -> None:
    """The administrator registers 金水区's police branch and data authority, and their people."""
    admin = users("demo_admin")
    for dept in ({"code": PROVIDER, "name": "郑州市公安局金水分局", "kind": "department", "region_code": "410105"},
                 {"code": COUNTY_AUTHORITY, "name": "郑州市金水区大数据管理局", "kind": "data_authority",
                  "region_code": "410105"}):
        r = admin.post("/api/admin/departments", json=dept)
        assert r.status_code == 201, r.text
    for user in ({"username": "js_clerk", "display_name": "金水分局经办人", "department_code": PROVIDER,
                  "roles": ["clerk"]},
                 {"username": "js_reviewer", "display_name": "金水分局审核人", "department_code": PROVIDER,
                  "roles": ["reviewer"]},
                 {"username": "js_data", "display_name": "金水区大数据局审核员", "department_code": COUNTY_AUTHORITY,
                  "roles": ["authority_reviewer"]}):
        r = admin.post("/api/admin/users", json={**user, "password": NEW_PASSWORD})
        assert r.status_code == 201, r.text


def _publish_the_providers_catalog(users: Users) -> None:
    """金水分局 drafts its catalog; its own county authority reviews and publishes it."""
    clerk = users("js_clerk")
    r = clerk.post("/api/catalog/versions")
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    r = clerk.post(f"/api/catalog/versions/{vid}/entries", json={
        "code": ENTRY, "name": "金水区暂住登记信息", "summary": "金水区辖区流动人口暂住登记信息。",
        "category": "部门信息资源/公安", "format": "数据库", "share_type": "conditional",
        "share_conditions": "仅限履行社会保障、公共服务资格核验等法定职责时使用。",
        "legal_basis": "《居住证暂行条例》第四条", "share_methods": ["api"], "update_cycle": "每日",
        "items": [{"name": "姓名", "type": "字符型", "length": 50}, {"name": "暂住地址", "type": "字符型", "length": 200},
                  {"name": "登记日期", "type": "日期型"}]})
    assert r.status_code == 201, r.text
    r = clerk.post(f"/api/catalog/versions/{vid}/submit")
    assert r.status_code == 200, r.text
    assert r.json()["authority_department_code"] == COUNTY_AUTHORITY
    r = users("js_data").post(f"/api/catalog/versions/{vid}/review",
                              json={"decisions": [{"code": ENTRY, "decision": "approve"}]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"


def test_issue5_done_when(client: TestClient, as_user: Any) -> None:
    users = Users(as_user)  # the service clock stands at Monday 2 November 2026, 09:00
    _set_up_the_county_departments(users)
    _publish_the_providers_catalog(users)

    # ==== Dispute =========================================================================================
    # ---- 1. A conditional share request is refused with a reason and its basis. -------------------------
    requester = users("zm_clerk")
    r = requester.post("/api/share-requests", json={
        "entry_code": ENTRY, "items": ["姓名", "暂住地址"], "purpose": "城乡居民养老保险待遇资格认证",
        "scope": "中牟县社保经办人员，社保业务系统", "period_from": "2026-11-02", "period_to": "2027-11-01",
        "method": "api", "legal_basis": "《社会保险法》第七十四条"})
    assert r.status_code == 201, r.text
    share = r.json()
    assert share["status"] == "under_review"
    provider = users("js_reviewer")
    task = review_task(provider, share["instance_id"])
    r = provider.post(f"/api/tasks/{task['id']}/complete", json={"data": {
        "decision": "refuse", "reason": "跨县调取暂住信息超出共享条件", "legal_basis": "《居住证暂行条例》第四条"}})
    assert r.status_code == 200, r.text
    assert requester.get(f"/api/share-requests/{share['id']}").json()["status"] == "refused"

    # ---- 2. The requester opens a dispute: the city's authority would coordinate. -----------------------
    r = requester.post("/api/disputes", json={
        "share_request_id": share["id"], "duties": "《社会保险法》第七十四条：社会保险经办机构核查参保人员资格",
        "need": "养老金资格认证须核验参保人在金水区的暂住情况，无其他途径取得"})
    assert r.status_code == 201, r.text
    d = r.json()
    dispute_id = d["id"]
    # Two counties of one city: the lowest level covering both is the city, not the provider's county
    # (which has its own data authority here) and not the province.
    assert d["authority_department_code"] == CITY_AUTHORITY, d["authority_department_code"]
    assert d["authority_level_label"] == "市级"
    assert d["status"] == "negotiating"
    assert _day(d["negotiation_due_at"]) == "2026-11-16"  # ten working days after Monday 2 November
    assert [s["task_spec"] for s in d["open_steps"]] == ["provider_position"]
    assert _notes(provider, "请求协商")

    # ---- 3. Negotiation: two rounds, no agreement; then its deadline passes. ----------------------------
    refuse = {"stance": "not_share", "position": "暂住信息涉及个人隐私，不宜跨县批量提供",
              "basis": "《个人信息保护法》第三十四条"}
    r = provider.post(f"/api/disputes/{dispute_id}/provider-position", json=refuse)
    assert r.status_code == 200, r.text
    r = requester.post(f"/api/disputes/{dispute_id}/requester-reply",
                       json={"response": "continue", "position": "仅按个案接口核验，不批量留存"})
    assert r.status_code == 200, r.text
    r = provider.post(f"/api/disputes/{dispute_id}/provider-position",
                      json={**refuse, "position": "第二轮：仍不同意，按个案提供亦需当事人授权"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["negotiation_rounds"] == 1 and [s["task_spec"] for s in d["open_steps"]] == ["requester_position"]
    # Nothing fires on the due day itself; the morning after, the boundary timer escalates.
    users.move_clock(datetime(2026, 11, 16, 20, 0, tzinfo=SHANGHAI))
    assert users.run_job("fire-due-timers") == 0
    users.move_clock(datetime(2026, 11, 17, 9, 0, tzinfo=SHANGHAI))
    # The requester's reply, due Monday 9 November, is overdue too: the scheduler reports it to the
    # city government (中牟县 has no government office of its own registered), then the timer fires.
    assert users.run_job("escalate-overdue") == 1
    [late] = users("zz_supervisor").get("/api/supervision/items", params={"department_code": REQUESTER}).json()["items"]
    assert late["task_name"] == "使用部门回应" and late["process_key"] == "disputes_share_dispute", late
    assert late["state"] == "open" and late["level"] == "city"
    assert users.run_job("fire-due-timers") == 1
    requester, provider = users("zm_clerk"), users("js_reviewer")
    # Withdrawn with the escalation, the reply's supervision item closes by itself.
    [late] = users("zz_supervisor").get("/api/supervision/items", params={"department_code": REQUESTER}).json()["items"]
    assert late["state"] == "closed" and late["close_reason"] == "task_cancelled"
    assert late["close_reason_label"] == "任务已由流程撤回，自动办结"
    d = requester.get(f"/api/disputes/{dispute_id}").json()
    assert d["status"] == "coordinating" and d["escalation_reason"] == "deadline"
    assert d["escalation_label"] == "协商期限届满"
    assert requester.get("/api/tasks").json()["items"] == []  # the unanswered reply is withdrawn

    # ---- 4. Only the city authority holds it. -----------------------------------------------------------
    authority = users("zz_data_reviewer")
    [coordinate] = authority.get("/api/tasks").json()["items"]
    assert coordinate["task_spec"] == "coordinate" and coordinate["department_code"] == CITY_AUTHORITY
    assert _notes(authority, "提请协调")
    for other in ("js_data", "data_reviewer"):
        assert [t for t in users(other).get("/api/tasks").json()["items"] if t["instance_id"] == d["instance_id"]] == []
    r = users("js_data").post(f"/api/disputes/{dispute_id}/decision",
                              json={"decision": "not_share", "reasons": "本区主管部门评判"})
    assert r.status_code == 404, r.text  # a county's authority does not see its city's case (issue 9)
    r = users("data_reviewer").post(f"/api/disputes/{dispute_id}/decision",
                                    json={"decision": "not_share", "reasons": "省级越级评判"})
    assert r.status_code == 403, r.text

    # ---- 5. The authority asks the provider for a statement; it answers with an attachment. -------------
    r = authority.post(f"/api/disputes/{dispute_id}/statement-requests",
                       json={"party": "provider", "question": "请说明按个案接口核验的安全风险及防控措施"})
    assert r.status_code == 200, r.text
    [statement_step] = [s for s in r.json()["open_steps"] if s["task_spec"] == "provider_statement"]
    assert statement_step["department_code"] == PROVIDER
    assert _day(statement_step["due_at"]) == "2026-11-24"  # five working days after Tuesday 17 November
    assert _notes(provider, "要求陈述")
    up = provider.post("/api/attachments", data={"owner_type": "dispute", "owner_id": str(dispute_id),
                                                  "note": "风险评估"},
                       files={"file": ("风险评估.pdf", PDF, "application/pdf")})
    assert up.status_code == 201, up.text
    r = provider.post(f"/api/disputes/{dispute_id}/statements", json={
        "statement": "个案核验可控，但须留存调用日志并限定用途", "attachment_ids": [up.json()["id"]]})
    assert r.status_code == 200, r.text
    # Parties and the authority read the file; a stranger does not.
    assert authority.get(f"/api/attachments/{up.json()['id']}").status_code == 200
    assert users("rst_clerk").get(f"/api/attachments/{up.json()['id']}").status_code == 404
    assert users("rst_clerk").get(f"/api/disputes/{dispute_id}").status_code == 404

    # ---- 6. A coordination meeting, then the decision: share. -------------------------------------------
    users.move_clock(datetime(2026, 11, 18, 15, 0, tzinfo=SHANGHAI))
    authority, requester, provider = users("zz_data_reviewer"), users("zm_clerk"), users("js_reviewer")
    r = authority.post(f"/api/disputes/{dispute_id}/meetings", json={
        "held_on": "2026-11-18", "participants": "中牟县人社局、金水分局、郑州市大数据管理局",
        "minutes": "双方同意以个案接口核验方式提供姓名，调用日志留存六个月"})
    assert r.status_code == 200, r.text
    r = authority.post(f"/api/disputes/{dispute_id}/decision", json={
        "decision": "share", "items": ["姓名"], "terms": "仅通过接口按个案核验，不得批量留存，调用日志留存六个月",
        "reasons": "养老金资格认证属法定职责，个案接口核验风险可控", "basis": "《社会保险法》第七十四条"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "decided" and d["resolution"] == "adjudication" and d["outcome"] == "share"
    assert d["resolved_by"] == "zz_data_reviewer"
    assert d["grant"]["items"] == ["姓名"] and d["grant"]["basis"] == "dispute_adjudication"
    granted = requester.get(f"/api/share-requests/{share['id']}").json()
    assert granted["grant"]["items"] == ["姓名"]
    assert granted["grant"]["terms"].startswith("仅通过接口按个案核验")
    # The provider's compliance task follows, within its five-day reply limit.
    [comply] = d["open_steps"]
    assert comply["task_spec"] == "compliance" and comply["department_code"] == PROVIDER
    assert _day(comply["due_at"]) == "2026-11-25"
    assert [t["task_spec"] for t in provider.get("/api/tasks").json()["items"]] == ["compliance"]
    # Both sides are told.
    assert _notes(requester, "已评判：予以共享") and _notes(provider, "已评判：予以共享")
    # The printable decision.
    page = _page_client(client, "zz_data_reviewer").get(f"/disputes/{dispute_id}/decision")
    assert page.status_code == 200, page.text
    assert "郑州市大数据管理局" in page.text and "养老金资格认证属法定职责" in page.text

    r = provider.post(f"/api/disputes/{dispute_id}/compliance", json={"note": "已于11月18日开通个案核验接口"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "complied" and d["closed_at"] and d["open_steps"] == []
    assert _notes(requester, "已落实")

    # Every step is in the dispute's history and its instance's (the answer carries the latest lines;
    # the whole trail is one page of 100 from the history endpoint).
    assert d["history"] == provider.get(f"/api/disputes/{dispute_id}/history").json()["items"]
    page = provider.get(f"/api/disputes/{dispute_id}/history", params={"limit": 100}).json()
    assert page["next_cursor"] is None
    d["history"] = page["items"]
    history = _actions(d["history"])
    _in_order(history, "dispute.opened", "instance.started", "task.completed", "task.completed", "task.completed",
              "timer.fired", "task.cancelled", "dispute.escalated", "task.completed", "attachment.uploaded",
              "task.completed", "task.completed", "task.completed", "share_grant.created", "dispute.decided",
              "task.completed", "dispute.complied")
    [withdrawn] = [h for h in d["history"] if h["action"] == "task.cancelled"]
    assert withdrawn["detail"]["task_spec"] == "requester_position"
    assert [h["actor"] for h in d["history"] if h["action"] == "dispute.escalated"] == ["system"]
    instance = authority.get(f"/api/instances/{d['instance_id']}").json()
    assert instance["status"] == "completed"
    instance["history"] = authority.get(f"/api/instances/{d['instance_id']}/history",
                                        params={"limit": 100}).json()["items"]
    steps = _specs(instance["history"])
    assert steps == ["provider_position", "requester_position", "provider_position", "coordinate:ask_provider",
                     "provider_statement", "coordinate:meeting", "coordinate:decide", "compliance"], steps
    _in_order(_actions(instance["history"]), "dispute.opened", "instance.started", "dispute.escalated",
              "dispute.decided", "dispute.complied")
    # The requester's page shows the same trail in Chinese: its latest lines, the earlier ones behind
    # 「更早的记录」.
    reader = _page_client(client, "zm_clerk")
    page = reader.get(f"/disputes/{dispute_id}")
    assert page.status_code == 200, page.text
    text = page.text
    more = re.search(rf'href="(/disputes/{dispute_id}/history\?cursor=[^"]+)"', text)
    while more:
        earlier = reader.get(more.group(1))
        assert earlier.status_code == 200, earlier.text
        text += earlier.text
        more = re.search(rf'href="(/disputes/{dispute_id}/history\?cursor=[^"]+)"', earlier.text)
    for label in ("提起共享争议", "定时触发", "撤回待办", "提请主管部门协调", "主管部门评判", "授权共享", "落实评判"):
        assert label in text, label
    kinds = [rec["kind"] for rec in d["records"]]
    assert kinds == ["opened", "provider_position", "requester_position", "provider_position", "escalated",
                     "statement_requested", "provider_statement", "meeting", "decided", "complied"], kinds

    # ==== Rectification notice ===========================================================================
    # ---- 7. The city authority issues a notice to a city department. ------------------------------------
    users.move_clock(datetime(2026, 11, 19, 10, 0, tzinfo=SHANGHAI))
    authority = users("zz_data_reviewer")
    r = authority.post("/api/rectification-notices", json={
        "department_code": CITY_DEPARTMENT, "article_item": 1,
        "facts": "截至2026年11月18日，你单位未编制并发布本部门政务数据共享目录。",
        "requirements": "编制本部门政务数据共享目录，报本级主管部门审定后发布，并报送整改情况。",
        "deadline_working_days": 5})
    assert r.status_code == 201, r.text
    notice = r.json()
    notice_id = notice["id"]
    assert notice["number"] == "郑数整改〔2026〕1号"
    assert _day(notice["due_at"]) == "2026-11-26"  # Thursday 19 → 20, 23, 24, 25, 26 November
    clerk = users("zz_clerk")
    [rectify] = clerk.get("/api/tasks").json()["items"]
    assert rectify["name"] == "整改并报告" and _day(rectify["due_at"]) == "2026-11-26"
    assert _notes(clerk, "郑数整改〔2026〕1号")
    page = _page_client(client, "zz_data_reviewer").get(f"/rectification-notices/{notice_id}/print")
    assert page.status_code == 200 and "郑数整改〔2026〕1号" in page.text

    # ---- 8. The deadline passes unfixed: the city government's supervision queue. -----------------------
    users.move_clock(datetime(2026, 11, 26, 20, 0, tzinfo=SHANGHAI))
    assert users.run_job("escalate-overdue") == 0  # due today: not yet overdue
    users.move_clock(datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))
    assert users.run_job("escalate-overdue") == 1
    assert users.run_job("escalate-overdue") == 0
    supervisor = users("zz_supervisor")
    [item] = supervisor.get("/api/supervision/items", params={"process_key": "rectification_notice"}).json()["items"]
    assert item["government_office"] == "郑州市人民政府办公厅（督查室）" and item["level"] == "city"
    assert item["department_code"] == CITY_DEPARTMENT and item["task_name"] == "整改并报告"
    assert "郑数整改〔2026〕1号" in item["subject"] and item["state"] == "open"
    assert item["overdue_working_days"] == 2  # Friday 27 November and today
    # Not the province's queue.
    assert users("gov_supervisor").get("/api/supervision/items").json()["items"] == []
    assert _notes(supervisor, "新增督办事项")

    page = _page_client(client, "zz_supervisor").get("/supervision")
    assert page.status_code == 200 and "郑数整改〔2026〕1号" in page.text

    # ---- 9. The supervisor orders correction. -----------------------------------------------------------
    r = supervisor.post(f"/api/supervision/items/{item['id']}/decide",
                        json={"decision": "order_to_correct", "note": "责令于2026年12月4日前改正并报告"})
    assert r.status_code == 200, r.text
    assert r.json()["decision_label"] == "责令改正" and r.json()["decided_by"] == "zz_supervisor"
    clerk = users("zz_clerk")
    assert _notes(clerk, "督办决定：责令改正")
    case = clerk.get(f"/api/rectification-notices/{notice_id}").json()
    assert case["overdue"] is True and case["current_step"]["escalated"] is True
    assert [(s["government_office"], s["decision_label"]) for s in case["supervision"]] == [
        ("郑州市人民政府办公厅（督查室）", "责令改正")]

    # ---- 10. The department rectifies and reports with an attachment; the authority verifies. ----------
    users.move_clock(datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))
    clerk = users("zz_clerk")
    up = clerk.post("/api/attachments", data={"owner_type": "rectification_notice", "owner_id": str(notice_id)},
                    files={"file": ("整改报告.pdf", PDF, "application/pdf")})
    assert up.status_code == 201, up.text
    r = clerk.post(f"/api/rectification-notices/{notice_id}/report", json={
        "report": "已编制本部门共享目录并报郑州市大数据管理局审定。", "attachment_ids": [up.json()["id"]]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "reported"
    assert [a["filename"] for a in r.json()["submissions"][0]["attachments"]] == ["整改报告.pdf"]
    authority = users("zz_data_reviewer")
    assert authority.get(f"/api/attachments/{up.json()['id']}").status_code == 200
    r = authority.post(f"/api/rectification-notices/{notice_id}/verification",
                       json={"decision": "accept", "reason": "目录已编制并报审，核验通过"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "accepted" and done["closed_at"] is not None and done["current_step"] is None
    assert [s["state"] for s in done["supervision"]] == ["closed"]
    [closed] = users("zz_supervisor").get("/api/supervision/items", params={
        "state": "closed", "process_key": "rectification_notice"}).json()["items"]
    assert closed["id"] == item["id"] and closed["close_reason"] == "task_done"
    assert closed["decision"] == "order_to_correct"

    # Every step is in the notice's history and its instance's.
    _in_order(_actions(done["history"]), "rectification.issued", "instance.started", "task.created",
              "task.escalated", "supervision.decided", "rectification.reported", "task.completed",
              "rectification.accepted", "task.completed", "instance.completed")
    escalated = [h for h in done["history"] if h["action"] == "task.escalated"]
    assert len(escalated) == 1 and escalated[0]["actor"] == "system"
    instance = authority.get(f"/api/instances/{done['instance_id']}").json()
    assert instance["status"] == "completed"
    _in_order(_actions(instance["history"]), "rectification.issued", "instance.started", "task.escalated",
              "task.completed", "rectification.accepted", "instance.completed")

    page = _page_client(client, "zz_clerk").get(f"/rectification-notices/{notice_id}")
    assert page.status_code == 200, page.text
    for label in ("发出整改通知", "逾期未整改，上报本级人民政府督查督办", "督办决定", "报告整改情况", "核验通过", "整改报告.pdf"):
        assert label in page.text, label

    # ---- 11. The audit chain verifies. ------------------------------------------------------------------
    verified = users("demo_admin").get("/api/admin/audit/verify").json()
    assert verified["ok"] is True, verified
