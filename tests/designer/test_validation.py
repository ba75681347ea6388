"""Validation as you work: every problem names its element and its kind, all of them at once."""

from __future__ import annotations

import pytest

from tests.designer.helpers import new_draft, one_task

FORM = ('<bpmn:extensionElements><camunda:formData>{}</camunda:formData></bpmn:extensionElements>')


def _problems(client, xml: str) -> list[tuple[str | None, str]]:  # type: ignore[no-untyped-def]
    r = client.post("/api/designer/validate", json={"xml": xml})
    assert r.status_code == 200, r.text
    return [(p["element_id"], p["code"]) for p in r.json()["problems"]]


CASES = {
    "no_candidates": (one_task(task='camunda:dueDate="5WD"'), ("handle", "no_candidates")),
    "unknown_role": (one_task(task='camunda:candidateGroups="clerk, applicant"'), ("handle", "role")),
    "bad_deadline": (one_task(task='camunda:candidateGroups="clerk" camunda:dueDate="five days"'),
                     ("handle", "deadline")),
    "unknown_limit": (one_task(body='<bpmn:extensionElements><camunda:properties>'
                                    '<camunda:property name="limit" value="forever" /></camunda:properties>'
                                    '</bpmn:extensionElements>'), ("handle", "deadline")),
    "forbidden_script": (one_task(extra='<bpmn:scriptTask id="calc" scriptFormat="python"><bpmn:script>'
                                        "x = ().__class__.__base__.__subclasses__()</bpmn:script></bpmn:scriptTask>"),
                         ("calc", "script")),
    "service_task": (one_task(extra='<bpmn:serviceTask id="call_java" camunda:class="gov.Delegate" />'),
                     ("call_java", "unsupported")),
    "juel": (one_task(task='camunda:candidateGroups="clerk" camunda:dueDate="${days}"'), ("handle", "expression")),
    "enum_without_options": (one_task(body=FORM.format('<camunda:formField id="decision" label="结论" type="enum" />')),
                             ("handle", "form")),
    "unknown_form_type": (one_task(body=FORM.format('<camunda:formField id="amount" label="金额" type="money" />')),
                          ("handle", "form")),
    "duplicate_field": (one_task(body=FORM.format('<camunda:formField id="note" type="string" />'
                                                  '<camunda:formField id="note" type="string" />')),
                        ("handle", "form")),
    "field_id_not_identifier": (one_task(body=FORM.format('<camunda:formField id="my-note" type="string" />')),
                                ("handle", "form")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_kind_of_problem_names_its_element(client, as_user, case: str) -> None:
    xml, expected = CASES[case]
    found = _problems(as_user("designer"), xml)
    assert expected in found, found


def test_messages_are_chinese_and_explain(client, as_user) -> None:
    r = as_user("designer").post("/api/designer/validate", json={"xml": one_task(task='camunda:dueDate="5WD"')})
    message = r.json()["problems"][0]["message"]
    assert "候选角色" in message and "待办" in message


def test_every_problem_is_listed_at_once(client, as_user) -> None:
    xml = one_task(task='camunda:candidateGroups="applicant" camunda:dueDate="five days"',
                   body=FORM.format('<camunda:formField id="kind" type="enum" />'))
    found = _problems(as_user("designer"), xml)
    assert {("handle", "role"), ("handle", "deadline"), ("handle", "form")} <= set(found), found


def test_a_clean_file_has_no_problems_and_nothing_is_saved(client, as_user) -> None:
    designer = as_user("designer")
    before = designer.get("/api/designer/processes").json()
    r = designer.post("/api/designer/validate", json={"xml": one_task()})
    assert r.json() == {"problems": [], "system_bound": []}
    assert designer.get("/api/designer/processes").json() == before


def test_hostile_xml_is_refused_by_validate(client, as_user) -> None:
    xml = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
           + one_task().split("?>", 1)[1].replace('name="办理"', 'name="&lol2;"'))
    r = as_user("designer").post("/api/designer/validate", json={"xml": xml})
    assert r.status_code == 422
    assert r.json()["detail"]["problems"][0]["code"] == "hostile_xml"


def test_a_draft_with_a_problem_cannot_be_submitted(client, as_user) -> None:
    designer = as_user("designer")
    draft = new_draft(designer, one_task(task='camunda:dueDate="5WD"'))
    assert [(p["element_id"], p["code"]) for p in draft["problems"]] == [("handle", "no_candidates")]
    r = designer.post(f"/api/designer/drafts/{draft['id']}/submit", json={})
    assert r.status_code == 422
    assert r.json()["detail"]["problems"][0]["element_id"] == "handle"
    assert designer.get("/api/designer/submissions").json() == []
    assert designer.get(f"/api/designer/drafts/{draft['id']}").json()["status"] == "editing"


def test_the_direct_deploy_path_refuses_a_task_nobody_could_see(client, as_user) -> None:
    r = as_user("designer").post("/api/processes", json={"filename": "x.bpmn",
                                                          "xml": one_task(task='camunda:dueDate="5WD"')})
    assert r.status_code == 422
    assert r.json()["detail"]["code"] == "bpmn_rejected"
    assert r.json()["detail"]["problems"][0] == {
        "element_id": "handle", "code": "no_candidates", "message": r.json()["detail"]["problems"][0]["message"]}


def test_vocabulary_offers_roles_limits_form_types_and_system_bound(client, as_user) -> None:
    r = as_user("designer").get("/api/designer/vocabulary")
    assert r.status_code == 200
    vocab = r.json()
    assert {"id": "reviewer", "name": "审核人"} in vocab["roles"]
    assert all(role["id"] not in ("admin", "designer") for role in vocab["roles"])
    share = next(limit for limit in vocab["limits"] if limit["name"] == "share_reply")
    assert share == {"name": "share_reply", "label": "共享申请答复（5个工作日）", "working_days": 5}
    assert {"id": "enum", "name": "选项"} in vocab["form_types"]
    assert vocab["system_bound"]["sharing_share_request"][0]["element_id"] == "review"
    assert as_user("rst_clerk").get("/api/designer/vocabulary").status_code == 403
