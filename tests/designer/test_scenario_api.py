"""POST /api/designer/scenarios/run: a designer runs a process's scenarios on a draft before submitting."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
XML = (ROOT / "bpmn" / "sharing_share_request.bpmn").read_text(encoding="utf-8")


def test_the_shipped_xml_passes_every_scenario(as_user) -> None:
    r = as_user("designer").post("/api/designer/scenarios/run", json={"xml": XML})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["process_key"] == "sharing_share_request"
    assert len(body["results"]) == 4 and all(x["passed"] for x in body["results"])
    assert set(body["results"][0]) == {"name", "passed", "path", "expected_path", "end", "message"}


def test_a_draft_with_a_changed_condition_fails_readably(as_user) -> None:
    draft = XML.replace('share_type == "not_shared"', 'share_type == "secret"')
    r = as_user("demo_admin").post("/api/designer/scenarios/run",
                                   json={"xml": draft, "process_key": "sharing_share_request"})
    assert r.status_code == 200
    failed = [x for x in r.json()["results"] if not x["passed"]]
    assert [(x["name"], x["message"]) for x in failed] == [
        ("不予共享类：直接答复不予共享", "期望到达结束事件 refused，实际流程未结束，仍在等待 review")]


def test_xml_that_does_not_compile_is_a_422_with_its_problems(as_user) -> None:
    designer = as_user("designer")
    r = designer.post("/api/designer/scenarios/run", json={"xml": XML.replace("</bpmn:definitions>", "")})
    assert r.status_code == 422 and r.json()["detail"]["code"] == "bpmn_rejected"
    broken = XML.replace('outcome = "granted"', "outcome = __import__('os')")
    r = designer.post("/api/designer/scenarios/run", json={"xml": broken})
    assert r.status_code == 422
    assert any(p["element_id"] == "grant_at_once" for p in r.json()["detail"]["problems"])


def test_a_process_without_scenarios_gives_an_empty_list_and_a_bad_key_a_422(as_user) -> None:
    designer = as_user("designer")
    r = designer.post("/api/designer/scenarios/run", json={"xml": XML, "process_key": "no_such_process"})
    assert r.status_code == 200 and r.json()["results"] == []
    r = designer.post("/api/designer/scenarios/run", json={"xml": XML, "process_key": "../../etc"})
    assert r.status_code == 422


def test_only_designers_and_admins_run_scenarios(as_user, client) -> None:
    assert as_user("gat_reviewer").post("/api/designer/scenarios/run", json={"xml": XML}).status_code == 403
    assert client.post("/api/designer/scenarios/run", json={"xml": XML}).status_code == 401
