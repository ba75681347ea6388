"""A designer's BPMN cannot reach the host: refused at deploy, or stopped when it runs."""

from tests.api.test_bad_input import _audit_count

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://govflow.example/bpmn">
  <bpmn:process id="{key}" name="试验流程" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc" />
    <bpmn:scriptTask id="calc" name="计算" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def _deploy(designer, key: str, script: str):  # type: ignore[no-untyped-def]
    return designer.post("/api/processes", json={"filename": f"{key}.bpmn",
                                                 "xml": TEMPLATE.format(key=key, script=script)})


def test_import_and_dunder_escapes_are_refused_at_deploy(client, as_user, rt) -> None:
    designer = as_user("designer")
    before = _audit_count(rt)
    for key, script in (("try_import", "x = __import__('os').system('id')"),
                        ("try_subclasses", "x = ().__class__.__base__.__subclasses__()")):
        r = _deploy(designer, key, script)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert detail["code"] == "bpmn_rejected"
        assert "calc" in detail["message"]
    assert all(p["key"] not in ("try_import", "try_subclasses") for p in designer.get("/api/processes").json())
    assert _audit_count(rt) == before


def test_runtime_escape_through_getattr_is_stopped(client, as_user, rt) -> None:
    designer = as_user("designer")
    r = _deploy(designer, "try_getattr", "x = getattr((), '__cla' + 'ss__')")
    assert r.status_code == 201, r.text
    before = _audit_count(rt)
    r = designer.post("/api/processes/try_getattr/instances", json={"variables": {}})
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == "script_error"
    assert _audit_count(rt) == before


def test_runaway_script_is_stopped(client, as_user) -> None:
    designer = as_user("designer")
    assert _deploy(designer, "try_loop", "while True:\n    pass").status_code == 201
    r = designer.post("/api/processes/try_loop/instances", json={"variables": {}})
    assert r.status_code == 422
    assert r.json()["detail"]["code"] == "script_timeout"


def test_designer_trial_runs_in_the_sandbox(client, as_user) -> None:
    designer = as_user("designer")
    assert _deploy(designer, "try_ok", "total = sum(values) * 2").status_code == 201
    r = designer.post("/api/processes/try_ok/instances", json={"variables": {"values": [1, 2, 3]}})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "completed"
    again = _deploy(designer, "try_ok", "total = sum(values) * 2")
    assert again.status_code == 201 and again.json()["created"] is False and again.json()["version"] == 1


def test_only_designers_start_arbitrary_processes(client, as_user) -> None:
    r = as_user("rst_clerk").post("/api/processes/sharing_share_request/instances", json={"variables": {}})
    assert r.status_code == 403


def test_variable_named_typename_is_refused(client, as_user) -> None:
    designer = as_user("designer")
    assert _deploy(designer, "try_vars", "y = 1").status_code == 201
    r = designer.post("/api/processes/try_vars/instances", json={"variables": {"typename": "x"}})
    assert r.status_code == 422
