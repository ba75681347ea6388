"""A designer's BPMN cannot reach the host: refused at deploy, or stopped when it runs."""

from tests.api.helpers import deploy_approved, review_task, submit
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
    """Submit a file for approval (refused at once when the lint refuses it)."""
    return designer.post("/api/processes", json={"filename": f"{key}.bpmn",
                                                 "xml": TEMPLATE.format(key=key, script=script)})


def _deployed(as_user, key: str, script: str) -> dict:  # type: ignore[no-untyped-def]
    """Submit as the designer and approve as the administrator: the file is a deployed version."""
    return deploy_approved(as_user("designer"), as_user("demo_admin"), TEMPLATE.format(key=key, script=script),
                           f"{key}.bpmn")


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
    _deployed(as_user, "try_getattr", "x = getattr((), '__cla' + 'ss__')")
    before = _audit_count(rt)
    r = designer.post("/api/processes/try_getattr/instances", json={"variables": {}})
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == "script_error"
    assert _audit_count(rt) == before


def test_runaway_script_is_stopped(client, as_user) -> None:
    designer = as_user("designer")
    _deployed(as_user, "try_loop", "while True:\n    pass")
    r = designer.post("/api/processes/try_loop/instances", json={"variables": {}})
    assert r.status_code == 422
    assert r.json()["detail"]["code"] == "script_timeout"


def test_designer_trial_runs_in_the_sandbox(client, as_user) -> None:
    designer = as_user("designer")
    assert _deployed(as_user, "try_ok", "total = sum(values) * 2")["deployed_version"] == 1
    r = designer.post("/api/processes/try_ok/instances", json={"variables": {"values": [1, 2, 3]}})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "completed"
    # The same file again would change nothing: refused, no second submission.
    again = _deploy(designer, "try_ok", "total = sum(values) * 2")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "same_as_latest"


def test_only_designers_start_arbitrary_processes(client, as_user) -> None:
    r = as_user("rst_clerk").post("/api/processes/sharing_share_request/instances", json={"variables": {}})
    assert r.status_code == 403


def test_variable_named_typename_is_refused(client, as_user) -> None:
    designer = as_user("designer")
    _deployed(as_user, "try_vars", "y = 1")
    r = designer.post("/api/processes/try_vars/instances", json={"variables": {"typename": "x"}})
    assert r.status_code == 422


def _nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_single_huge_allocation_is_a_422_naming_the_element_and_the_service_carries_on(client, as_user, rt) -> None:
    designer = as_user("designer")
    for key, script in (("try_ljust", "x = str.ljust('', 10 ** 9)"),
                        ("try_width", "x = f\"{'':&gt;{10 ** 9}}\""),
                        ("try_bytes", "x = (0).to_bytes(10 ** 9, 'big')"),
                        ("try_extend", "x = [0]\nwhile True:\n    x.extend(x)")):
        _deployed(as_user, key, script)
        before = _audit_count(rt)
        r = designer.post(f"/api/processes/{key}/instances", json={"variables": {}})
        assert r.status_code == 422, r.text
        assert r.json()["detail"]["code"] == "script_memory"
        assert r.json()["detail"]["element_id"] == "calc"
        assert "内存" in r.json()["detail"]["message"]
        assert _audit_count(rt) == before
    _deployed(as_user, "try_after", "total = sum(values) * 2")
    r = designer.post("/api/processes/try_after/instances", json={"variables": {"values": [1, 2, 3]}})
    assert r.status_code == 201, r.text


def test_script_building_a_10000_deep_list_is_a_422_not_a_500(client, as_user) -> None:
    designer = as_user("designer")
    script = "x = []\ni = 0\nwhile i &lt; 10000:\n    x = [x]\n    i += 1"
    _deployed(as_user, "try_deep", script)
    r = designer.post("/api/processes/try_deep/instances", json={"variables": {}})
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["code"] == "script_error"
    assert "嵌套过深" in r.json()["detail"]["message"]


def test_deeply_nested_variables_are_a_422_not_a_500(client, as_user) -> None:
    designer = as_user("designer")
    _deployed(as_user, "try_vars_deep", "y = 1")
    body = '{"variables": {"a": ' + _nested_json(150) + "}}"
    r = designer.post("/api/processes/try_vars_deep/instances", content=body,
                      headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert "嵌套过深" in r.json()["detail"]["message"]
    # Deeper than the JSON parser goes: refused as a bad body before anything runs.
    body = '{"variables": {"a": ' + _nested_json(10_000) + "}}"
    r = designer.post("/api/processes/try_vars_deep/instances", content=body,
                      headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text[:300]


def test_deeply_nested_form_data_is_a_4xx_and_the_task_stays_open(client, as_user) -> None:
    created = submit(as_user("rst_clerk"))
    reviewer = as_user("gat_reviewer")
    task = review_task(reviewer, created["instance_id"])
    for depth, status in ((150, 422), (10_000, 400)):
        for field in ("terms", "extra_field"):
            body = '{"data": {"decision": "approve", "terms": "x", "%s": %s}}' % (field, _nested_json(depth))
            r = reviewer.post(f"/api/tasks/{task['id']}/complete", content=body,
                              headers={"content-type": "application/json"})
            assert r.status_code == status, (depth, field, r.text[:300])
    assert reviewer.get(f"/api/tasks/{task['id']}").json()["status"] == "open"
