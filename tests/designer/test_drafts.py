"""Drafts: saved server-side per designer, from a version, an upload or nothing; optimistic saves."""

from __future__ import annotations

from sqlalchemy import func, select

from app.designer.models import ProcessDraft
from tests.designer.helpers import audit_actions, new_draft, one_task, shipped


def _draft_count(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.session() as session:
        return int(session.execute(select(func.count()).select_from(ProcessDraft)).scalar_one())


def test_draft_from_a_deployed_version_carries_its_xml_and_system_bound_elements(client, as_user, rt) -> None:
    designer = as_user("designer")
    r = designer.post("/api/designer/drafts", json={"process_key": "sharing_share_request"})
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["base_version"] == 1 and draft["status"] == "editing" and draft["owner"] == "designer"
    assert draft["xml"] == shipped("sharing_share_request")
    assert draft["problems"] == []
    assert [b["element_id"] for b in draft["system_bound"]] == ["review"]
    assert "app.sharing.flows" in draft["system_bound"][0]["reason"]
    assert audit_actions(rt, "process_draft", draft["id"]) == [("draft.created_from_version", "designer")]


def test_new_draft_is_a_minimal_valid_process(client, as_user) -> None:
    designer = as_user("designer")
    r = designer.post("/api/designer/drafts", json={"title": "新建的流程"})
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["title"] == "新建的流程" and draft["problems"] == [] and draft["base_version"] is None
    assert draft["process_key"] and f'id="{draft["process_key"]}"' in draft["xml"]


def test_save_download_and_delete(client, as_user, rt) -> None:
    designer = as_user("designer")
    draft = new_draft(designer, one_task())
    xml = one_task(task_name="受理并办理")
    r = designer.put(f"/api/designer/drafts/{draft['id']}", json={"xml": xml, "lock_version": draft["lock_version"]})
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["xml"] == xml and saved["lock_version"] != draft["lock_version"]
    assert saved["updated_at"] >= draft["updated_at"]
    got = designer.get(f"/api/designer/drafts/{draft['id']}").json()
    assert got["xml"] == xml
    download = designer.get(f"/api/designer/drafts/{draft['id']}/download")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert ".bpmn" in download.headers["content-disposition"]
    assert download.content.decode("utf-8") == xml
    # Saves are not audited; creation and deletion are.
    assert designer.delete(f"/api/designer/drafts/{draft['id']}").status_code == 204
    assert designer.get(f"/api/designer/drafts/{draft['id']}").status_code == 404
    assert [a for a, _ in audit_actions(rt, "process_draft", draft["id"])] == ["draft.uploaded", "draft.deleted"]


def test_a_stale_save_is_refused_and_keeps_the_newer_content(client, as_user) -> None:
    designer = as_user("designer")
    draft = new_draft(designer, one_task())
    first = one_task(task_name="第一个标签页")
    assert designer.put(f"/api/designer/drafts/{draft['id']}",
                        json={"xml": first, "lock_version": draft["lock_version"]}).status_code == 200
    r = designer.put(f"/api/designer/drafts/{draft['id']}",
                     json={"xml": one_task(task_name="第二个标签页"), "lock_version": draft["lock_version"]})
    assert r.status_code == 409
    assert r.json()["detail"]["code"] == "draft_changed"
    assert designer.get(f"/api/designer/drafts/{draft['id']}").json()["xml"] == first


def test_a_draft_with_problems_is_saved_with_them(client, as_user) -> None:
    designer = as_user("designer")
    draft = new_draft(designer, one_task())
    r = designer.put(f"/api/designer/drafts/{draft['id']}",
                     json={"xml": one_task(task='camunda:candidateGroups="nobody"'),
                           "lock_version": draft["lock_version"]})
    assert r.status_code == 200, r.text
    assert [(p["element_id"], p["code"]) for p in r.json()["problems"]] == [("handle", "role")]
    assert r.json()["problem_count"] == 1


def test_hostile_or_malformed_xml_is_refused_and_nothing_is_saved(client, as_user, rt) -> None:
    designer = as_user("designer")
    draft = new_draft(designer, one_task())
    before = _draft_count(rt)
    hostile = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]>'
               + one_task().split("?>", 1)[1].replace('name="办理"', 'name="&x;"'))
    for xml, code in ((hostile, "hostile_xml"), ("<bpmn:definitions", "xml_invalid"),
                      (one_task() + " " * (800 * 1024), None)):
        r = designer.post("/api/designer/drafts", json={"xml": xml})
        assert r.status_code in (413, 422), r.text[:300]
        if code:
            assert r.json()["detail"]["problems"][0]["code"] == code
        else:
            assert r.json()["detail"]["code"] in ("bpmn_too_large", "body_too_large")
        r = designer.put(f"/api/designer/drafts/{draft['id']}", json={"xml": xml, "lock_version": draft["lock_version"]})
        assert r.status_code in (413, 422)
    assert _draft_count(rt) == before
    assert designer.get(f"/api/designer/drafts/{draft['id']}").json()["xml"] == one_task()


def test_an_oversize_file_is_refused_with_its_own_code(client, as_user) -> None:
    r = as_user("designer").post("/api/designer/validate",
                                 json={"xml": one_task().replace("<bpmn:process", "<!--" + "x" * 800_000 + "--><bpmn:process")})
    assert r.status_code == 422, r.text[:300]
    assert r.json()["detail"]["code"] == "bpmn_too_large"
    assert "KB" in r.json()["detail"]["message"]


def test_only_the_owner_or_an_admin_changes_a_draft_and_other_roles_see_nothing(client, as_user) -> None:
    designer, admin = as_user("designer"), as_user("demo_admin")
    draft = new_draft(admin, one_task())
    # Every designer sees every draft...
    assert designer.get(f"/api/designer/drafts/{draft['id']}").status_code == 200
    # ...but only its owner or an administrator changes it.
    r = designer.put(f"/api/designer/drafts/{draft['id']}", json={"xml": one_task(), "lock_version": draft["lock_version"]})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "not_draft_owner"
    assert designer.delete(f"/api/designer/drafts/{draft['id']}").status_code == 403
    assert designer.post(f"/api/designer/drafts/{draft['id']}/submit", json={}).status_code == 403
    mine = new_draft(designer, one_task())
    assert admin.put(f"/api/designer/drafts/{mine['id']}",
                     json={"xml": one_task(task_name="管理员修改"), "lock_version": mine["lock_version"]}).status_code == 200
    clerk = as_user("rst_clerk")
    assert clerk.get(f"/api/designer/drafts/{mine['id']}").status_code == 403
    assert clerk.get("/api/designer/processes").status_code == 403


def test_unknown_draft_is_404(client, as_user) -> None:
    designer = as_user("designer")
    assert designer.get("/api/designer/drafts/999999").status_code == 404
    r = designer.put("/api/designer/drafts/999999", json={"xml": one_task(), "lock_version": 0})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "draft_not_found"


def test_a_process_id_longer_than_the_column_is_refused(client, as_user) -> None:
    r = as_user("designer").post("/api/designer/drafts", json={"xml": one_task(key="p" * 200)})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "process_key_too_long"
