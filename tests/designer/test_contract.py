"""The code/BPMN contract: declared once, matched by the hooks and by every shipped file, enforced on drafts."""

from __future__ import annotations

import pytest

from app.core.config import Settings
from app.designer.contract import CONTRACTS
from app.designer.validation import check
from app.engine.bpmn import describe
from app.engine.hooks import hooks
from tests.conftest import SECRET
from tests.designer.helpers import SHIPPED, new_draft, shipped


def test_every_registered_task_hook_is_in_the_contract() -> None:
    import app.hooks  # noqa: F401  (the areas register their hooks on import)

    assert hooks.validators, "no task validator registered: the import above no longer registers them"
    missing = [f"{key}:{task}" for key, task in hooks.validators
               if CONTRACTS.get(key) is None or CONTRACTS[key].task(task) is None]
    assert not missing, f"task validators the contract does not declare: {missing}"
    unbound = [key for key in hooks.step_handlers if key not in CONTRACTS]
    assert not unbound, f"processes with after-step hooks but no contract: {unbound}"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_each_shipped_file_satisfies_its_contract(path) -> None:  # type: ignore[no-untyped-def]
    xml = path.read_bytes()
    key = describe(xml).process_key
    problems, bound = check(xml, Settings(environment="test", secret_key=SECRET))
    assert problems == []
    assert key in CONTRACTS
    assert {b["element_id"] for b in bound} == {t.task_id for t in CONTRACTS[key].tasks}


def test_contract_fields_exist_on_the_shipped_forms() -> None:
    for path in SHIPPED:
        meta = describe(path.read_bytes())
        for task in CONTRACTS[meta.process_key].tasks:
            fields = {f.id for f in meta.user_tasks[task.task_id].form}
            assert set(task.fields) <= fields, (meta.process_key, task.task_id, set(task.fields) - fields)


def test_renaming_the_review_task_is_refused_naming_the_task_and_the_code(client, as_user) -> None:
    designer = as_user("designer")
    xml = shipped("sharing_share_request")
    renamed = xml.replace('"review"', '"check_request"').replace(">review<", ">check_request<")
    assert 'id="review"' not in renamed
    draft = new_draft(designer, renamed)
    contract = [p for p in draft["problems"] if p["code"] == "contract"]
    assert len(contract) == 1, draft["problems"]
    assert contract[0]["element_id"] == "review"
    assert "review" in contract[0]["message"] and "app.sharing.flows" in contract[0]["message"]
    r = designer.post(f"/api/designer/drafts/{draft['id']}/submit", json={})
    assert r.status_code == 422
    assert any(p["code"] == "contract" for p in r.json()["detail"]["problems"])
    # The direct path refuses it as well.
    r = designer.post("/api/processes", json={"filename": "share.bpmn", "xml": renamed})
    assert r.status_code == 422 and any(p["code"] == "contract" for p in r.json()["detail"]["problems"])


def test_dropping_a_form_field_the_code_reads_is_refused(client, as_user) -> None:
    xml = shipped("sharing_share_request")
    start = xml.index('<camunda:formField id="legal_basis"')
    end = xml.index("</camunda:formField>", start) + len("</camunda:formField>")
    r = as_user("designer").post("/api/designer/validate", json={"xml": xml[:start] + xml[end:]})
    contract = [p for p in r.json()["problems"] if p["code"] == "contract"]
    assert contract and contract[0]["element_id"] == "review" and "legal_basis" in contract[0]["message"]


def test_moving_a_bound_task_to_another_department_variable_is_refused(client, as_user) -> None:
    xml = shipped("sharing_share_request")
    assert '<camunda:property name="department" value="provider_department" />' in xml
    moved = xml.replace('<camunda:property name="department" value="provider_department" />',
                        '<camunda:property name="department" value="requester_department" />')
    r = as_user("designer").post("/api/designer/validate", json={"xml": moved})
    [problem] = [p for p in r.json()["problems"] if p["code"] == "contract"]
    assert problem["element_id"] == "review" and "provider_department" in problem["message"]


def test_a_file_that_never_sets_the_outcome_the_code_reads_is_refused(client, as_user) -> None:
    xml = shipped("sharing_share_request").replace('outcome = "', 'result = "')
    r = as_user("designer").post("/api/designer/validate", json={"xml": xml})
    contract = [p for p in r.json()["problems"] if p["code"] == "contract"]
    assert contract and "outcome" in contract[0]["message"] and "app.sharing.flows" in contract[0]["message"]
